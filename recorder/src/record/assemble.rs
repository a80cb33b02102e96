//! Assembling the Recording at the end of a run: what the accumulator kept from events, the
//! kernel maps' syscall sets, counts, argument values and capability checks (their stacks
//! named by kernel symbol), what was lost, and facts about the run itself (host, user,
//! executed programs that can raise privileges).

use std::{io, path::PathBuf, time::SystemTime};

use nix::sys::signal::Signal;

use super::{
    accumulator::{Accumulator, OverLimit},
    cgroup::CgroupError,
    kernel::{KernelError, KernelRecorder},
    kernel_symbols::KernelSymbols,
    launch::LaunchError,
};
use crate::recording::{
    self, Access, EscalatingProgram, FileAccess, Host, LeftRunning, Recording, RunUser, Target,
    Tool,
};

/// Why a run could not be recorded.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error(transparent)]
    Kernel(#[from] KernelError),
    #[error(transparent)]
    Cgroup(#[from] CgroupError),
    #[error(transparent)]
    Launch(#[from] LaunchError),
    #[error("bad cgroup path {path}")]
    CgroupPath { path: PathBuf, source: io::Error },
    #[error("{what}")]
    Io {
        what: &'static str,
        source: io::Error,
    },
}

/// How a watched run ended.
#[derive(Debug, Default)]
pub struct Outcome {
    pub exit_status: Option<i32>,
    /// The signal that interrupted the recording, if one did.
    pub interrupted_by: Option<Signal>,
    pub left_running: Vec<LeftRunning>,
    /// Who the command ran as.
    pub user: Option<RunUser>,
}

/// The Recording of a run that has ended: `kernel` still attached (its maps are read
/// here), `accumulator` holding every event drained from it.
pub fn recording(
    kernel: &KernelRecorder,
    accumulator: &mut Accumulator,
    target: Target,
    started: SystemTime,
    outcome: &Outcome,
) -> Result<Recording, RecordError> {
    let files = accumulator.take_files();
    let escalating_programs = escalating_programs(&files);
    let over_limit = accumulator.over_limit();
    if let Some(over) = &over_limit {
        report_over_limit(over);
    }
    let by_exe = kernel.syscalls_by_exe()?;
    let counts = kernel.syscall_counts()?;
    let makers = accumulator.makers(&by_exe);
    let capabilities = match kernel.capability_checks()? {
        Some(checks) => {
            // Symbols only when there is a stack to name (reading kallsyms takes a moment).
            let mut checks = checks;
            let symbols = if checks.iter().any(|c| c.stack.is_some()) {
                let ips = checks
                    .iter()
                    .filter_map(|c| c.stack.as_ref())
                    .flatten()
                    .copied()
                    .collect();
                match KernelSymbols::for_addresses(&ips).map_err(|source| RecordError::Io {
                    what: "reading /proc/kallsyms",
                    source,
                })? {
                    Some(symbols) => symbols,
                    None => {
                        // Without names the stacks cannot tell probes from needs: say so,
                        // and let every check count as an unknown (so as a need).
                        eprintln!("leastpriv: warning: /proc/kallsyms hides kernel addresses from leastpriv (kptr_restrict; it needs CAP_SYSLOG): capability checks cannot be told probe from need, and all count as needs");
                        for check in &mut checks {
                            check.stack = None;
                        }
                        KernelSymbols::default()
                    }
                }
            } else {
                KernelSymbols::default()
            };
            Some(accumulator.capability_checks(&checks, &symbols))
        }
        None => None,
    };
    let mut lost = kernel.lost()?;
    lost.unresolved_paths = accumulator.unresolved_paths;
    lost.file_paths = over_limit.map_or(0, |o| o.accesses);
    let uname = nix::sys::utsname::uname().map_err(|errno| RecordError::Io {
        what: "uname",
        source: errno.into(),
    })?;
    Ok(Recording {
        format: recording::FORMAT.into(),
        version: recording::VERSION,
        tool: Tool::current(),
        host: Host {
            kernel: uname.release().to_string_lossy().into_owned(),
            arch: uname.machine().to_string_lossy().into_owned(),
        },
        target,
        started_at: timestamp(started),
        finished_at: timestamp(SystemTime::now()),
        complete: outcome.interrupted_by.is_none(),
        run_id: Some(new_run_id()),
        runs: vec![],
        incomplete_reason: outcome
            .interrupted_by
            .map(|s| format!("interrupted by {}", s.as_str())),
        exit_status: outcome.exit_status,
        syscalls: recording::syscall_entries(&counts, &makers),
        executables: accumulator.executables(),
        files: Some(files),
        sockets: Some(accumulator.sockets()),
        ports: Some(accumulator.ports()),
        capabilities,
        arguments: Some(accumulator.arguments(&kernel.argument_values()?)),
        user: outcome.user,
        escalating_programs,
        left_running: outcome.left_running.clone(),
        started_late: false,
        moved_out: vec![],
        lost,
        containers: vec![],
    })
}

/// Tells the user which accesses `--max-paths` kept out of the recording, and where.
fn report_over_limit(over: &OverLimit) {
    let mut places: Vec<String> = over
        .directories
        .iter()
        .map(|(dir, n)| format!("{n} in \"{}\"", dir.escape_debug()))
        .collect();
    let named: u64 = over.directories.iter().map(|(_, n)| n).sum();
    if named < over.accesses {
        places.push(format!("{} elsewhere", over.accesses - named));
    }
    eprintln!(
        "leastpriv: WARNING: kept the first {} distinct file paths (--max-paths); {} accesses to further paths were counted, not kept: {}. Profiles made from this recording lack those paths; record again with a higher --max-paths to keep them",
        over.max_paths,
        over.accesses,
        places.join(", ")
    );
}

/// Executed programs (exec accesses) that can raise privileges, from their files as they
/// are now (right after the run).
fn escalating_programs(files: &[FileAccess]) -> Vec<EscalatingProgram> {
    use std::os::unix::fs::PermissionsExt as _;
    let mut out = Vec::new();
    for file in files
        .iter()
        .filter(|f| f.access.contains(Access::Exec) && f.is_exact_text())
    {
        let Ok(meta) = std::fs::metadata(&file.path) else {
            continue;
        };
        let mode = meta.permissions().mode();
        let file_capabilities = has_file_capabilities(&file.path);
        let program = EscalatingProgram {
            path: file.path.clone(),
            setuid: mode & 0o4000 != 0,
            setgid: mode & 0o2000 != 0,
            file_capabilities,
        };
        if program.setuid || program.setgid || program.file_capabilities {
            out.push(program);
        }
    }
    out
}

/// Whether the file carries a `security.capability` extended attribute.
fn has_file_capabilities(path: &str) -> bool {
    let Ok(path) = std::ffi::CString::new(path) else {
        return false;
    };
    // SAFETY: a size query (null buffer, size 0) on a valid C string.
    unsafe {
        libc::getxattr(
            path.as_ptr(),
            c"security.capability".as_ptr(),
            std::ptr::null_mut(),
            0,
        ) >= 0
    }
}

/// A random id for this run (64 bits from the kernel's random pool, in hex).
fn new_run_id() -> String {
    let mut bytes = [0u8; 8];
    // SAFETY: getrandom(2) writes at most `len` bytes into the buffer.
    let filled = unsafe { libc::getrandom(bytes.as_mut_ptr().cast(), bytes.len(), 0) } == 8;
    if !filled {
        let nanos = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        bytes = ((nanos as u64) ^ u64::from(std::process::id())).to_le_bytes();
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn timestamp(time: SystemTime) -> String {
    humantime::format_rfc3339_seconds(time).to_string()
}
