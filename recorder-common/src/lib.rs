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

/// How many (ABI, number) pairs the dense counters and bitmaps cover.
pub const SYSCALL_INDICES: usize = (abi::COUNT * MAX_SYSCALL_NR) as usize;

/// Syscall counts at index `abi * MAX_SYSCALL_NR + nr`, as one per-CPU map value (24 KiB)
/// rather than 3,072 map entries: the kernel allocates a per-CPU array's entries one by one,
/// which took 2.2 ms of start-up (0.02 ms for one value), and reading them back took a
/// syscall each.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct SyscallCounts {
    pub calls: [u64; SYSCALL_INDICES],
}

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
    /// A file or socket event did not fit in the ring buffer.
    pub const FILE_EVENTS: u32 = 5;
    /// A file syscall's entry could not be noted (pending map full): its access is unknown.
    pub const PENDING: u32 = 6;
    /// A syscall's argument values could not be noted (their map was full).
    pub const ARG_VALUES: u32 = 7;
    /// A move of a task into another cgroup did not fit in the ring buffer (the mover is then
    /// not stopped, and the move is not followed).
    pub const MOVE_EVENTS: u32 = 8;
    /// A port bound or connected to could not be noted: its deduplication map was full, or
    /// its event did not fit in the ring buffer.
    pub const PORTS: u32 = 9;
    /// How many counters there are.
    pub const COUNT: u32 = 10;
}

/// CPUs with a `CachedSyscall` entry (numbers from 0). A task on a CPU past them is counted
/// without the cache: correct, only slower.
pub const CACHED_SYSCALL_CPUS: usize = 1024;

/// The ELF section (and so the map) holding the `CachedSyscall` entries: a global array
/// indexed by CPU number, not a per-CPU map, so that asking the cache makes no map lookup
/// (which the compiler treats as a call, keeping values in saved registers that every
/// syscall on the machine would then push and pop). Userspace reads it for the calls the
/// entries counted and did not hand on.
pub const CACHED_SYSCALL_SECTION: &str = ".bss.cached_syscall";

/// The last syscall a target task entered on one CPU, as much as a repeat of it needs: a
/// one-entry cache in front of the counting and attribution, so that a task repeating a
/// syscall costs a few compares. One cache line per CPU.
#[repr(C, align(64))]
#[derive(Clone, Copy)]
pub struct CachedSyscall {
    /// The task's saved user registers (`task_pt_regs`, the tracepoint's first argument):
    /// one address per live task, so the cache can be asked before anything else without
    /// a helper call.
    pub regs: u64,
    /// `CACHE_GENERATION` when the entry was made. Anything that could make the entry wrong
    /// (an exec in the target, a fork or a cgroup migration anywhere) starts a new
    /// generation, and no older entry is used again.
    pub generation: u64,
    /// The raw syscall id as the tracepoint gave it.
    pub id: i64,
    /// Where the task made the call: the user instruction pointer and code segment saved in
    /// `regs`. With the task and the id, they fix the ABI for every call but a hostile one
    /// (see `sys_enter`), so a hit needs no look at the task's `TS_COMPAT` status.
    pub user_ip: u64,
    /// Calls counted here and not yet added to `SYSCALL_COUNTS[index]` (userspace adds what
    /// is left at the end).
    pub hits: u64,
    pub user_cs: u32,
    /// The `FILE_OPS` entry for `index` (a cached entry is only used when this is 0).
    pub op: u32,
    /// `abi * MAX_SYSCALL_NR + nr`, or `NO_SYSCALL`.
    pub index: u32,
    /// Explicit padding (to the 64-byte alignment).
    pub _pad: [u32; 3],
}

// One cache line, no implicit padding (the `Pod` impl relies on it).
const _: () = assert!(core::mem::size_of::<CachedSyscall>() == 64);

