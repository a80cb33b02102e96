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
//! The tracepoint fires after the move, once per hierarchy the task moved in. A task that
//! moves itself out on the unified hierarchy alone is no longer in the target when it fires,
//! and is seen by the file events (its write to `cgroup.procs`) instead.
//!
//! A hook family: may import `maps`, never another family.

use aya_ebpf::{
    bindings::BPF_RB_FORCE_WAKEUP,
    helpers::{
        bpf_get_current_pid_tgid, bpf_probe_read_kernel, bpf_probe_read_kernel_str_bytes,
        bpf_send_signal,
    },
    macros::raw_tracepoint,
    programs::RawTracePointContext,
};
use recorder_common::{lost, MoveEvent, EVENT_MOVE, MOVE_PATH_MAX};

use crate::maps::{count_lost, current_task_is_target, EVENTS};

/// Offset of `tgid` in `struct task_struct`, from BTF.
#[unsafe(no_mangle)]
static TASK_TGID_OFFSET: u64 = 0;

/// Non-zero when userspace follows moves: the mover is then stopped until it says so.
#[unsafe(no_mangle)]
static FOLLOW_MOVES: u64 = 0;

const SIGSTOP: u32 = 19;

#[raw_tracepoint(tracepoint = "cgroup_attach_task")]
pub fn cgroup_moves(ctx: RawTracePointContext) -> i32 {
    if !current_task_is_target() {
        return 0;
    }
    let Some(mut entry) = EVENTS.reserve::<MoveEvent>(0) else {
        count_lost(lost::MOVE_EVENTS);
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
