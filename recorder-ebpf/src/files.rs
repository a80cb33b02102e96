//! File, exec and socket access, resolved from the kernel's own objects.
//!
//! `sys_enter` notes a file-related syscall's arguments (`note_entry`); the raw `sys_exit`
//! program completes it once the kernel has done the work, and only when it succeeded:
//! - calls that yield or use an open file (open*, mmap, flock, fcntl locks, fchmod/fchown)
//!   resolve the `struct file` behind the fd: its path is walked dentry by dentry up to the
//!   task's root, crossing mounts, so relative names, dirfds, symlinks, `..` and bind mounts
//!   come out as the path the kernel used;
//! - name-based calls (unlink, mkdir, rename, ...) resolve their base directory (dirfd or
//!   cwd) the same way and carry the name as given; userspace joins the two.
//! Accesses through open files are deduplicated in the kernel by (dentry, mount, access,
//! executable); what does not fit in the ring buffer is counted in `LOST`.

use aya_ebpf::{
    bindings::{BPF_F_NO_PREALLOC, BPF_NOEXIST},
    helpers::{
        bpf_get_current_pid_tgid, bpf_get_current_task, bpf_probe_read_kernel, bpf_probe_read_user,
        bpf_probe_read_user_str_bytes, generated,
    },
    macros::{map, raw_tracepoint},
    maps::{Array, HashMap, LruHashMap, PerCpuArray},
    programs::RawTracePointContext,
};
use recorder_common::{
    abi, access, file_flags, file_op, lost, FileEvent, FileOffsets, PendingCall, SeenFileKey,
    SocketEvent, EVENT_FILE, EVENT_SOCKET, MAX_SYSCALL_NR, NAME_BUF, PATH_BUF,
};

use crate::{
    exec::EVENTS,
    target::{count_lost, current_task_is_target},
    task::current_exe_inode,
};

/// Offsets of the kernel structures walked here, from BTF (see `FileOffsets`).
#[unsafe(no_mangle)]
static FILE_OFFSETS: FileOffsets = FileOffsets {
    task_files: 0,
    task_fs: 0,
    files_fdt: 0,
    fdtable_max_fds: 0,
    fdtable_fd: 0,
    file_path: 0,
    file_flags: 0,
    file_mode: 0,
    file_inode: 0,
    inode_mode: 0,
    path_mnt: 0,
    path_dentry: 0,
    dentry_parent: 0,
    dentry_name: 0,
    qstr_len: 0,
    qstr_name: 0,
    vfsmount_root: 0,
    mount_mnt: 0,
    mount_parent: 0,
    mount_mountpoint: 0,
    fs_root: 0,
    fs_pwd: 0,
};

/// What each syscall does to files, indexed like the syscall counters; filled by userspace.
#[map]
static FILE_OPS: Array<u8> = Array::with_max_entries(abi::COUNT * MAX_SYSCALL_NR, 0);

/// File syscalls in progress, by thread id. LRU, so a call whose exit is never seen (the
/// task was killed) cannot fill it.
#[map]
static PENDING: LruHashMap<u32, PendingCall> = LruHashMap::with_max_entries(16384, 0);

/// How many entries `PENDING` holds (never fewer; more only after an LRU eviction). Zero
/// lets `sys_exit` return at once for every task, in the target or not: most syscalls are
/// not file calls. A plain global (in `.bss`), not a map: the test is one load, where an
/// array lookup spills its key to the stack and checks the index first (about ten
/// instructions on every syscall of the machine). Alone on its cache line, so that the
/// target's file calls, which write it, do not evict `CACHE_GENERATION`, which every
/// syscall reads.
#[unsafe(no_mangle)]
static mut PENDING_CALLS: crate::CacheLine = crate::CacheLine(0);

/// Adds `delta` to `PENDING_CALLS` (shared by all CPUs, so atomically).
#[inline(always)]
fn count_pending(delta: i64) {
    // SAFETY: the address of our own global; nothing is read or written here.
    crate::atomic_add(unsafe { &raw mut PENDING_CALLS.0 }, delta as u64);
}

