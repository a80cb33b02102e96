//! `cap_capable` (raw tracepoint): every capability check made by a task in the target, with its
//! verdict, executable, syscall in progress and kernel stack.
//!
//! The tracepoint has no audit flag, so the kernel stack is kept (deduplicated by the stack
//! map) and userspace tells a `*_noaudit` probe from an audited need by the functions on it.

use aya_ebpf::{
    helpers::bpf_get_current_task,
    macros::{map, raw_tracepoint},
    maps::{HashMap, StackTrace},
    programs::{tracing::StackIdContext as _, RawTracePointContext},
};
use recorder_common::{lost, CapCheckKey, NO_SYSCALL};

use crate::{
    syscalls::LAST_SYSCALL,
    target::{count_lost, current_task_is_target},
    task::current_exe_inode,
};

/// The tracepoint's arguments are `(cred, target_ns, capable_ns, cap, ret)`; userspace checks
/// that against the `format` file and sets this when the last two come the other way round.
/// (A constant argument index is all the verifier accepts for context reads.)
#[unsafe(no_mangle)]
static CAP_RET_SWAPPED: u64 = 0;

/// Kernel stacks of capability checks; identical stacks share one id. Two different stacks
/// that hash to one bucket cannot both be kept (the second check's stack is lost, counted,
/// and its audit reads as unknown): many buckets keep that rare.
#[map]
static CAP_STACKS: StackTrace = StackTrace::with_max_entries(16384, 0);

/// Counts per (executable, capability, verdict, stack, syscall).
#[map]
static CAP_CHECKS: HashMap<CapCheckKey, u64> = HashMap::with_max_entries(16384, 0);

#[raw_tracepoint(tracepoint = "cap_capable")]
pub fn cap_capable(ctx: RawTracePointContext) -> i32 {
    if !current_task_is_target() {
        return 0;
    }
    // Raw tracepoint arguments are u64 slots; the two ints are in their low halves.
    let (fourth, fifth) = (ctx.arg::<u64>(3) as i32, ctx.arg::<u64>(4) as i32);
    // SAFETY: reading our own global.
    let swapped = unsafe { core::ptr::read_volatile(&CAP_RET_SWAPPED) } != 0;
    let (cap, ret) = if swapped {
        (fifth, fourth)
    } else {
        (fourth, fifth)
    };
    let stack_id = match ctx.get_stackid(&CAP_STACKS, 0) {
        Ok(id) => id as i32,
        Err(_) => {
            count_lost(lost::CAP_STACKS);
            -1
        }
    };
    // SAFETY: bpf_get_current_task only returns the current task pointer.
    let task = unsafe { bpf_get_current_task() };
    let syscall = match LAST_SYSCALL.get(0) {
        Some(last) if last.task == task => last.index,
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
