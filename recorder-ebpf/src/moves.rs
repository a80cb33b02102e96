//! `cgroup_attach_task` (raw tracepoint): reports each move of a task into a cgroup made by a
//! task in the target, and stops the mover until userspace has acted on it.
//!
//! A container runtime started by the recorded command (runc under Podman's conmon) moves the
//! container's first process into the container's own cgroup before that process runs the
//! entrypoint. Stopping the runtime there lets userspace start recording the new cgroup
//! before anything in it executes, so no syscall of the entrypoint is missed; userspace sends
//! SIGCONT once it has. A move that is not followed is reported all the same, so nothing
//! leaves a recording silently.
//!
//! A container started outside the recording (Docker's daemon runs its runtime) is reported
//! the same way once userspace expects it: its id is in `EXPECTED_CONTAINERS` before the
//! daemon is asked to start it, and a move into a cgroup named after that id (`/docker/<id>`,
//! `docker-<id>.scope`) stops whoever makes it, as above.
//!
//! The tracepoint fires after the move, once per hierarchy the task moved in; only moves on
//! the unified hierarchy, the one the recording targets, are reported. A process that
//! moves itself out is no longer in the target then, so the processes of the recording are
//! remembered (`RECORDED_TASKS`, filled at fork) and a move of one of them is reported too;
//! it is not stopped (nothing waits on it).
//!
//! A hook family: may import `maps` and `task`, never another family.

use aya_ebpf::{
    bindings::{BPF_F_NO_PREALLOC, BPF_RB_FORCE_WAKEUP},
    helpers::{
        bpf_get_current_pid_tgid, bpf_probe_read_kernel, bpf_probe_read_kernel_str_bytes,
        bpf_send_signal,
    },
    macros::{map, raw_tracepoint},
    maps::{HashMap, LruHashMap},
    programs::RawTracePointContext,
};
use recorder_common::{
    lost, move_flags, MoveEvent, CONTAINER_ID_LEN, EVENT_MOVE, EXPECTED_CONTAINERS_MAX,
    MOVE_PATH_MAX, RECORDED_TASKS_MAX,
};

use crate::{
    maps::{count_lost, current_task_is_target, EVENTS},
    task::exe_inode_of,
};

/// Offset of `tgid` in `struct task_struct`, from BTF.
#[unsafe(no_mangle)]
static TASK_TGID_OFFSET: u64 = 0;

/// Offsets of `root` in `struct cgroup` and of `hierarchy_id` in `struct cgroup_root`,
/// from BTF.
#[unsafe(no_mangle)]
static CGROUP_ROOT_OFFSET: u64 = 0;
#[unsafe(no_mangle)]
static ROOT_HIERARCHY_ID_OFFSET: u64 = 0;

/// Non-zero when userspace follows moves: the mover is then stopped until it says so.
#[unsafe(no_mangle)]
static FOLLOW_MOVES: u64 = 0;

const SIGSTOP: u32 = 19;

/// Ids of containers this recording's command asked an engine to start, written by userspace
/// (the engine's own processes are not in the recording).
#[map]
static EXPECTED_CONTAINERS: HashMap<[u8; CONTAINER_ID_LEN], u8> =
    HashMap::with_max_entries(EXPECTED_CONTAINERS_MAX, BPF_F_NO_PREALLOC);

/// Processes of the recording (thread group ids), so that one that moves itself out is
/// known for ours when the move is reported (it is already outside then): every process the
/// target forks, and the command's own, written by userspace. Least recently used first out,
/// which only matters past `RECORDED_TASKS_MAX` live processes.
#[map]
static RECORDED_TASKS: LruHashMap<u32, u8> = LruHashMap::with_max_entries(RECORDED_TASKS_MAX, 0);

/// Notes each process the target forks (see `RECORDED_TASKS`).
#[raw_tracepoint(tracepoint = "sched_process_fork")]
pub fn note_forks(ctx: RawTracePointContext) -> i32 {
    if !current_task_is_target() {
        return 0;
    }
    // Arguments: (struct task_struct *parent, struct task_struct *child).
    if let Some(tgid) = tgid_of(ctx.arg(1)) {
        let _ = RECORDED_TASKS.insert(&tgid, &1, 0);
    }
    0
}

/// The thread group id of the task at `task`.
#[inline(always)]
fn tgid_of(task: u64) -> Option<u32> {
    // SAFETY: reading our own global; bpf_probe_read_kernel validates the kernel address.
    let offset = unsafe { core::ptr::read_volatile(&TASK_TGID_OFFSET) };
    unsafe { bpf_probe_read_kernel((task + offset) as *const i32) }
        .ok()
        .map(|tgid| tgid as u32)
}

