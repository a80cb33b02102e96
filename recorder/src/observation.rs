//! What the kernel programs report, decoded: the vocabulary between `kernel`/`decode` and the
//! code that builds a Recording.

use crate::syscalls::Abi;

/// One decoded event from the kernel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Observation {
    /// A task in the target executed a program.
    Exec {
        /// Process id after the exec.
        tgid: u32,
        /// Inode address of the executed file: links it to its syscalls within this run.
        exe_inode: u64,
        /// The file name the kernel executed, as bytes (paths need not be UTF-8).
        path: Vec<u8>,
        /// The kernel's string was longer than the event could carry.
        truncated: bool,
    },
}

/// One distinct capability check as the kernel programs counted it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CapCheck {
    pub exe_inode: u64,
    pub cap: u32,
    /// 0 granted, else the negative errno.
    pub ret: i32,
    /// Kernel instruction pointers, innermost first; `None` when the stack was not kept.
    pub stack: Option<Vec<u64>>,
    /// The syscall in progress, when known.
    pub syscall: Option<(Abi, i64)>,
    pub count: u64,
}
