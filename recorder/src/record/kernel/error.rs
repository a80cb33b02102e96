//! Why the kernel side of a recording could not start or be read: its own module, below
//! everything else in `kernel/`, so that every part can return it without importing another.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum KernelError {
    #[error("recording needs root: loading eBPF programs takes CAP_BPF and CAP_PERFMON (or CAP_SYS_ADMIN), and this process lacks {missing}; run it with sudo")]
    NotPrivileged { missing: String },
    #[error("cannot run the command as {user}: this process lacks {missing} (use --as-root to keep this user)")]
    CannotSwitchUser { user: String, missing: String },
    #[error("kernel BTF is missing at {path} (the kernel needs CONFIG_DEBUG_INFO_BTF=y); leastpriv reads it to tell 32-bit syscalls from 64-bit ones")]
    NoBtf { path: PathBuf },
    #[error("{what}")]
    Btf { what: String },
    #[error("{what}")]
    Tracefs { what: String },
    #[error("cannot load the eBPF programs")]
    Load(#[source] aya::EbpfError),
    #[error("cannot {action} eBPF program {program}")]
    Program {
        action: &'static str,
        program: &'static str,
        #[source]
        source: aya::programs::ProgramError,
    },
    #[error("eBPF map {map}: {what}")]
    Map { map: &'static str, what: String },
}
