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
//! The tracepoint fires after the move, once per hierarchy the task moved in. A task that
//! moves itself out on the unified hierarchy alone is no longer in the target when it fires,
//! and is seen by the file events (its write to `cgroup.procs`) instead.
//!
//! A hook family: may import `maps`, never another family.

use aya_ebpf::{
    bindings::{BPF_F_NO_PREALLOC, BPF_RB_FORCE_WAKEUP},
    helpers::{
        bpf_get_current_pid_tgid, bpf_probe_read_kernel, bpf_probe_read_kernel_str_bytes,
        bpf_send_signal,
    },
    macros::{map, raw_tracepoint},
    maps::HashMap,
    programs::RawTracePointContext,
};
use recorder_common::{
    lost, MoveEvent, CONTAINER_ID_LEN, EVENT_MOVE, EXPECTED_CONTAINERS_MAX, MOVE_PATH_MAX,
};

use crate::maps::{count_lost, current_task_is_target, EVENTS};

/// Offset of `tgid` in `struct task_struct`, from BTF.
#[unsafe(no_mangle)]
static TASK_TGID_OFFSET: u64 = 0;

/// Non-zero when userspace follows moves: the mover is then stopped until it says so.
#[unsafe(no_mangle)]
static FOLLOW_MOVES: u64 = 0;

const SIGSTOP: u32 = 19;

/// Ids of containers this recording's command asked an engine to start, written by userspace
/// (the engine's own processes are not in the recording).
#[map]
static EXPECTED_CONTAINERS: HashMap<[u8; CONTAINER_ID_LEN], u8> =
    HashMap::with_max_entries(EXPECTED_CONTAINERS_MAX, BPF_F_NO_PREALLOC);

#[raw_tracepoint(tracepoint = "cgroup_attach_task")]
pub fn cgroup_moves(ctx: RawTracePointContext) -> i32 {
    let by_target = current_task_is_target();
    let Some(mut entry) = EVENTS.reserve::<MoveEvent>(0) else {
        if by_target {
            count_lost(lost::MOVE_EVENTS);
        }
        return 0;
    };
    let event = entry.as_mut_ptr();
    // SAFETY: `event` points to reserved ring buffer memory of the right size; every field is
    // written before submit.
    unsafe {
        (*event).kind = EVENT_MOVE;
        (*event).mover_tgid = (bpf_get_current_pid_tgid() >> 32) as u32;
        (*event).moved_tgid = 0;
        (*event).path_len = 0;
        // Arguments: (struct cgroup *dst, const char *path, struct task_struct *task, bool).
        let task: u64 = ctx.arg(2);
        let offset = core::ptr::read_volatile(&TASK_TGID_OFFSET);
        if let Ok(tgid) = bpf_probe_read_kernel((task + offset) as *const i32) {
            (*event).moved_tgid = tgid as u32;
        }
        let path: u64 = ctx.arg(1);
        if let Ok(bytes) = bpf_probe_read_kernel_str_bytes(path as *const u8, &mut (*event).path) {
            (*event).path_len = bytes.len().min(MOVE_PATH_MAX) as u32;
        }
        if !by_target && !is_expected(&(*event).path, (*event).path_len as usize) {
            entry.discard(0);
            return 0;
        }
    }
    // Userspace is waiting on this one: wake it now, whatever else is queued.
    entry.submit(u64::from(BPF_RB_FORCE_WAKEUP));
    // SAFETY: reading a global userspace set before load.
    if unsafe { core::ptr::read_volatile(&FOLLOW_MOVES) } != 0 {
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