/// Whether any file call is pending, on any CPU.
#[inline(always)]
fn calls_pending() -> bool {
    // SAFETY: a volatile read of our own global; CPUs only ever add to it atomically.
    unsafe { core::ptr::read_volatile(&raw const PENDING_CALLS.0) != 0 }
}

/// Accesses through open files already reported. Allocated as it fills, not up front:
/// preallocating (and, for an LRU map, initialising) 131,072 entries took a quarter of
/// start-up. Once full, further new accesses are reported every time, and userspace merges
/// the duplicates, so nothing is lost.
#[map]
static SEEN_FILES: HashMap<SeenFileKey, u8> = HashMap::with_max_entries(131072, BPF_F_NO_PREALLOC);

/// Where events are built (too big for the 512-byte stack).
#[map]
static SCRATCH: PerCpuArray<FileEvent> = PerCpuArray::with_max_entries(1, 0);

/// Deepest path walked (components); deeper paths are reported as truncated suffixes.
const MAX_COMPONENTS: u32 = 48;
/// Longest name of one component (NAME_MAX).
const NAME_MAX: u64 = 255;

const AT_FDCWD: i64 = -100;
const AT_REMOVEDIR: u64 = 0x200;
const O_ACCMODE: u32 = 3;
const O_WRONLY: u32 = 1;
const O_RDWR: u32 = 2;
const O_CREAT: u32 = 0o100;
const O_APPEND: u32 = 0o2000;
const O_PATH: u32 = 0o10000000;
const FMODE_EXEC: u32 = 0x20;
/// Marks an fd access as coming from an open call (not an access bit sent to userspace).
const OPEN_BITS: u32 = 1 << 31;
const PROT_EXEC: u64 = 4;
const MAP_ANONYMOUS: u64 = 0x20;
const LOCK_UN: u64 = 8;
const S_IFMT: u16 = 0o170000;
const S_IFIFO: u16 = 0o010000;
const S_IFSOCK: u16 = 0o140000;
const S_IFDIR: u16 = 0o040000;

/// The part of x86 `struct pt_regs` (layout fixed by the entry code) that holds the syscall
/// arguments of both ABIs: from `bp` (offset 32) to `di` (offset 112), 11 registers.
const ARG_REGS_START: u64 = 32;
const ARG_REGS: usize = 11;
/// Where each argument is in that part, per ABI (register index from `bp`).
const ARGS_X86_64: [usize; 6] = [10, 9, 8, 3, 5, 4]; // di si dx r10 r8 r9
const ARGS_IA32: [usize; 6] = [1, 7, 8, 9, 10, 0]; // bx cx dx si di bp

/// The six arguments of the syscall being entered, from its saved registers: one read of
/// the registers that hold them, not one helper call per argument.
#[inline(always)]
pub(crate) fn syscall_args(regs: u64, wire_abi: u32) -> [u64; 6] {
    // SAFETY: bpf_probe_read_kernel checks the address; unreadable reads as zeros.
    let saved = unsafe { bpf_probe_read_kernel((regs + ARG_REGS_START) as *const [u64; ARG_REGS]) }
        .unwrap_or([0; ARG_REGS]);
    let mut args = [0u64; 6];
    for i in 0..6 {
        args[i] = if wire_abi == abi::IA32 {
            // The compat entry keeps 32-bit arguments: drop whatever is above.
            saved[ARGS_IA32[i]] & 0xffff_ffff
        } else {
            saved[ARGS_X86_64[i]]
        };
    }
    args
}

#[inline(always)]
fn offsets() -> &'static FileOffsets {
    // SAFETY: a global written once by userspace before load; read through a volatile
    // pointer so the compiler does not fold the zero initialiser.
    unsafe { &*core::ptr::read_volatile(&(&raw const FILE_OFFSETS)) }
}

#[inline(always)]
fn read_u64(addr: u64) -> u64 {
    if addr == 0 {
        return 0;
    }
    // SAFETY: bpf_probe_read_kernel checks the address.
    unsafe { bpf_probe_read_kernel(addr as *const u64) }.unwrap_or(0)
}