/// What a CPU keeps about the target task that made its last syscall, beyond the cache entry:
/// the syscall in progress for capability checks made inside it, and what attribution to the
/// executable needs. In a per-CPU map, read on a cache miss only.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct LastSyscall {
    /// The task (`task_struct` address).
    pub task: u64,
    /// `abi * MAX_SYSCALL_NR + nr` of its syscall in progress, or `NO_SYSCALL`.
    pub index: u32,
    /// Explicit padding.
    pub _pad: u32,
    /// The inode address of `task`'s executable (`ExeSyscalls`' key), valid while this CPU's
    /// `CachedSyscall` entry is the task's in the same generation: only an exec changes it,
    /// and an exec starts a new generation. A miss by the same task (a new syscall) takes it
    /// from here instead of reading three pointers.
    pub exe: u64,
    /// The executable whose `ExeSyscalls` bits `attributed` mirrors on this CPU.
    pub attributed_exe: u64,
    /// Bits already set in this CPU's `ExeSyscalls` value for `attributed_exe`: a miss for a
    /// syscall the executable already made here skips the hash lookup. Bits are only ever
    /// set in that map during a recording, so a bit set here is set there.
    pub attributed: [u64; EXE_SYSCALL_WORDS],
}

/// `LastSyscall::index` when unknown.
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
    /// Key of the kernel stack in `CAP_STACK_FRAMES`, or `NO_CAP_STACK`: the stack tells an
    /// audited need from a `*_noaudit` probe, which the tracepoint's fields cannot.
    pub stack: u64,
    /// The syscall in progress (`CurrentSyscall::index`).
    pub syscall: u32,
    /// Explicit padding.
    pub _pad: u32,
}

/// `CapCheckKey::stack` when the kernel stack could not be read.
pub const NO_CAP_STACK: u64 = 0;

/// Innermost kernel frames kept per capability check. The function that asked (a `*_noaudit`
/// helper or `capable`) is within the first few; the rest is provenance for `show`.
pub const CAP_STACK_DEPTH: usize = 32;

/// Frames kept for a check whose direct caller decides it (see `PROBING_CALLERS` in the kernel
/// program): the return into the tracepoint's runner, into `cap_capable`, into the caller.
pub const DECIDED_STACK_DEPTH: u64 = 3;

/// How many return addresses the kernel program is given as deciding a check by themselves
/// (`PROBING_CALLERS`; in practice one or two).
pub const DECIDING_RETURNS_MAX: u32 = 64;

/// A capability check's kernel stack, innermost frame first, stored once per distinct stack
/// under a 64-bit hash of its frames (the kernel's stack-trace map keeps one stack per
/// bucket and drops the second of two that collide; a 64-bit key makes that negligible).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct CapStack {
    /// How many entries of `ips` are valid.
    pub depth: u64,
    /// Instruction pointers; entries at `depth` and beyond are stale.
    pub ips: [u64; CAP_STACK_DEPTH],
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

/// Kernel structure offsets for reading files and paths, resolved by userspace from the
/// running kernel's BTF (aya-ebpf 0.2 has no CO-RE for Rust field accesses) and set as one
/// global before load. All in bytes.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FileOffsets {
    pub task_files: u64,
    pub task_fs: u64,
    pub files_fdt: u64,
    pub fdtable_max_fds: u64,
    pub fdtable_fd: u64,
    pub file_path: u64,
    pub file_flags: u64,
    pub file_mode: u64,
    pub file_inode: u64,
    pub inode_mode: u64,
    pub path_mnt: u64,
    pub path_dentry: u64,
    pub dentry_parent: u64,
    pub dentry_name: u64,
    pub qstr_len: u64,
    pub qstr_name: u64,
    pub vfsmount_root: u64,
    pub mount_mnt: u64,
    pub mount_parent: u64,
    pub mount_mountpoint: u64,
    pub fs_root: u64,
    pub fs_pwd: u64,
    /// `file.private_data`: a socket file's `struct socket`.
    pub file_private_data: u64,
    /// `socket.type` (a `short`: `SOCK_STREAM`, `SOCK_DGRAM`, ...).
    pub socket_type: u64,
}

