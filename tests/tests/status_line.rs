//! `record`'s live status line: on a terminal (a pseudo-terminal made by script(1)) it shows
//! on the bottom row while the command runs and is cleared at the end; with `--quiet`, or
//! when standard error is a pipe, not one byte of it is written.

use std::{fs, process::Command};

use leastpriv_tests::{bin, describe, engines::require_tool, leastpriv, require_bpf, run, tempdir};

const LINE: &str = "leastpriv: recording ";

/// Where the status line is drawn: "leastpriv: recording " and the elapsed time (the final
/// "leastpriv: recording written to" is not one).
fn draws(text: &str) -> Vec<usize> {
    text.match_indices(LINE)
        .map(|(at, _)| at)
        .filter(|at| text[at + LINE.len()..].starts_with(|c: char| c.is_ascii_digit()))
        .collect()
}

/// Runs `leastpriv record ARGS -- sh -c 'echo start; sleep 1.3; echo end'` on a 24x100
/// pseudo-terminal and returns everything written to it.
fn on_a_terminal(args: &str) -> String {
    let dir = tempdir();
    let typescript = dir.path().join("typescript");
    let recording = dir.path().join("rec.json");
    let command = format!(
        "stty rows 24 cols 100; {} record {args} -o {} -- sh -c 'echo start; sleep 1.3; echo end'",
        bin().display(),
        recording.display()
    );
    let output = run({
        let mut cmd = Command::new("script");
        cmd.args(["--quiet", "--return", "--command", &command])
            .arg(&typescript)
            .stdin(std::process::Stdio::null());
        cmd
    });
    assert!(output.status.success(), "{}", describe(&output));
    assert!(
        recording.exists(),
        "no recording written:\n{}",
        describe(&output)
    );
    let bytes = fs::read(&typescript).expect("script wrote no typescript");
    String::from_utf8_lossy(&bytes).into_owned()
}

#[test]
fn bpf_status_line_shows_on_a_terminal_and_is_cleared() {
    let test = "bpf_status_line_shows_on_a_terminal_and_is_cleared";
    if !require_bpf(test) || !require_tool(test, "script") {
        return;
    }
    let screen = on_a_terminal("");
    let draws = draws(&screen);
    assert!(
        !draws.is_empty(),
        "no status line on the terminal:\n{screen:?}"
    );
    // Each draw is on the bottom row, and says every count.
    for &at in &draws {
        let line = &screen[at..];
        let line = &line[..line.find('\x1b').unwrap_or(line.len())];
        assert!(
            screen[..at].ends_with("\x1b[24;1H\x1b[2K"),
            "a draw not on the bottom row: {line:?}"
        );
        for word in [" process", " syscall", " file", " executable"] {
            assert!(line.contains(word), "the line lacks {word:?}: {line:?}");
        }
    }
    // The command's own output is on the terminal too (scrolling above the line).
    assert!(screen.contains("start") && screen.contains("end"));
    // The region was kept for the line, and given back after the last draw, with the line
    // cleared: nothing of it stays on the screen.
    let kept = screen.find("\x1b[1;23r").expect("no scroll region set");
    let cleared = screen
        .rfind("\x1b[24;1H\x1b[2K\x1b[r")
        .expect("the line was not cleared at the end");
    assert!(
        kept < draws[0] && *draws.last().unwrap() < cleared,
        "{screen:?}"
    );
    assert!(
        screen[cleared..].contains("leastpriv: recording written to"),
        "the summary should follow the cleared line:\n{screen:?}"
    );
    // At most ~4 redraws a second, and only when the text changed: 1.3 s of a quiet
    // command needs only a few.
    assert!(
        draws.len() <= 8,
        "{} draws in 1.3 s:\n{screen:?}",
        draws.len()
    );
}

#[test]
fn bpf_status_line_absent_with_quiet_or_a_pipe() {
    let test = "bpf_status_line_absent_with_quiet_or_a_pipe";
    if !require_bpf(test) || !require_tool(test, "script") {
        return;
    }
    let screen = on_a_terminal("--quiet");
    assert!(
        draws(&screen).is_empty() && !screen.contains("\x1b["),
        "--quiet still drew on the terminal:\n{screen:?}"
    );

    let dir = tempdir();
    let mut cmd = leastpriv();
    cmd.args(["record", "-o"])
        .arg(dir.path().join("rec.json"))
        .args(["--", "sh", "-c", "sleep 0.6"]);
    let output = run(cmd);
    assert!(output.status.success(), "{}", describe(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        draws(&stderr).is_empty() && !stderr.contains('\x1b'),
        "a status line went into a pipe:\n{stderr:?}"
    );
    assert!(
        stderr.contains("leastpriv: recording written to"),
        "{stderr}"
    );
}
