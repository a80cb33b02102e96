//! tracefs: classic tracepoints are found (and described) there, and some systems do not
//! mount it at boot.

use std::{
    fs,
    path::{Path, PathBuf},
};

use super::error::KernelError;

const TRACEFS: &str = "/sys/kernel/tracing";
const DEBUGFS_TRACING: &str = "/sys/kernel/debug/tracing";

/// Returns the tracefs directory, mounting tracefs at /sys/kernel/tracing when it is missing
/// (and saying so, since it changes the machine's mount table).
pub fn ensure_mounted() -> Result<PathBuf, KernelError> {
    if let Some(dir) = events_dir() {
        return Ok(dir);
    }
    if tracefs_in_mount_table() {
        // Another recorder starting beside us may be mounting it right now: give its
        // `events` directory a moment to appear before calling tracefs unreadable.
        for _ in 0..20 {
            std::thread::sleep(std::time::Duration::from_millis(25));
            if let Some(dir) = events_dir() {
                return Ok(dir);
            }
        }
        // Mounted but unreadable (tracefs is mode 0700): mounting again would not help.
        return Err(KernelError::Tracefs {
            what: format!("tracefs is mounted but this process cannot read it (it needs root or CAP_DAC_OVERRIDE); looked in {TRACEFS}"),
        });
    }
    let mounted = nix::mount::mount(
        Some("tracefs"),
        TRACEFS,
        Some("tracefs"),
        nix::mount::MsFlags::empty(),
        None::<&str>,
    );
    if let Err(e) = mounted {
        // Lost a race with another recorder mounting it: theirs serves us as well.
        return events_dir().ok_or_else(|| KernelError::Tracefs {
            what: format!("tracefs is not mounted and mounting it at {TRACEFS} failed: {e}"),
        });
    }
    eprintln!("leastpriv: mounted tracefs at {TRACEFS} (tracepoint formats are read there)");
    Ok(TRACEFS.into())
}

/// The first tracefs directory whose `events` this process can see.
fn events_dir() -> Option<PathBuf> {
    [TRACEFS, DEBUGFS_TRACING]
        .into_iter()
        .find(|dir| Path::new(dir).join("events").is_dir())
        .map(PathBuf::from)
}

fn tracefs_in_mount_table() -> bool {
    fs::read_to_string("/proc/self/mounts").is_ok_and(|mounts| {
        mounts
            .lines()
            .any(|l| l.split_whitespace().nth(2) == Some("tracefs"))
    })
}

/// Position of `field` among a tracepoint's own fields (after the `common_` ones), which is
/// its position among the raw tracepoint's arguments.
pub fn field_index(
    tracefs: &Path,
    category: &str,
    name: &str,
    field: &str,
) -> Result<u64, KernelError> {
    let path = tracefs
        .join("events")
        .join(category)
        .join(name)
        .join("format");
    let text = fs::read_to_string(&path).map_err(|e| KernelError::Tracefs {
        what: format!("cannot read {}: {e}", path.display()),
    })?;
    parse_field_index(&text, field).ok_or_else(|| KernelError::Tracefs {
        what: format!("{} has no field {field}", path.display()),
    })
}

fn parse_field_index(format: &str, field: &str) -> Option<u64> {
    format
        .lines()
        .filter_map(|line| {
            line.trim()
                .strip_prefix("field:")?
                .split(';')
                .next()?
                .split_whitespace()
                .last()
        })
        .filter(|name| !name.starts_with("common_"))
        .position(|name| name == field)
        .map(|i| i as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_argument_positions() {
        let format = "name: sched_process_exec\nID: 365\nformat:\n\
            \tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n\
            \tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n\n\
            \tfield:__data_loc char[] filename;\toffset:8;\tsize:4;\tsigned:0;\n\
            \tfield:pid_t pid;\toffset:12;\tsize:4;\tsigned:1;\n";
        assert_eq!(parse_field_index(format, "filename"), Some(0));
        assert_eq!(parse_field_index(format, "pid"), Some(1));
        assert_eq!(parse_field_index(format, "old_pid"), None);
    }
}
