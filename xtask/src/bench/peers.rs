//! The tools compared with leastpriv (benchmark 8, and the bpftrace rows of 1, 2 and 3):
//! whether each works on this machine, and the command lines that run a workload under it.
//!
//! strace and perf trace stop or wake a tracer at every syscall; the bpftrace one-liner is the
//! nearest eBPF equivalent of the recorder's hot path. A tool that does not work here is
//! reported as not measured, with what it said, instead of failing the benchmark.

use super::measure::{path_str, strings};
use std::path::Path;
use std::process::{Command, Stdio};

/// Whether an alternative tool works here (and if not, what it said).
pub struct Tools {
    pub strace: Result<(), String>,
    pub bpftrace: Result<(), String>,
    pub perf: Result<(), String>,
}

/// Runs a quick command to see whether a tool works; the error text otherwise.
fn probe(argv: &[&str]) -> Result<(), String> {
    let out = Command::new(argv[0])
        .args(&argv[1..])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", argv[0]))?;
    if out.status.success() {
        Ok(())
    } else {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let last = stderr
            .lines()
            .rfind(|l| !l.trim().is_empty())
            .unwrap_or("(no message)");
        Err(format!(
            "`{}` failed ({}): {}",
            argv.join(" "),
            out.status,
            last.trim()
        ))
    }
}

pub fn probe_tools() -> Tools {
    Tools {
        strace: probe(&["strace", "-f", "-c", "-o", "/dev/null", "true"]),
        bpftrace: probe(&["bpftrace", "-e", "BEGIN { exit(); }"]),
        perf: probe(&["perf", "trace", "-s", "-o", "/dev/null", "--", "true"]),
    }
}

/// `argv` under `strace -f -c`: stops the traced process at every syscall.
pub fn strace(argv: Vec<String>) -> Vec<String> {
    let mut s = strings(&["strace", "-f", "-c", "-o", "/dev/null"]);
    s.extend(argv);
    s
}

/// `argv` under `perf trace -s`: wakes the tracer at every syscall.
pub fn perf_trace(argv: Vec<String>) -> Vec<String> {
    let mut s = strings(&["perf", "trace", "-s", "-o", "/dev/null", "--"]);
    s.extend(argv);
    s
}

/// The bpftrace one-liner compared with the recorder: counts the syscalls of `cgroup`
/// on raw_syscalls:sys_enter, and says "attached" once it is.
pub fn bpftrace_script(cgroup: &Path) -> String {
    format!(
        "BEGIN {{ printf(\"attached\\n\"); }} \
         tracepoint:raw_syscalls:sys_enter /cgroup == cgroupid(\"{}\")/ {{ @[args->id] = count(); }}",
        path_str(cgroup)
    )
}