#[inline(always)]
fn read_u32(addr: u64) -> u32 {
    if addr == 0 {
        return 0;
    }
    // SAFETY: as above.
    unsafe { bpf_probe_read_kernel(addr as *const u32) }.unwrap_or(0)
}

/// Called by `sys_enter` for a target syscall (not served from its cache): notes the
/// arguments of file syscalls, made by the executable `exe_inode`. Returns the syscall's file
/// op (`file_op::NONE` for others).
#[inline(always)]
pub(crate) fn note_entry(index: u32, wire_abi: u32, regs: u64, exe_inode: u64) -> u8 {
    let op = match FILE_OPS.get(index) {
        Some(&op) if op != file_op::NONE => op,
        _ => return file_op::NONE,
    };
    let call = PendingCall {
        op: u64::from(op),
        exe_inode,
        args: syscall_args(regs, wire_abi),
    };
    // Calls whose arguments already say there is nothing to record are not tracked to
    // their exit: most `mmap`s (anonymous or not executable) and `fcntl`s (not a lock).
    // The op is still returned, so that the syscall cache never serves the next such call.
    if !may_access_files(op, &call.args) {
        return op;
    }
    let tid = bpf_get_current_pid_tgid() as u32;
    // A new entry is counted; one left by a call whose exit was never seen is replaced.
    match PENDING.insert(&tid, &call, BPF_NOEXIST as u64) {
        Ok(()) => count_pending(1),
        Err(_) => {
            if PENDING.insert(&tid, &call, 0).is_err() {
                count_lost(lost::PENDING);
            }
        }
    }
    op
}

/// Every syscall's exit. Only the pending-call count is read here, the path every syscall on
/// the machine takes while no file call is pending: the rest (`exit`) uses every callee-saved
/// register and stack, which the JIT saves and sets up on every run of the function that
/// holds it: a `getppid` loop outside the target went from 1.023 to 1.015 over the floor
/// (Intel VM, 2026-12-06, wall time, medians of 16 paired rounds).
#[raw_tracepoint(tracepoint = "sys_exit")]
pub fn sys_exit(ctx: RawTracePointContext) -> i32 {
    if !calls_pending() {
        return 0;
    }
    exit(ctx)
}

/// The rest of `sys_exit`: completes the current task's pending file call, if it has one.
#[inline(never)]
fn exit(ctx: RawTracePointContext) -> i32 {
    if !current_task_is_target() {
        return 0;
    }
    let tid = bpf_get_current_pid_tgid() as u32;
    // SAFETY: a copy of the map value, taken before the entry is removed.
    let Some(call) = (unsafe { PENDING.get(&tid) }).copied() else {
        return 0;
    };
    if PENDING.remove(&tid).is_ok() {
        count_pending(-1);
    }
    // Arguments of the sys_exit tracepoint: (struct pt_regs *regs, long ret).
    let ret: i64 = ctx.arg(1);
    if ret < 0 && !(call.op == u64::from(file_op::MMAP) && ret < -4095) {
        return 0;
    }
    complete(&call, ret);
    0
}

/// Whether a call of file op `op` with these arguments can access a file worth recording:
/// an executable mapping of a file, a lock taken with `flock` (not `LOCK_UN`), or a lock
/// request with `fcntl` (F_SETLK, F_SETLKW, their 64-bit ia32 forms, and the OFD locks).
/// Every other op is decided by its result.
#[inline(always)]
fn may_access_files(op: u8, a: &[u64; 6]) -> bool {
    match op {
        file_op::MMAP => a[2] & PROT_EXEC != 0 && a[3] & MAP_ANONYMOUS == 0,
        file_op::FLOCK => a[1] & LOCK_UN == 0,
        file_op::FCNTL => matches!(a[1], 6 | 7 | 13 | 14 | 37 | 38),
        _ => true,
    }
}

