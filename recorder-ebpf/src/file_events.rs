//! Reporting file accesses to userspace, for every hook family that finds one (`files` at
//! `sys_exit`, `exec` at `sched_process_exec`):
//! - a file's path, walked dentry by dentry up to the task's root, crossing mounts
//!   (`walk_path`), at offsets userspace resolved from BTF (`FILE_OFFSETS`);
//! - accesses through open files, deduplicated in the kernel by (dentry, mount, access,
//!   executable) (`file_access`);
//! - the `FileEvent` built in per-CPU scratch memory and sent through `EVENTS`
//!   (`start_event`, `send`); what does not fit is counted in `LOST`.
//!
//! May import `maps` and `common`, besides `aya_ebpf` and `recorder_common`; never a hook
//! family.

use aya_ebpf::{
    bindings::BPF_F_NO_PREALLOC,
    helpers::{bpf_get_current_task, bpf_probe_read_kernel, generated},
    macros::map,
    maps::{HashMap, PerCpuArray},
};
use recorder_common::{
    file_flags, lost, FileEvent, FileOffsets, SeenFileKey, EVENT_FILE, NAME_BUF, PATH_BUF,
};

use crate::maps::{count_lost, wakeup_flags, EVENTS};

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
    file_private_data: 0,
    socket_type: 0,
    fs_root: 0,
    fs_pwd: 0,
};

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
const S_IFMT: u16 = 0o170000;
const S_IFIFO: u16 = 0o010000;
const S_IFSOCK: u16 = 0o140000;
const S_IFDIR: u16 = 0o040000;

#[inline(always)]
pub(crate) fn offsets() -> &'static FileOffsets {
    // SAFETY: a global written once by userspace before load; read through a volatile
    // pointer so the compiler does not fold the zero initialiser.
    unsafe { &*core::ptr::read_volatile(&(&raw const FILE_OFFSETS)) }
}

#[inline(always)]
pub(crate) fn read_u64(addr: u64) -> u64 {
    if addr == 0 {
        return 0;
    }
    // SAFETY: bpf_probe_read_kernel checks the address.
    unsafe { bpf_probe_read_kernel(addr as *const u64) }.unwrap_or(0)
}

#[inline(always)]
pub(crate) fn read_u32(addr: u64) -> u32 {
    if addr == 0 {
        return 0;
    }
    // SAFETY: as above.
    unsafe { bpf_probe_read_kernel(addr as *const u32) }.unwrap_or(0)
}

/// Reports an access through an open file once per (file, access, executable).
///
/// A global BPF function (exported, returning a scalar): the verifier checks it once, on its
/// own, instead of once per path through its callers that reaches it.
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

/// The scratch event, with its header reset.
#[inline(always)]
pub(crate) fn start_event(bits: u32, exe_inode: u64) -> Option<*mut FileEvent> {
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
pub(crate) fn send(event: &FileEvent) {
    let used = if event.flags & file_flags::HAS_NAME != 0 {
        PATH_BUF + (event.name_len as usize & (NAME_BUF - 1))
    } else {
        event.path_len as usize & (PATH_BUF - 1)
    };
    let size = HEADER + used;
    // SAFETY: `size` is at most the size of FileEvent (masked above).
    let bytes =
        unsafe { core::slice::from_raw_parts((event as *const FileEvent).cast::<u8>(), size) };
    if EVENTS.output::<[u8]>(bytes, wakeup_flags()).is_err() {
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
pub(crate) fn walked(result: u64) -> (u32, bool) {
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
pub(crate) fn read_path(addr: u64) -> (u64, u64) {
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
