//! tracefs: classic tracepoints are found (and described) there, and some systems do not
//! mount it at boot.

use std::{
    fs,
    path::{Path, PathBuf},
};

use super::KernelError;

const TRACEFS: &str = "/sys/kernel/tracing";
const DEBUGFS_TRACING: &str = "/sys/kernel/debug/tracing";

/// Returns the tracefs directory, mounting tracefs at /sys/kernel/tracing when it is missing
/// (and saying so, since it changes the machine's mount table).
pub fn ensure_mounted() -> Result<PathBuf, KernelError> {
    for dir in [TRACEFS, DEBUGFS_TRACING] {
        if Path::new(dir).join("events").is_dir() {
            return Ok(dir.into());
        }
    }
    nix::mount::mount(
        Some("tracefs"),
        TRACEFS,
        Some("tracefs"),
        nix::mount::MsFlags::empty(),
        None::<&str>,
    )
    .map_err(|e| KernelError::Tracefs {
        what: format!("tracefs is not mounted and mounting it at {TRACEFS} failed: {e}"),
    })?;
    eprintln!("leastpriv: mounted tracefs at {TRACEFS} (the exec tracepoint is found there)");
    Ok(TRACEFS.into())
}

/// Byte offset of `field` in a tracepoint's record, from its `format` file.
pub fn field_offset(
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
    parse_field_offset(&text, field).ok_or_else(|| KernelError::Tracefs {
        what: format!("{} has no field {field}", path.display()),
    })
}

/// Finds `offset:N;` on the line declaring `field` (e.g. `field:__data_loc char[] filename;`).
fn parse_field_offset(format: &str, field: &str) -> Option<u64> {
    format.lines().find_map(|line| {
        let decl = line.trim().strip_prefix("field:")?.split(';').next()?;
        if decl.split_whitespace().last()? != field {
            return None;
        }
        let offset = line.split("offset:").nth(1)?.split(';').next()?;
        offset.trim().parse().ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_exec_filename_offset() {
        let format = "name: sched_process_exec\nID: 365\nformat:\n\
            \tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n\
            \tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n\n\
            \tfield:__data_loc char[] filename;\toffset:8;\tsize:4;\tsigned:0;\n\
            \tfield:pid_t pid;\toffset:12;\tsize:4;\tsigned:1;\n";
        assert_eq!(parse_field_offset(format, "filename"), Some(8));
        assert_eq!(parse_field_offset(format, "pid"), Some(12));
        assert_eq!(parse_field_offset(format, "old_pid"), None);
    }
}