/// What a completed call did, reduced to at most one access through an fd, two by name and
/// one socket, so that each kind is handled at a single place in the program (the verifier
/// then checks the path walk a few times, not once per syscall).
fn complete(call: &PendingCall, ret: i64) {
    let a = &call.args;
    let exe = call.exe_inode;
    let fd_arg = a[0] as i32 as i64;
    let mut fd: (i64, u32) = (-1, 0);
    let mut names: [(i64, u64, u32); 2] = [(0, 0, 0); 2];
    match call.op as u8 {
        // The opened file's f_flags no longer hold O_CREAT: take it from the call.
        file_op::OPEN => fd = (ret, OPEN_BITS | create_bit(a[1])),
        file_op::OPENAT => fd = (ret, OPEN_BITS | create_bit(a[2])),
        file_op::CREAT => fd = (ret, OPEN_BITS | access::CREATE),
        file_op::OPENAT2 => {
            // SAFETY: bpf_probe_read_user checks the user address (`open_how.flags` is first).
            let flags = unsafe { bpf_probe_read_user(a[2] as *const u64) }.unwrap_or(0);
            fd = (ret, OPEN_BITS | create_bit(flags));
        }
        // `may_access_files` let only executable file mappings, locks and lock requests
        // through to here.
        file_op::MMAP => fd = (a[4] as i32 as i64, access::MMAP_EXEC),
        file_op::FLOCK | file_op::FCNTL => fd = (fd_arg, access::LOCK),
        file_op::FCHMOD => fd = (fd_arg, access::CHMOD),
        file_op::FCHOWN => fd = (fd_arg, access::CHOWN),
        file_op::UNLINK => names[0] = (AT_FDCWD, a[0], access::UNLINK),
        file_op::RMDIR => names[0] = (AT_FDCWD, a[0], access::RMDIR),
        file_op::MKDIR => names[0] = (AT_FDCWD, a[0], access::MKDIR),
        file_op::CHMOD => names[0] = (AT_FDCWD, a[0], access::CHMOD),
        file_op::CHOWN => names[0] = (AT_FDCWD, a[0], access::CHOWN),
        file_op::MKNOD => names[0] = (AT_FDCWD, a[0], access::CREATE),
        file_op::UNLINKAT => {
            let kind = if a[2] & AT_REMOVEDIR != 0 {
                access::RMDIR
            } else {
                access::UNLINK
            };
            names[0] = (fd_arg, a[1], kind);
        }
        file_op::MKDIRAT => names[0] = (fd_arg, a[1], access::MKDIR),
        file_op::FCHMODAT => names[0] = (fd_arg, a[1], access::CHMOD),
        file_op::FCHOWNAT => names[0] = (fd_arg, a[1], access::CHOWN),
        file_op::MKNODAT => names[0] = (fd_arg, a[1], access::CREATE),
        file_op::RENAME => {
            names[0] = (AT_FDCWD, a[0], access::RENAME_FROM);
            names[1] = (AT_FDCWD, a[1], access::RENAME_TO);
        }
        file_op::LINK => names[0] = (AT_FDCWD, a[1], access::LINK),
        file_op::SYMLINK => names[0] = (AT_FDCWD, a[1], access::SYMLINK),
        file_op::RENAMEAT => {
            names[0] = (fd_arg, a[1], access::RENAME_FROM);
            names[1] = (a[2] as i32 as i64, a[3], access::RENAME_TO);
        }
        file_op::LINKAT => names[0] = (a[2] as i32 as i64, a[3], access::LINK),
        file_op::SYMLINKAT => names[0] = (a[1] as i32 as i64, a[2], access::SYMLINK),
        file_op::SOCKET => socket(a[0] as u32, a[1] as u32, a[2] as u32, exe),
        file_op::SOCKETCALL => {
            // SYS_SOCKET: the three arguments are ints in user memory.
            if a[0] == 1 {
                // SAFETY: bpf_probe_read_user checks the user address.
                if let Ok(args) = unsafe { bpf_probe_read_user(a[1] as *const [u32; 3]) } {
                    socket(args[0], args[1], args[2], exe);
                }
            }
        }
        _ => {}
    }
    if fd.0 >= 0 {
        fd_access(fd.0, fd.1, exe);
    }
    for (dirfd, name, bits) in names {
        if bits != 0 {
            named(dirfd, name, bits, exe);
        }
    }
}

