//! `capability:cap_capable`: every capability check made by a task in the target, with its
//! verdict, executable, syscall in progress and kernel stack.
//!
//! The tracepoint has no audit flag, so the kernel stack is kept (deduplicated by the stack
//! map) and userspace tells a `*_noaudit` probe from an audited need by the functions on it.

use aya_ebpf::{
    helpers::bpf_get_current_pid_tgid,
    macros::{map, tracepoint},
    maps::{HashMap, StackTrace},
    programs::{tracing::StackIdContext as _, TracePointContext},
};
use recorder_common::{lost, CapCheckKey, NO_SYSCALL};

use crate::{
    syscalls::CURRENT_SYSCALL,
    target::{count_lost, current_task_is_target},
    task::current_exe_inode,
};

/// Offsets of `cap` and `ret` in the tracepoint record, from its `format` file.
#[unsafe(no_mangle)]
static CAP_FIELD_OFFSET: u64 = 32;
#[unsafe(no_mangle)]
static RET_FIELD_OFFSET: u64 = 36;

/// Kernel stacks of capability checks; identical stacks share one id.
#[map]
static CAP_STACKS: StackTrace = StackTrace::with_max_entries(4096, 0);

/// Counts per (executable, capability, verdict, stack, syscall).
#[map]
static CAP_CHECKS: HashMap<CapCheckKey, u64> = HashMap::with_max_entries(16384, 0);

#[tracepoint(category = "capability", name = "cap_capable")]
pub fn cap_capable(ctx: TracePointContext) -> u32 {
    if !current_task_is_target() {
        return 0;
    }
    // SAFETY: offsets inside the tracepoint record, read through the checked helper.
    let (cap, ret) = unsafe {
        let cap_at = core::ptr::read_volatile(&CAP_FIELD_OFFSET) as usize;
        let ret_at = core::ptr::read_volatile(&RET_FIELD_OFFSET) as usize;
        (
            ctx.read_at::<i32>(cap_at).unwrap_or(-1),
            ctx.read_at::<i32>(ret_at).unwrap_or(0),
        )
    };
    let stack_id = match ctx.get_stackid(&CAP_STACKS, 0) {
        Ok(id) => id as i32,
        Err(_) => {
            count_lost(lost::CAP_STACKS);
            -1
        }
    };
    let tid = bpf_get_current_pid_tgid() as u32;
    let syscall = match CURRENT_SYSCALL.get(0) {
        Some(current) if current.tid == tid => current.index,
        _ => NO_SYSCALL,
    };
    let key = CapCheckKey {
        exe_inode: current_exe_inode(),
        cap: cap as u32,
        ret,
        stack_id,
        syscall,
    };
    match CAP_CHECKS.get_ptr_mut(&key) {
        // Shared between CPUs: an approximate count is fine, the presence is what matters.
        Some(count) => unsafe { *count += 1 },
        None => {
            if CAP_CHECKS.insert(&key, &1, 0).is_err() {
                count_lost(lost::CAP_CHECKS);
            }
        }
    }
    0
}
