//! `cap_capable` (raw tracepoint): every capability check made by a task in the target, with its
//! verdict, executable, syscall in progress and kernel stack.
//!
//! The tracepoint has no audit flag, so the kernel stack is kept (once per distinct stack,
//! under a 64-bit hash of its frames) and userspace tells a `*_noaudit` probe from an
//! audited need by the functions on it.

use aya_ebpf::{
    bindings::{BPF_F_NO_PREALLOC, BPF_NOEXIST},
    helpers::{bpf_get_current_task, generated::bpf_get_stack},
    macros::{map, raw_tracepoint},
    maps::{HashMap, PerCpuArray},
    programs::RawTracePointContext,
    EbpfContext as _,
};
use recorder_common::{lost, CapCheckKey, CapStack, CAP_STACK_DEPTH, NO_CAP_STACK, NO_SYSCALL};

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

/// Kernel stacks of capability checks by the hash of their frames. Not the kernel's
/// stack-trace map: that one keeps a single stack per bucket and loses the second of two
/// distinct stacks that share one, and a lost stack leaves the check's audit unknown.
#[map]
static CAP_STACK_FRAMES: HashMap<u64, CapStack> =
    HashMap::with_max_entries(4096, BPF_F_NO_PREALLOC);

/// Where the current check's stack is read (too big for the 512-byte BPF stack).
#[map]
static CAP_STACK_SCRATCH: PerCpuArray<CapStack> = PerCpuArray::with_max_entries(1, 0);

/// `-EEXIST`: the stack is already stored.
const EEXIST: i32 = 17;

/// Counts per (executable, capability, verdict, stack, syscall).
#[map]
static CAP_CHECKS: HashMap<CapCheckKey, u64> = HashMap::with_max_entries(16384, BPF_F_NO_PREALLOC);

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
    let stack = read_stack(&ctx);
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
        stack: stack.map_or(NO_CAP_STACK, |(hash, _)| hash),
        syscall,
        _pad: 0,
    };
    match CAP_CHECKS.get_ptr_mut(&key) {
        // Shared between CPUs: an approximate count is fine, the presence is what matters.
        Some(count) => unsafe { *count += 1 },
        None => {
            if CAP_CHECKS.insert(&key, &1, 0).is_err() {
                count_lost(lost::CAP_CHECKS);
            }
            // A new key may carry a new stack; a known key's stack is stored already.
            if let Some((hash, frames)) = stack {
                // SAFETY: `frames` points into this CPU's scratch entry, valid for this run.
                match CAP_STACK_FRAMES.insert(&hash, unsafe { &*frames }, BPF_NOEXIST as u64) {
                    Ok(()) => {}
                    Err(e) if e == -EEXIST => {}
                    Err(_) => count_lost(lost::CAP_STACKS),
                }
            }
        }
    }
    0
}

/// Reads the current kernel stack into this CPU's scratch entry and returns its hash (never
/// `NO_CAP_STACK`) with a pointer to the frames; `None`, counted as lost, when unreadable.
fn read_stack(ctx: &RawTracePointContext) -> Option<(u64, *const CapStack)> {
    let Some(scratch) = CAP_STACK_SCRATCH.get_ptr_mut(0) else {
        count_lost(lost::CAP_STACKS);
        return None;
    };
    // SAFETY: the scratch entry is this CPU's own and nothing else runs on it meanwhile.
    let scratch = unsafe { &mut *scratch };
    // The first frame is this program itself, whose address changes with every load: skip
    // it, so that a check has the same stack (and hash) in every run of this boot.
    const SKIP_OUR_OWN_FRAME: u64 = 1;
    // SAFETY: the buffer is a map value of exactly the size passed.
    let bytes = unsafe {
        bpf_get_stack(
            ctx.as_ptr(),
            scratch.ips.as_mut_ptr().cast(),
            core::mem::size_of_val(&scratch.ips) as u32,
            SKIP_OUR_OWN_FRAME,
        )
    };
    if bytes <= 0 {
        count_lost(lost::CAP_STACKS);
        return None;
    }
    let depth = bytes as u64 / 8;
    scratch.depth = depth;
    let mut hash = depth.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    for i in 0..CAP_STACK_DEPTH {
        if i as u64 >= depth {
            break;
        }
        hash = mix(hash ^ scratch.ips[i]);
    }
    Some((if hash == NO_CAP_STACK { 1 } else { hash }, scratch))
}

/// One round of a 64-bit finaliser (multiply, fold the high half down): every input bit
/// reaches every output bit, so structured frame addresses do not collide.
#[inline(always)]
fn mix(x: u64) -> u64 {
    let x = (x ^ (x >> 33)).wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^ (x >> 33)
}