/// The `struct file` behind an fd of the current task, or 0.
#[inline(always)]
fn file_of_fd(fd: i64) -> u64 {
    if fd < 0 {
        return 0;
    }
    let o = offsets();
    // SAFETY: bpf_get_current_task only returns the current task pointer.
    let task = unsafe { bpf_get_current_task() };
    let files = read_u64(task + o.task_files);
    let fdt = read_u64(files + o.files_fdt);
    let max_fds = read_u32(fdt + o.fdtable_max_fds);
    if fd as u64 >= u64::from(max_fds) {
        return 0;
    }
    let fd_array = read_u64(fdt + o.fdtable_fd);
    read_u64(fd_array + (fd as u64) * 8)
}

/// What an open file was opened for, as access bits; 0 for O_PATH handles.
#[inline(always)]
fn open_access(file: u64) -> u32 {
    let o = offsets();
    let flags = read_u32(file + o.file_flags);
    if flags & O_PATH != 0 {
        return 0;
    }
    let writes = if flags & O_APPEND != 0 {
        access::APPEND
    } else {
        access::WRITE
    };
    let mut bits = match flags & O_ACCMODE {
        O_WRONLY => writes,
        O_RDWR => access::READ | writes,
        _ => access::READ,
    };
    if read_u32(file + o.file_mode) & FMODE_EXEC != 0 {
        bits |= access::EXEC;
    }
    bits
}

/// Called at exec: the executed file as an exec access.
pub(crate) fn exe_file_access() {
    let file = crate::task::current_exe_file();
    if file != 0 {
        let _ = file_access(file, access::EXEC, current_exe_inode());
    }
}

/// `access::CREATE` when open flags include O_CREAT, else 0.
#[inline(always)]
fn create_bit(flags: u64) -> u32 {
    if flags as u32 & O_CREAT != 0 {
        access::CREATE
    } else {
        0
    }
}

/// An access through an fd. For open calls (`OPEN_BITS` set) the access is how the file was
/// opened, plus whatever else `bits` says (create).
///
/// A global BPF function (exported, returning a scalar): the verifier checks it once, on its
/// own, instead of once per path through `complete` that reaches it.
#[inline(never)]
#[unsafe(no_mangle)]
pub extern "C" fn fd_access(fd: i64, bits: u32, exe_inode: u64) -> i64 {
    let file = file_of_fd(fd);
    if file == 0 {
        return 0;
    }
    let bits = if bits & OPEN_BITS != 0 {
        open_access(file) | (bits & !OPEN_BITS)
    } else {
        bits
    };
    if bits != 0 {
        let _ = file_access(file, bits, exe_inode);
    }
    0
}

/// Reports an access through an open file once per (file, access, executable).
///
/// A global BPF function, checked once by the verifier (see `fd_access`).
#[inline(never)]
#[unsafe(no_mangle)]
pub extern "C" fn file_access(file: u64, bits: u32, exe_inode: u64) -> i64 {
    let o = offsets();
    // Pipes, sockets and anonymous inodes have no path worth a rule.
    let inode = read_u64(file + o.file_inode);
    let kind = read_u32(inode + o.inode_mode) as u16 & S_IFMT;
    if kind == 0 || kind == S_IFIFO || kind == S_IFSOCK {
        return 0;
    }
    let (mnt, dentry) = read_path(file + o.file_path);
    let key = SeenFileKey {
        dentry,
        mnt,
        exe_inode,
        access: bits,
        _pad: 0,
    };
    // SAFETY: only tests presence.
    if unsafe { SEEN_FILES.get(&key) }.is_some() {
        return 0;
    }
    let _ = SEEN_FILES.insert(&key, &1, 0);
    let Some(event) = start_event(bits, exe_inode) else {
        return 0;
    };
    // SAFETY: `event` is this CPU's scratch value.
    let event = unsafe { &mut *event };
    let (len, truncated) = walked(walk_path(dentry, mnt));
    event.path_len = len;
    if truncated {
        event.flags |= file_flags::TRUNCATED;
    }
    if kind == S_IFDIR {
        event.flags |= file_flags::DIRECTORY;
    }
    send(event);
    0
}