/// What a syscall does to files, for `FILE_OPS` (indexed like the syscall counters). Set by
/// userspace from the syscall tables, so the kernel programs know no numbers themselves.
pub mod file_op {
    pub const NONE: u8 = 0;
    /// open(name, flags): the opened file comes from the returned fd. (The file's own
    /// f_flags lose O_CREAT once open, so the call's flags say whether it could create.)
    pub const OPEN: u8 = 1;
    /// openat(dirfd, name, flags).
    pub const OPENAT: u8 = 2;
    /// mmap: (addr, len, prot, flags, fd): an executable mapping of a file.
    pub const MMAP: u8 = 3;
    /// flock(fd, op).
    pub const FLOCK: u8 = 4;
    /// fcntl(fd, cmd): locks only.
    pub const FCNTL: u8 = 5;
    /// fchmod(fd) / fchown(fd).
    pub const FCHMOD: u8 = 6;
    pub const FCHOWN: u8 = 7;
    /// creat(name, mode): always creates.
    pub const CREAT: u8 = 8;
    /// openat2(dirfd, name, how*, size): the flags are in the `open_how` struct.
    pub const OPENAT2: u8 = 9;
    /// Name-based operations, path in arg 0 relative to the cwd.
    pub const UNLINK: u8 = 10;
    pub const RMDIR: u8 = 11;
    pub const MKDIR: u8 = 12;
    pub const CHMOD: u8 = 13;
    pub const CHOWN: u8 = 14;
    pub const MKNOD: u8 = 15;
    /// Name-based, (dirfd, name) in args 0..2.
    pub const UNLINKAT: u8 = 20;
    pub const MKDIRAT: u8 = 21;
    pub const FCHMODAT: u8 = 22;
    pub const FCHOWNAT: u8 = 23;
    pub const MKNODAT: u8 = 24;
    /// Two names: (old, new) relative to the cwd.
    pub const RENAME: u8 = 30;
    pub const LINK: u8 = 31;
    /// (target, new): only the new name is a file access.
    pub const SYMLINK: u8 = 32;
    /// (olddirfd, old, newdirfd, new).
    pub const RENAMEAT: u8 = 40;
    pub const LINKAT: u8 = 41;
    /// (target, newdirfd, new).
    pub const SYMLINKAT: u8 = 42;
    /// socket(family, type, protocol).
    pub const SOCKET: u8 = 50;
    /// ia32 socketcall(call, args*): SYS_SOCKET, SYS_BIND and SYS_CONNECT read their
    /// arguments from memory.
    pub const SOCKETCALL: u8 = 51;
    /// bind(fd, addr*, len).
    pub const BIND: u8 = 52;
    /// connect(fd, addr*, len): also completed when it returns EINPROGRESS.
    pub const CONNECT: u8 = 53;
}

/// A syscall in progress that may touch files, noted at entry, completed at exit.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct PendingCall {
    /// The `file_op`, widened to a word: with no padding bytes to zero, building the entry
    /// is stores, not a byte-by-byte `memset` call.
    pub op: u64,
    /// The executable making the call (its inode's address), as `sys_enter` knew it: no exec
    /// happens inside a file call, and this spares `sys_exit` three reads per call.
    pub exe_inode: u64,
    /// The first six syscall arguments in the ABI's register order.
    pub args: [u64; 6],
}

/// Which arguments of a syscall are recorded by value (set per syscall index by userspace
/// in `ARG_SPECS`): up to three, each masked (flags words keep only the bits that matter).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ArgSpec {
    /// How many of `index`/`mask` are used (0: the syscall's arguments are not recorded).
    pub count: u32,
    /// 1: `index[0]` is a pointer to a struct whose first u64 is the value (clone3's flags).
    pub from_memory: u32,
    /// Argument positions (0-based).
    pub index: [u32; 3],
    /// Explicit padding.
    pub _pad: u32,
    pub mask: [u64; 3],
}

