//! The live status line of `record` on a terminal: the bottom row of the terminal is kept
//! for it (a scroll region above it holds everything else, the recorded command's output
//! included), so the command's lines and the status never overwrite each other. It is
//! redrawn at most every 250 ms and only when its text changed, and cleared at the end,
//! when the terminal gets all its rows back.

use std::{
    io::{IsTerminal as _, Write as _},
    time::Duration,
};

use leastpriv::record::session::Progress;

pub struct StatusLine {
    rows: u16,
    shown: String,
}

impl StatusLine {
    /// A status line on standard error, unless it is not a terminal (or a dumb one, or one
    /// too small to spare a row).
    pub fn start() -> Option<StatusLine> {
        if !std::io::stderr().is_terminal() || std::env::var_os("TERM").is_some_and(|t| t == "dumb")
        {
            return None;
        }
        let (rows, _) = size()?;
        if rows < 3 {
            return None;
        }
        // A new line first, so that the row given up holds nothing; the scroll region moves
        // the cursor to the top, so it is saved and put back, and up one row in case it was
        // on the bottom row, which is outside the region now.
        write(&format!("\n\x1b7\x1b[1;{}r\x1b8\x1b[1A", rows - 1));
        Some(StatusLine {
            rows,
            shown: String::new(),
        })
    }

    pub fn draw(&mut self, progress: &Progress) {
        let Some((rows, cols)) = size() else { return };
        let mut out = String::new();
        if rows != self.rows && rows >= 3 {
            // The terminal was resized: keep its new bottom row.
            out.push_str(&format!("\x1b7\x1b[1;{}r\x1b8", rows - 1));
            self.rows = rows;
            self.shown.clear();
        }
        let mut text = line(progress);
        text.truncate(usize::from(cols.saturating_sub(1)));
        if text == self.shown && out.is_empty() {
            return;
        }
        out.push_str(&format!("\x1b7\x1b[{};1H\x1b[2K{text}\x1b8", self.rows));
        write(&out);
        self.shown = text;
    }
}

impl Drop for StatusLine {
    /// Clears the line and gives the terminal its whole height back (resetting the region
    /// moves the cursor, so it is saved around it).
    fn drop(&mut self) {
        write(&format!("\x1b7\x1b[{};1H\x1b[2K\x1b[r\x1b8", self.rows));
    }
}

/// `leastpriv: 1m05s, 3 processes, 57 syscalls, 230 files, 4 executables, LOST 12`
pub fn line(p: &Progress) -> String {
    let plural = |n: usize, what: &str| format!("{n} {what}{}", if n == 1 { "" } else { "s" });
    let mut text = format!(
        "leastpriv: recording {}, {}, {}, {}, {}",
        elapsed(p.elapsed),
        plural(p.processes, "process").replace("processs", "processes"),
        plural(p.syscalls, "syscall"),
        plural(p.files, "file"),
        plural(p.executables, "executable"),
    );
    if p.lost > 0 {
        text.push_str(&format!(", LOST {}", p.lost));
    }
    text
}

fn elapsed(d: Duration) -> String {
    let secs = d.as_secs();
    match secs {
        0..60 => format!("{secs}s"),
        60..3600 => format!("{}m{:02}s", secs / 60, secs % 60),
        _ => format!("{}h{:02}m{:02}s", secs / 3600, secs / 60 % 60, secs % 60),
    }
}

/// One write, so the terminal never sees half a redraw between the command's output.
fn write(text: &str) {
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}

/// Rows and columns of the terminal on standard error.
fn size() -> Option<(u16, u16)> {
    let mut size = libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ writes one winsize into the struct it is given.
    let rc = unsafe { libc::ioctl(libc::STDERR_FILENO, libc::TIOCGWINSZ, &mut size) };
    (rc == 0 && size.ws_row > 0 && size.ws_col > 0).then_some((size.ws_row, size.ws_col))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_says_every_count() {
        let mut p = Progress {
            elapsed: Duration::from_millis(65_400),
            processes: 1,
            syscalls: 57,
            files: 230,
            executables: 4,
            lost: 0,
        };
        assert_eq!(
            line(&p),
            "leastpriv: recording 1m05s, 1 process, 57 syscalls, 230 files, 4 executables"
        );
        p.processes = 3;
        p.lost = 12;
        assert!(line(&p).ends_with("3 processes, 57 syscalls, 230 files, 4 executables, LOST 12"));
        assert_eq!(elapsed(Duration::from_secs(3725)), "1h02m05s");
    }
}
