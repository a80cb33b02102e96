//! `raw_syscalls:sys_exit`: file, exec and socket access by the target's syscalls,
//! resolved from the kernel's own objects.
//!
//! `sys_enter` notes a file-related syscall's arguments (`syscalls::file_calls`, into
//! `maps::PENDING`); the raw `sys_exit` program completes it once the kernel has done the
//! work, and only when it succeeded:
//! - calls that yield or use an open file (open*, mmap, flock, fcntl locks, fchmod/fchown)
//!   resolve the `struct file` behind the fd: its path is walked dentry by dentry up to the
//!   task's root, crossing mounts, so relative names, dirfds, symlinks, `..` and bind mounts
//!   come out as the path the kernel used;
//! - name-based calls (unlink, mkdir, rename, ...) resolve their base directory (dirfd or
//!   cwd) the same way and carry the name as given; userspace joins the two.
//! Accesses through open files are deduplicated in the kernel by (dentry, mount, access,
//! executable) (`file_events`); what does not fit in the ring buffer is counted in `LOST`.
//!
//! A hook family: may import `maps`, `file_events`, `common` and `task`, never another
//! family.

use aya_ebpf::{
    bindings::BPF_F_NO_PREALLOC,
    helpers::{
        bpf_get_current_pid_tgid, bpf_get_current_task, bpf_probe_read_kernel, bpf_probe_read_user,
        bpf_probe_read_user_str_bytes,
    },
    macros::{map, raw_tracepoint},
    maps::HashMap,
    programs::RawTracePointContext,
};
use recorder_common::{
    access, file_flags, file_op, lost, port_op, PendingCall, PortEvent, SocketEvent, EVENT_PORT,
    EVENT_SOCKET, NAME_BUF, PATH_BUF,
};

use crate::{
    file_events::{
        file_access, offsets, read_path, read_u32, read_u64, send, start_event, walk_path, walked,
    },
    maps::{
        calls_pending, count_lost, count_pending, current_task_is_target, wakeup_flags, EVENTS,
        PENDING,
    },
};

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
    // A non-blocking connect has chosen its port when it says EINPROGRESS.
    const EINPROGRESS: i64 = 115;
    if ret < 0
        && !(call.op == u64::from(file_op::MMAP) && ret < -4095)
        && !(call.op == u64::from(file_op::CONNECT) && ret == -EINPROGRESS)
    {
        return 0;
    }
    complete(&call, ret);
    0
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
            // SYS_SOCKET, SYS_BIND, SYS_CONNECT: three ints (fd, address, length for the
            // latter two) in user memory.
            if matches!(a[0], 1..=3) {
                // SAFETY: bpf_probe_read_user checks the user address.
                if let Ok(args) = unsafe { bpf_probe_read_user(a[1] as *const [u32; 3]) } {
                    match a[0] {
                        1 => socket(args[0], args[1], args[2], exe),
                        2 => {
                            port(
                                i64::from(args[0] as i32),
                                u64::from(args[1]),
                                port_op::BIND,
                                exe,
                            );
                        }
                        _ => {
                            port(
                                i64::from(args[0] as i32),
                                u64::from(args[1]),
                                port_op::CONNECT,
                                exe,
                            );
                        }
                    }
                }
            }
        }
        file_op::BIND => {
            port(fd_arg, a[1], port_op::BIND, exe);
        }
        file_op::CONNECT => {
            port(fd_arg, a[1], port_op::CONNECT, exe);
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
        .output::<SocketEvent>(&event, wakeup_flags())
        .is_err()
    {
        count_lost(lost::FILE_EVENTS);
    }
}

/// A port bound or connected to, once per key: `SEEN_PORTS` holds what was sent. Small: a
/// workload uses few ports; once full, new ones are counted (`lost::PORTS`), never dropped
/// silently.
#[map]
static SEEN_PORTS: HashMap<SeenPortKey, u8> = HashMap::with_max_entries(4096, BPF_F_NO_PREALLOC);

/// What makes a port event new. u32 fields: no padding.
#[repr(C)]
#[derive(Clone, Copy)]
struct SeenPortKey {
    exe_inode: u64,
    op: u32,
    family: u32,
    sock_type: u32,
    port: u32,
    loopback: u32,
    _pad: u32,
}

const AF_INET: u16 = 2;
const AF_INET6: u16 = 10;

/// An inet `bind` or `connect` on `fd` to the `sockaddr` at `addr` (user memory). Other
/// families (unix, netlink, ...) are not ports and are left out.
///
/// A global BPF function, checked once by the verifier (see `fd_access`).
#[inline(never)]
#[unsafe(no_mangle)]
pub extern "C" fn port(fd: i64, addr: u64, op: u32, exe_inode: u64) -> i64 {
    // sockaddr_in6: family (2), port (2, big endian), flowinfo (4), address (16). A
    // sockaddr_in is shorter (family, port, address (4), zero padding to 16): reading 24
    // bytes of one may fail at the end of a page, so it is read as 8 first.
    // SAFETY: bpf_probe_read_user checks the user address.
    let Ok(head) = (unsafe { bpf_probe_read_user(addr as *const [u8; 8]) }) else {
        return 0;
    };
    let family = u16::from_ne_bytes([head[0], head[1]]);
    let port = u32::from(u16::from_be_bytes([head[2], head[3]]));
    let loopback = match family {
        AF_INET => head[4] == 127,
        AF_INET6 => {
            // SAFETY: as above.
            match unsafe { bpf_probe_read_user((addr + 8) as *const [u8; 16]) } {
                Ok(a) => {
                    let zeros = |n: usize| a[..n].iter().all(|&b| b == 0);
                    (zeros(15) && a[15] == 1)
                        || (zeros(10) && a[10] == 0xff && a[11] == 0xff && a[12] == 127)
                }
                Err(_) => false,
            }
        }
        _ => return 0,
    };
    let o = crate::file_events::offsets();
    let file = file_of_fd(fd);
    let socket = if file == 0 {
        0
    } else {
        read_u64(file + o.file_private_data)
    };
    let sock_type = if socket == 0 {
        0
    } else {
        // SAFETY: bpf_probe_read_kernel checks the address.
        u32::from(
            unsafe { bpf_probe_read_kernel((socket + o.socket_type) as *const u16) }.unwrap_or(0),
        )
    };
    let key = SeenPortKey {
        exe_inode,
        op,
        family: u32::from(family),
        sock_type,
        port,
        loopback: u32::from(loopback),
        _pad: 0,
    };
    // SAFETY: only tests presence.
    if unsafe { SEEN_PORTS.get(&key) }.is_some() {
        return 0;
    }
    if SEEN_PORTS.insert(&key, &1, 0).is_err() {
        count_lost(lost::PORTS);
        return 0;
    }
    let event = PortEvent {
        kind: EVENT_PORT,
        op,
        family: u32::from(family),
        sock_type,
        port,
        loopback: u32::from(loopback),
        exe_inode,
    };
    if EVENTS.output::<PortEvent>(&event, wakeup_flags()).is_err() {
        count_lost(lost::PORTS);
    }
    0
}