/// Whether the cgroup at `cgroup` is on the unified hierarchy (hierarchy id 0), the one the
/// recording targets: a move on a v1 hierarchy leaves the task where it is for us.
#[inline(always)]
fn on_unified_hierarchy(cgroup: u64) -> bool {
    // SAFETY: reading our own globals; bpf_probe_read_kernel validates the kernel addresses.
    unsafe {
        let root_offset = core::ptr::read_volatile(&CGROUP_ROOT_OFFSET);
        let id_offset = core::ptr::read_volatile(&ROOT_HIERARCHY_ID_OFFSET);
        let Ok(root) = bpf_probe_read_kernel((cgroup + root_offset) as *const u64) else {
            return false;
        };
        matches!(
            bpf_probe_read_kernel((root + id_offset) as *const i32),
            Ok(0)
        )
    }
}

#[raw_tracepoint(tracepoint = "cgroup_attach_task")]
pub fn cgroup_moves(ctx: RawTracePointContext) -> i32 {
    // Arguments: (struct cgroup *dst, const char *path, struct task_struct *task, bool).
    if !on_unified_hierarchy(ctx.arg(0)) {
        return 0;
    }
    let moved = tgid_of(ctx.arg(2)).unwrap_or(0);
    let mover = (bpf_get_current_pid_tgid() >> 32) as u32;
    // SAFETY: a lookup of a key on the stack.
    let ours = current_task_is_target() || unsafe { RECORDED_TASKS.get(&moved) }.is_some();
    let Some(mut entry) = EVENTS.reserve::<MoveEvent>(0) else {
        if ours {
            count_lost(lost::MOVE_EVENTS);
        }
        return 0;
    };
    // Only a task moving another is stopped: the moved one cannot run on before the mover
    // lets it (a container's first process waits for its runtime). One moving itself out is
    // only reported.
    // SAFETY: reading a global userspace set before load.
    let stop = mover != moved && unsafe { core::ptr::read_volatile(&FOLLOW_MOVES) } != 0;
    let event = entry.as_mut_ptr();
    // SAFETY: `event` points to reserved ring buffer memory of the right size; every field is
    // written before submit.
    unsafe {
        (*event).kind = EVENT_MOVE;
        (*event).mover_tgid = mover;
        (*event).moved_tgid = moved;
        (*event).moved_exe_inode = exe_inode_of(ctx.arg(2));
        (*event).flags = if stop { move_flags::STOPPED } else { 0 };
        (*event).path_len = 0;
        (*event)._pad = 0;
        let path: u64 = ctx.arg(1);
        if let Ok(bytes) = bpf_probe_read_kernel_str_bytes(path as *const u8, &mut (*event).path) {
            (*event).path_len = bytes.len().min(MOVE_PATH_MAX) as u32;
        }
        if !ours && !is_expected(&(*event).path, (*event).path_len as usize) {
            entry.discard(0);
            return 0;
        }
    }
    // Userspace is waiting on this one: wake it now, whatever else is queued.
    entry.submit(u64::from(BPF_RB_FORCE_WAKEUP));
    if stop {
        // SAFETY: a helper call with a signal number; it signals the current task only.
        unsafe { bpf_send_signal(SIGSTOP) };
    }
    0
}

/// Whether `path` (its first `len` bytes) names the cgroup of an expected container: it ends
/// in the container's id, or in the id and `.scope`. Byte by byte, with no slice compare or
/// zeroed array (LLVM makes those `memcmp` and `memset` calls, byte loops on BPF), and every
/// index masked to the buffer (a power of two), so the verifier sees each read in bounds
/// whatever the compiler makes of the arithmetic.
#[inline(always)]
fn is_expected(path: &[u8; MOVE_PATH_MAX], len: usize) -> bool {
    const SCOPE: &[u8; 6] = b".scope";
    const MASK: usize = MOVE_PATH_MAX - 1;
    if len > MOVE_PATH_MAX {
        return false;
    }
    let mut scoped = len > SCOPE.len();
    for (i, expected) in SCOPE.iter().enumerate() {
        let at = len.wrapping_sub(SCOPE.len()).wrapping_add(i);
        if scoped && path[at & MASK] != *expected {
            scoped = false;
        }
    }
    let end = if scoped { len - SCOPE.len() } else { len };
    if end < CONTAINER_ID_LEN {
        return false;
    }
    let start = end - CONTAINER_ID_LEN;
    let mut id = core::mem::MaybeUninit::<[u8; CONTAINER_ID_LEN]>::uninit();
    let bytes = id.as_mut_ptr().cast::<u8>();
    for i in 0..CONTAINER_ID_LEN {
        // SAFETY: `i` is within the array; every byte is written before the array is read.
        unsafe { bytes.add(i).write(path[(start + i) & MASK]) };
    }
    // SAFETY: all CONTAINER_ID_LEN bytes were written above.
    let id = unsafe { id.assume_init() };
    // SAFETY: a lookup with a key on the stack.
    unsafe { EXPECTED_CONTAINERS.get(&id) }.is_some()
}
