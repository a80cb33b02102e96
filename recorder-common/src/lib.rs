//! Wire types shared by the kernel programs (`recorder-ebpf`) and userspace (`leastpriv`).
//!
//! Everything here is `#[repr(C)]` plain data with explicit padding, so both sides agree on the
//! layout byte for byte. Userspace decodes with size checks (see `leastpriv::decode`); nothing
//! here may hold a pointer, a `bool` or an enum, because the kernel side writes raw bytes.
#![no_std]

/// Syscall ABIs on x86_64. The kernel programs index the syscall counters by `abi * MAX_SYSCALL_NR + nr`.
pub mod abi {
    /// Native 64-bit syscalls (`syscall` instruction, no x32 bit).
    pub const X86_64: u32 = 0;
    /// 32-bit compat syscalls (int 0x80, sysenter, or `syscall` from a 32-bit process): the
    /// kernel marks these with `TS_COMPAT` in `thread_info.status`. Their numbers are i386 numbers.
    pub const IA32: u32 = 1;
    /// x32 syscalls: the `syscall` instruction with bit 30 set in the number.
    pub const X32: u32 = 2;
    /// How many ABIs the counters have room for.
    pub const COUNT: u32 = 3;
}

/// Syscall numbers below this are counted in the dense per-CPU array; larger (or negative)
/// numbers go to the sparse `ODD_SYSCALLS` map so that no number is ever dropped. The largest
/// real number on x86_64 is under 600 (x32 compat entries end at 547).
pub const MAX_SYSCALL_NR: u32 = 1024;

/// Bit 30 of the syscall number marks the x32 ABI (`__X32_SYSCALL_BIT`).
pub const X32_SYSCALL_BIT: i64 = 0x4000_0000;

/// `TS_COMPAT` in x86 `thread_info.status`: a 32-bit syscall is in progress.
pub const TS_COMPAT: u32 = 0x0002;

/// Key of the sparse map for syscall numbers outside `0..MAX_SYSCALL_NR`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OddSyscallKey {
    pub abi: u32,
    /// Explicit padding so the key has no uninitialised bytes (hash maps compare raw bytes).
    pub _pad: u32,
    /// The number as the kernel saw it (x32 bit already removed).
    pub nr: i64,
}

/// Words of one per-executable syscall bitmap: one bit per (ABI, number) in the dense range.
pub const EXE_SYSCALL_WORDS: usize = (abi::COUNT * MAX_SYSCALL_NR / 64) as usize;

/// Which syscalls one executable made: bit `abi * MAX_SYSCALL_NR + nr`. Kept per CPU (so
/// setting a bit needs no atomic instruction) and keyed by the executable's inode address.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct ExeSyscalls {
    pub bits: [u64; EXE_SYSCALL_WORDS],
}

/// Indexes of the per-CPU loss counters (`LOST` map). Every event that could not be recorded
/// is counted here and reported in the Recording, so a user can tell an exact recording from
/// an incomplete one.
pub mod lost {
    /// An exec event did not fit in the ring buffer.
    pub const EXEC_EVENTS: u32 = 0;
    /// A syscall number outside the dense range found `ODD_SYSCALLS` full.
    pub const SYSCALL_NUMBERS: u32 = 1;
    /// An executable's syscalls could not be attributed: its bitmap map was full.
    pub const PROVENANCE: u32 = 2;
    /// A capability check could not be noted: its map was full.
    pub const CAP_CHECKS: u32 = 3;
    /// A capability check's kernel stack could not be kept (stack map full or unreadable):
    /// the check is recorded, but whether it was a probe cannot be told.
    pub const CAP_STACKS: u32 = 4;
    /// How many counters there are.
    pub const COUNT: u32 = 5;
}

/// The syscall a task is in, noted by `sys_enter` per CPU so that a capability check (made
/// inside that syscall, on that CPU) can say which syscall it belongs to.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct CurrentSyscall {
    /// Thread id that entered the syscall.
    pub tid: u32,
    /// `abi * MAX_SYSCALL_NR + nr`, or `NO_SYSCALL` for numbers outside the dense range.
    pub index: u32,
}

/// `CurrentSyscall::index` when unknown.
pub const NO_SYSCALL: u32 = u32::MAX;

/// One kind of capability check, counted in the `CAP_CHECKS` map.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CapCheckKey {
    /// Inode address of the executable (see `ExeSyscalls`).
    pub exe_inode: u64,
    /// The capability number (CAP_CHOWN = 0, ...).
    pub cap: u32,
    /// The verdict: 0 granted, otherwise the negative errno (-EPERM).
    pub ret: i32,
    /// Kernel stack id in `CAP_STACKS`, or -1: the stack tells an audited need from a
    /// `*_noaudit` probe, which the tracepoint's fields cannot.
    pub stack_id: i32,
    /// The syscall in progress (`CurrentSyscall::index`).
    pub syscall: u32,
}

/// Longest executable path carried by an exec event, including the terminating NUL (PATH_MAX).
pub const EXEC_PATH_MAX: usize = 4096;

/// Sent through the `EVENTS` ring buffer when a task in the target cgroup executes a program.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct ExecEvent {
    /// Always `EVENT_EXEC`: a tag so later event kinds can share the ring buffer.
    pub kind: u32,
    /// Process (thread group) id after the exec.
    pub tgid: u32,
    /// Bytes of `path` that are valid, without the terminating NUL. Equal to
    /// `EXEC_PATH_MAX` when the kernel string did not fit.
    pub path_len: u32,
    /// Explicit padding to keep the next field 8-byte aligned.
    pub _pad: u32,
    /// Address of the executed file's inode: the key of its `ExeSyscalls`. Only meaningful
    /// within one recording, to link syscalls to the path below.
    pub exe_inode: u64,
    /// The file name the kernel executed (`bprm->filename`).
    pub path: [u8; EXEC_PATH_MAX],
}

/// Tag of [`ExecEvent`].
pub const EVENT_EXEC: u32 = 1;

#[cfg(feature = "user")]
mod user {
    // SAFETY: plain `repr(C)` data with explicit padding and no pointers.
    unsafe impl aya::Pod for super::OddSyscallKey {}
    // SAFETY: plain `repr(C)` array of integers.
    unsafe impl aya::Pod for super::ExeSyscalls {}
    // SAFETY: plain `repr(C)` integers, no implicit padding (8 + 4 * 4 bytes).
    unsafe impl aya::Pod for super::CapCheckKey {}
}