/// A name-based operation: `name` (user memory) relative to `dirfd` (or the cwd).
///
/// A global BPF function, checked once by the verifier (see `fd_access`).
#[inline(never)]
#[unsafe(no_mangle)]
pub extern "C" fn named(dirfd: i64, name: u64, bits: u32, exe_inode: u64) -> i64 {
    let Some(event) = start_event(bits, exe_inode) else {
        return 0;
    };
    // SAFETY: `event` is this CPU's scratch value.
    let event = unsafe { &mut *event };
    event.flags |= file_flags::HAS_NAME;
    let o = offsets();
    let (mnt, dentry) = if dirfd == AT_FDCWD {
        // SAFETY: bpf_get_current_task only returns the current task pointer.
        let fs = read_u64(unsafe { bpf_get_current_task() } + o.task_fs);
        read_path(fs + o.fs_pwd)
    } else {
        match file_of_fd(dirfd) {
            0 => (0, 0),
            dir => read_path(dir + o.file_path),
        }
    };
    if dentry == 0 {
        event.flags |= file_flags::NO_BASE;
    } else {
        let (len, truncated) = walked(walk_path(dentry, mnt));
        event.path_len = len;
        if truncated {
            event.flags |= file_flags::TRUNCATED;
        }
    }
    // SAFETY: reading a NUL-terminated user string into the name half of the buffer.
    let name_buf = &mut event.data[PATH_BUF..PATH_BUF + NAME_BUF];
    if let Ok(bytes) = unsafe { bpf_probe_read_user_str_bytes(name as *const u8, name_buf) } {
        event.name_len = bytes.len() as u32;
    }
    send(event);
    0
}

fn socket(family: u32, sock_type: u32, protocol: u32, exe_inode: u64) {
    let event = SocketEvent {
        kind: EVENT_SOCKET,
        family,
        // SOCK_TYPE_MASK: drop SOCK_NONBLOCK and SOCK_CLOEXEC.
        sock_type: sock_type & 0xf,
        protocol,
        exe_inode,
    };
    if EVENTS
        .output::<SocketEvent>(&event, crate::exec::wakeup_flags())
        .is_err()
    {
        count_lost(lost::FILE_EVENTS);
    }
}

/// The scratch event, with its header reset.
#[inline(always)]
fn start_event(bits: u32, exe_inode: u64) -> Option<*mut FileEvent> {
    use core::ptr::write_volatile as put;
    let event = SCRATCH.get_ptr_mut(0)?;
    // SAFETY: this CPU's scratch value from a successful lookup. Volatile stores, which the
    // compiler may not merge into a `memset` call (a byte loop, slower than four stores).
    unsafe {
        put(&raw mut (*event).kind, EVENT_FILE);
        put(&raw mut (*event).access, bits);
        put(&raw mut (*event).exe_inode, exe_inode);
        put(&raw mut (*event).flags, 0);
        put(&raw mut (*event).path_len, 0);
        put(&raw mut (*event).name_len, 0);
        put(&raw mut (*event)._pad, 0);
    }
    Some(event)
}

/// Header bytes before `data`.
const HEADER: usize = 32;

/// Sends the used part of the scratch event.
#[inline(always)]
fn send(event: &FileEvent) {
    let used = if event.flags & file_flags::HAS_NAME != 0 {
        PATH_BUF + (event.name_len as usize & (NAME_BUF - 1))
    } else {
        event.path_len as usize & (PATH_BUF - 1)
    };
    let size = HEADER + used;
    // SAFETY: `size` is at most the size of FileEvent (masked above).
    let bytes =
        unsafe { core::slice::from_raw_parts((event as *const FileEvent).cast::<u8>(), size) };
    if EVENTS
        .output::<[u8]>(bytes, crate::exec::wakeup_flags())
        .is_err()
    {
        count_lost(lost::FILE_EVENTS);
    }
}