/// One distinct set of argument values of one syscall made by one program.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ArgKey {
    pub exe_inode: u64,
    /// `abi * MAX_SYSCALL_NR + nr`.
    pub index: u32,
    pub _pad: u32,
    /// The masked values, in `ArgSpec` order; unused slots are 0.
    pub values: [u64; 3],
}

/// Access bits carried by file events (a set: one open can read and write).
pub mod access {
    pub const READ: u32 = 1 << 0;
    pub const WRITE: u32 = 1 << 1;
    pub const APPEND: u32 = 1 << 2;
    pub const EXEC: u32 = 1 << 3;
    pub const MMAP_EXEC: u32 = 1 << 4;
    pub const CREATE: u32 = 1 << 5;
    pub const UNLINK: u32 = 1 << 6;
    pub const RENAME_FROM: u32 = 1 << 7;
    pub const RENAME_TO: u32 = 1 << 8;
    pub const MKDIR: u32 = 1 << 9;
    pub const RMDIR: u32 = 1 << 10;
    pub const LINK: u32 = 1 << 11;
    pub const SYMLINK: u32 = 1 << 12;
    pub const CHMOD: u32 = 1 << 13;
    pub const CHOWN: u32 = 1 << 14;
    pub const LOCK: u32 = 1 << 15;
}

/// Bytes available for a resolved path's components in a file event.
pub const PATH_BUF: usize = 4096;
/// Bytes available for a user-supplied name (relative part of a name-based operation).
pub const NAME_BUF: usize = 4096;

/// Tag of [`FileEvent`].
pub const EVENT_FILE: u32 = 2;
/// Tag of [`SocketEvent`].
pub const EVENT_SOCKET: u32 = 3;

/// Flags of a [`FileEvent`].
pub mod file_flags {
    /// The component walk stopped before reaching the root (too deep or unreadable): the
    /// path is a suffix.
    pub const TRUNCATED: u32 = 1;
    /// `name` is set: the path is `components` (a directory) joined with `name`.
    pub const HAS_NAME: u32 = 2;
    /// The base directory could not be resolved (bad dirfd): only `name` is known.
    pub const NO_BASE: u32 = 4;
    /// The file is a directory (userspace writes its path with a trailing '/', as AppArmor
    /// matches directories).
    pub const DIRECTORY: u32 = 8;
}

/// A file access, sent through `EVENTS`. Variable length: the header, then `path_len`
/// bytes of components, then `name_len` bytes of name (both within `data`). Components are
/// written leaf first, each followed by '/': names never contain '/', so userspace can split
/// and reverse them unambiguously.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct FileEvent {
    pub kind: u32,
    /// `access::*` bits.
    pub access: u32,
    pub exe_inode: u64,
    pub flags: u32,
    pub path_len: u32,
    pub name_len: u32,
    pub _pad: u32,
    pub data: [u8; PATH_BUF + NAME_BUF],
}

/// A socket created by the target.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct SocketEvent {
    pub kind: u32,
    pub family: u32,
    /// Type without SOCK_NONBLOCK/SOCK_CLOEXEC.
    pub sock_type: u32,
    pub protocol: u32,
    pub exe_inode: u64,
}

/// Tag of [`PortEvent`].
pub const EVENT_PORT: u32 = 5;

/// What a [`PortEvent`] did.
pub mod port_op {
    pub const BIND: u32 = 0;
    pub const CONNECT: u32 = 1;
}

/// An inet port the target bound or connected to, sent once per (executable, op, family,
/// socket type, port, loopback): deduplicated in the kernel (`SEEN_PORTS`).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct PortEvent {
    pub kind: u32,
    /// `port_op::*`.
    pub op: u32,
    /// `AF_INET` or `AF_INET6`.
    pub family: u32,
    /// The socket's type (`SOCK_STREAM`, `SOCK_DGRAM`, ...), 0 when it could not be read.
    pub sock_type: u32,
    /// In host byte order.
    pub port: u32,
    /// 1 when the address (the peer's for connect, the local one for bind) is loopback
    /// (127.0.0.0/8, `::1`, or `::ffff:127.0.0.0/104`). A u32, not a bool: no padding.
    pub loopback: u32,
    pub exe_inode: u64,
}

