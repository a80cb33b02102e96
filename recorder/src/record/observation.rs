//! What the kernel programs report, decoded: the vocabulary between `kernel`/`decode` and the
//! code that builds a Recording.

use crate::recording::syscalls::Abi;

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
    /// A file accessed by a task in the target.
    File {
        /// `recorder_common::access` bits.
        access: u32,
        exe_inode: u64,
        /// Absolute path bytes as the kernel resolved them (for name-based operations: the
        /// resolved directory joined with the name as given, `.` and `..` applied).
        path: Vec<u8>,
    },
    /// A file access whose path could not be resolved completely (deeper than the walk, or
    /// an unresolvable directory): counted, never turned into a rule.
    UnresolvedFile,
    /// A task in the target moved a task into a cgroup (on one hierarchy). The mover is
    /// stopped when the recording follows moves, until it is sent SIGCONT.
    Moved {
        mover_tgid: u32,
        moved_tgid: u32,
        /// The mover was stopped and waits to be continued (SIGCONT).
        stopped: bool,
        /// Inode address of the moved process's executable (see `Exec::exe_inode`).
        moved_exe: u64,
        /// The destination's path within its hierarchy, as bytes.
        path: Vec<u8>,
        /// The kernel's string was longer than the event could carry.
        truncated: bool,
    },
    /// A socket created by a task in the target.
    Socket {
        family: u32,
        sock_type: u32,
        protocol: u32,
        exe_inode: u64,
    },
    /// An inet port bound or connected to (`recorder_common::port_op`).
    Port {
        op: u32,
        family: u32,
        sock_type: u32,
        port: u16,
        loopback: bool,
        exe_inode: u64,
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

/// One distinct set of argument values of a syscall made by one program (see
/// `arguments` for which arguments, in which order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArgValues {
    pub exe_inode: u64,
    pub abi: Abi,
    pub nr: i64,
    pub values: Vec<u64>,
    pub count: u64,
}