/// The path walk's position, kept in map memory rather than registers: the verifier then
/// sees every iteration start from the same state and checks the loop in linear time.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct Walk {
    dentry: u64,
    vfsmnt: u64,
    /// The root dentry of `vfsmnt`, read when the walk enters that mount.
    mnt_root: u64,
    pos: u64,
    /// 0 walking, 1 reached the root, 2 stopped early (truncated).
    done: u64,
}

#[map]
static WALK: PerCpuArray<Walk> = PerCpuArray::with_max_entries(1, 0);

/// Writes the path of (dentry, vfsmount) into `buf` (this CPU's scratch event data) as
/// components leaf first, each followed by '/', walking up to the task's root and across
/// mounts. Returns the bytes written, with bit 32 set when the walk stopped before the root
/// (see `walked`).
///
/// The loop runs through `bpf_loop`, so the verifier checks one step once, however deep the
/// walk may go; and this is a global BPF function, checked once however many places walk a
/// path (a global function returns a scalar, hence the packed result).
#[inline(never)]
#[unsafe(no_mangle)]
pub extern "C" fn walk_path(dentry: u64, vfsmnt: u64) -> u64 {
    let o = offsets();
    // SAFETY: bpf_get_current_task only returns the current task pointer.
    let fs = read_u64(unsafe { bpf_get_current_task() } + o.task_fs);
    let (root_mnt, root_dentry) = read_path(fs + o.fs_root);
    let mut ctx = WalkCtx {
        root_mnt,
        root_dentry,
    };
    let Some(walk) = WALK.get_ptr_mut(0) else {
        return WALK_TRUNCATED;
    };
    // SAFETY: this CPU's value from a successful lookup; the callback below is the only other
    // user, and runs synchronously inside bpf_loop.
    unsafe {
        walk.write_volatile(Walk {
            dentry,
            vfsmnt,
            mnt_root: read_u64(vfsmnt + o.vfsmount_root),
            pos: 0,
            done: 0,
        });
        generated::bpf_loop(
            MAX_COMPONENTS,
            walk_step as *mut core::ffi::c_void,
            (&raw mut ctx).cast(),
            0,
        );
        let pos = core::ptr::read_volatile(&raw const (*walk).pos) & (PATH_BUF as u64 - 1);
        if (*walk).done_now() != 1 {
            pos | WALK_TRUNCATED
        } else {
            pos
        }
    }
}

/// In `walk_path`'s result: the walk stopped before the root.
const WALK_TRUNCATED: u64 = 1 << 32;

/// `walk_path`'s result as (bytes written, truncated).
#[inline(always)]
fn walked(result: u64) -> (u32, bool) {
    (
        (result as u32) & (PATH_BUF as u32 - 1),
        result & WALK_TRUNCATED != 0,
    )
}

/// What the walk's steps need besides its state in `WALK`.
#[repr(C)]
struct WalkCtx {
    root_mnt: u64,
    root_dentry: u64,
}

/// One `bpf_loop` iteration: returns 1 to stop.
extern "C" fn walk_step(_index: u32, ctx: *mut core::ffi::c_void) -> i64 {
    // SAFETY: `ctx` is the WalkCtx on walk_path's stack; the maps are this CPU's values.
    unsafe {
        let ctx = &*(ctx as *const WalkCtx);
        let (Some(walk), Some(event)) = (WALK.get_ptr_mut(0), SCRATCH.get_ptr_mut(0)) else {
            return 1;
        };
        step(walk, ctx.root_dentry, ctx.root_mnt, &mut (*event).data);
        i64::from((*walk).done_now() != 0)
    }
}

impl Walk {
    #[inline(always)]
    fn done_now(&self) -> u64 {
        // SAFETY: a field of a live map value.
        unsafe { core::ptr::read_volatile(&raw const self.done) }
    }
}