/// Length of a container id (64 hex digits), the key of `EXPECTED_CONTAINERS`.
pub const CONTAINER_ID_LEN: usize = 64;

/// How many containers a recording can expect at once (see `EXPECTED_CONTAINERS`).
pub const EXPECTED_CONTAINERS_MAX: u32 = 256;

/// Flags of a [`MoveEvent`].
pub mod move_flags {
    /// The mover was stopped (SIGSTOP) and waits for userspace to continue it.
    pub const STOPPED: u32 = 1;
}

/// How many processes of a recording are remembered, so that one moving itself out is seen
/// (`RECORDED_TASKS`).
pub const RECORDED_TASKS_MAX: u32 = 65536;

/// Tag of [`MoveEvent`].
pub const EVENT_MOVE: u32 = 4;

/// Bytes of a cgroup path a move event carries, with its NUL (longer paths are cut: the
/// event says so by a length equal to this). A power of two: the kernel program masks its
/// indexes with it.
pub const MOVE_PATH_MAX: usize = 512;

/// A task in the target moved a task (itself or another) into a cgroup, or a process of the
/// recording was moved (by itself or anyone): the kernel's
/// `cgroup_attach_task`, once per hierarchy (on hybrid hierarchies, once for each v1
/// controller and once for the unified one).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct MoveEvent {
    pub kind: u32,
    /// Process (thread group) id of the task that moved it, which is stopped (SIGSTOP) until
    /// userspace has decided whether to follow the destination.
    pub mover_tgid: u32,
    /// Process id of the task moved (its thread group leader when a whole group moved).
    pub moved_tgid: u32,
    /// `move_flags::*`.
    pub flags: u32,
    /// Bytes of `path` that are valid, without the NUL.
    pub path_len: u32,
    /// Explicit padding: the next field is 8-byte aligned.
    pub _pad: u32,
    /// Inode address of the moved process's executable (as `ExecEvent::exe_inode`): names it
    /// when it has exited by the time userspace looks.
    pub moved_exe_inode: u64,
    /// The destination cgroup's path within its hierarchy (`/libpod_parent/libpod-<id>`).
    pub path: [u8; MOVE_PATH_MAX],
}

/// Key of the in-kernel deduplication of file accesses made through an open file: the same
/// (dentry, mount, access, executable) is reported once per recording.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct SeenFileKey {
    pub dentry: u64,
    pub mnt: u64,
    pub exe_inode: u64,
    pub access: u32,
    pub _pad: u32,
}

#[cfg(feature = "user")]
mod user {
    // SAFETY: plain `repr(C)` integers.
    unsafe impl aya::Pod for super::FileOffsets {}
    // SAFETY: plain `repr(C)` data with explicit padding and no pointers.
    unsafe impl aya::Pod for super::OddSyscallKey {}
    // SAFETY: plain `repr(C)` array of integers.
    unsafe impl aya::Pod for super::ExeSyscalls {}
    // SAFETY: plain integers, no padding.
    unsafe impl aya::Pod for super::SyscallCounts {}
    // SAFETY: plain `repr(C)` integers with explicit padding.
    unsafe impl aya::Pod for super::CapCheckKey {}
    // SAFETY: plain `repr(C)` integers, no padding.
    unsafe impl aya::Pod for super::CapStack {}
    // SAFETY: plain `repr(C)` integers with explicit padding.
    unsafe impl aya::Pod for super::LastSyscall {}
    // SAFETY: plain `repr(C)` integers with explicit padding to its 64-byte alignment.
    unsafe impl aya::Pod for super::CachedSyscall {}
    // SAFETY: plain `repr(C)` integers with explicit padding.
    unsafe impl aya::Pod for super::ArgSpec {}
    // SAFETY: plain `repr(C)` integers with explicit padding.
    unsafe impl aya::Pod for super::ArgKey {}
}