/// The (mount, dentry) of a `struct path` at `addr`: one read where they come in that order,
/// as on every kernel seen so far, else two (see `dentry_head`); zeros when unreadable.
#[inline(always)]
fn read_path(addr: u64) -> (u64, u64) {
    let o = offsets();
    if o.path_mnt == 0 && o.path_dentry == 8 {
        // SAFETY: bpf_probe_read_kernel checks the address; unreadable reads as zeros.
        let pair = unsafe { bpf_probe_read_kernel(addr as *const [u64; 2]) }.unwrap_or([0; 2]);
        (pair[0], pair[1])
    } else {
        (read_u64(addr + o.path_mnt), read_u64(addr + o.path_dentry))
    }
}

/// A dentry's parent, name length and name pointer: one read where the kernel keeps them
/// together (`d_parent`, then `d_name` as hash: u32, len: u32, name: pointer, as on every
/// kernel seen so far), else three. The offsets are read-only globals, so the verifier
/// keeps only the branch this kernel takes.
#[inline(always)]
fn dentry_head(dentry: u64) -> (u64, u64, u64) {
    let o = offsets();
    if o.dentry_name == o.dentry_parent + 8 && o.qstr_len == 4 && o.qstr_name == 8 {
        // SAFETY: bpf_probe_read_kernel checks the address; unreadable reads as zeros.
        let head = unsafe { bpf_probe_read_kernel((dentry + o.dentry_parent) as *const [u64; 3]) }
            .unwrap_or([0; 3]);
        // (hash: u32, len: u32) little-endian: the length is the high half.
        (head[0], head[1] >> 32, head[2])
    } else {
        (
            read_u64(dentry + o.dentry_parent),
            u64::from(read_u32(dentry + o.dentry_name + o.qstr_len)),
            read_u64(dentry + o.dentry_name + o.qstr_name),
        )
    }
}

/// One step of the walk: a component written, a mount crossed, or the end reached.
#[inline(always)]
unsafe fn step(
    walk: *mut Walk,
    root_dentry: u64,
    root_mnt: u64,
    buf: &mut [u8; PATH_BUF + NAME_BUF],
) {
    use core::ptr::{read_volatile as get, write_volatile as put};
    let o = offsets();
    let (dentry, vfsmnt) = (
        get(&raw const (*walk).dentry),
        get(&raw const (*walk).vfsmnt),
    );
    if dentry == 0 || (dentry == root_dentry && vfsmnt == root_mnt) {
        put(&raw mut (*walk).done, 1);
        return;
    }
    if dentry == get(&raw const (*walk).mnt_root) {
        // At the root of this mount: continue from where it is mounted.
        let mount = vfsmnt - o.mount_mnt;
        let parent = read_u64(mount + o.mount_parent);
        if parent == mount || parent == 0 {
            put(&raw mut (*walk).done, 1);
            return;
        }
        let parent_mnt = parent + o.mount_mnt;
        put(
            &raw mut (*walk).dentry,
            read_u64(mount + o.mount_mountpoint),
        );
        put(&raw mut (*walk).vfsmnt, parent_mnt);
        put(
            &raw mut (*walk).mnt_root,
            read_u64(parent_mnt + o.vfsmount_root),
        );
        return;
    }
    let (parent, len, name) = dentry_head(dentry);
    if parent == dentry {
        put(&raw mut (*walk).done, 1);
        return;
    }
    let len = len & NAME_MAX;
    let pos = get(&raw const (*walk).pos) & (PATH_BUF as u64 - 1);
    if pos + len + 1 >= PATH_BUF as u64 {
        put(&raw mut (*walk).done, 2);
        return;
    }
    // pos < PATH_BUF and len <= 255, so the write stays inside `buf`.
    generated::bpf_probe_read_kernel(
        buf.as_mut_ptr().add(pos as usize).cast(),
        len as u32,
        name as *const _,
    );
    buf[((pos + len) as usize) & (PATH_BUF + NAME_BUF - 1)] = b'/';
    put(&raw mut (*walk).pos, pos + len + 1);
    put(&raw mut (*walk).dentry, parent);
}
