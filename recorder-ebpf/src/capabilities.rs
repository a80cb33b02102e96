//! `cap_capable` (raw tracepoint): every capability check made by a task in the target, with its
//! verdict, executable, syscall in progress and kernel stack.
//!
//! The tracepoint has no audit flag, so the kernel stack is kept (once per distinct stack,
//! under a 64-bit hash of its frames) and userspace tells a `*_noaudit` probe from an
//! audited need by the functions on it. Walking a stack costs microseconds, so a check whose
//! direct caller decides it alone (the memory accounting's probe on every mmap and brk) keeps
//! only the frames that say so, read straight off the kernel stack (`probing_caller_stack`).
//!
//! A hook family: may import `maps` and `task`, never another family.

use aya_ebpf::{
    bindings::{BPF_F_NO_PREALLOC, BPF_NOEXIST},
    helpers::{
        bpf_get_current_task, bpf_probe_read_kernel, bpf_probe_read_kernel_buf,
        generated::{bpf_get_stack, bpf_loop},
    },
    macros::{map, raw_tracepoint},
    maps::{HashMap, PerCpuArray},
    programs::RawTracePointContext,
    EbpfContext as _,
};
use recorder_common::{
    lost, CapCheckKey, CapStack, CAP_STACK_DEPTH, DECIDED_STACK_DEPTH, DECIDING_RETURNS_MAX,
    NO_CAP_STACK, NO_SYSCALL,
};

use crate::{
    maps::{count_lost, current_task_is_target, LAST_SYSCALL},
    task::current_exe_inode,
};

/// The tracepoint's arguments are `(cred, target_ns, capable_ns, cap, ret)`; userspace checks
/// that against the `format` file and sets this when the last two come the other way round.
/// (A constant argument index is all the verifier accepts for context reads.)
#[unsafe(no_mangle)]
static CAP_RET_SWAPPED: u64 = 0;

/// Set by userspace when it gave `PROBING_CALLERS` any return address: without one, neither
/// the shortcut (`probing_caller_stack`) nor learning where to read it can help, and every
/// check only walks its stack.
#[unsafe(no_mangle)]
static CAP_SHORTCUT: u64 = 0;

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
    // SAFETY: reading our own global.
    let shortcut = unsafe { core::ptr::read_volatile(&CAP_SHORTCUT) } != 0;
    let stack = match shortcut.then(|| probing_caller_stack(&ctx)).flatten() {
        Some(stack) => Some(stack),
        None => {
            let stack = read_stack(&ctx);
            if let (true, Some((_, frames))) = (shortcut, stack) {
                // SAFETY: `frames` points into this CPU's scratch entry, valid for this run.
                learn_caller_slot(&ctx, unsafe { &*frames });
            }
            stack
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
    scratch.depth = bytes as u64 / 8;
    Some((stack_hash(scratch), scratch))
}

/// The key a stack is stored under: a 64-bit hash of its frames, never `NO_CAP_STACK`.
#[inline(always)]
fn stack_hash(stack: &CapStack) -> u64 {
    let mut hash = stack.depth.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    for i in 0..CAP_STACK_DEPTH {
        if i as u64 >= stack.depth {
            break;
        }
        hash = mix(hash ^ stack.ips[i]);
    }
    if hash == NO_CAP_STACK {
        1
    } else {
        hash
    }
}

/// Return addresses into functions that only probe (`security_vm_enough_memory_mm`, which
/// asks for CAP_SYS_ADMIN with CAP_OPT_NOAUDIT on every mmap and brk) when they are the
/// direct caller of `cap_capable`. Such a check is a probe, and that function is the code
/// that asked, whatever is deeper on the stack: its first three frames decide it. Filled by
/// userspace from the kernel symbols of earlier recordings in this boot.
#[map]
static PROBING_CALLERS: HashMap<u64, u8> = HashMap::with_max_entries(DECIDING_RETURNS_MAX, 0);

/// Where, on this CPU, the raw words of a check's stack were found relative to the
/// tracepoint's argument array (which lives in the frame of `bpf_trace_runN`, on the kernel
/// stack): the return address into `cap_capable` and the one into its caller. The frames in
/// between have the same size on every call, so the offsets are fixed for a kernel; they are
/// learned from full stacks and checked against every full stack read afterwards.
#[derive(Clone, Copy)]
struct CallerSlot {
    /// Offsets in bytes from the argument array.
    check_offset: u64,
    caller_offset: u64,
    /// The first two frames of every check's stack: the return into the tracepoint's
    /// runner and into `cap_capable`.
    trace_return: u64,
    check_return: u64,
    /// Full stacks that agreed with the offsets; the offsets are used from `TRUSTED` on.
    agreed: u64,
    /// Set for good when a full stack disagreed: the layout is not what this assumes.
    broken: u64,
}

/// Full stacks that must agree with the learned offsets before they are used.
const TRUSTED: u64 = 4;

#[map]
static CALLER_SLOT: PerCpuArray<CallerSlot> = PerCpuArray::with_max_entries(1, 0);

/// Words of the kernel stack above the argument array searched for the two return addresses.
const SLOT_WORDS: usize = 32;

#[map]
static CALLER_WINDOW: PerCpuArray<[u64; SLOT_WORDS]> = PerCpuArray::with_max_entries(1, 0);

/// The address of the tracepoint's argument array, as a number (a pointer copied through a
/// helper is a plain value to the verifier).
#[inline(always)]
fn arguments_address(ctx: &RawTracePointContext) -> Option<u64> {
    let pointer = ctx.as_ptr() as u64;
    // SAFETY: reads the 8 bytes of our own local.
    unsafe { bpf_probe_read_kernel(&pointer as *const u64) }.ok()
}

/// The check's stack, without unwinding, when its caller is a known probing one and the
/// learned offsets are trusted: the three frames that decide it, in this CPU's scratch entry.
fn probing_caller_stack(ctx: &RawTracePointContext) -> Option<(u64, *const CapStack)> {
    let slot = CALLER_SLOT.get(0)?;
    if slot.broken != 0 || slot.agreed < TRUSTED {
        return None;
    }
    let base = arguments_address(ctx)?;
    // SAFETY: bpf_probe_read_kernel checks the address.
    let check = unsafe { bpf_probe_read_kernel((base + slot.check_offset) as *const u64) }.ok()?;
    if check != slot.check_return {
        return None;
    }
    // SAFETY: as above.
    let caller =
        unsafe { bpf_probe_read_kernel((base + slot.caller_offset) as *const u64) }.ok()?;
    PROBING_CALLERS.get_ptr(&caller)?;
    let scratch = CAP_STACK_SCRATCH.get_ptr_mut(0)?;
    // SAFETY: the scratch entry is this CPU's own and nothing else runs on it meanwhile.
    let scratch = unsafe { &mut *scratch };
    scratch.depth = DECIDED_STACK_DEPTH;
    scratch.ips[0] = slot.trace_return;
    scratch.ips[1] = slot.check_return;
    scratch.ips[2] = caller;
    Some((stack_hash(scratch), scratch))
}

/// Learns, or checks, where the second and third frames of a full stack sit above the
/// argument array (see `CallerSlot`).
fn learn_caller_slot(ctx: &RawTracePointContext, stack: &CapStack) {
    let Some(slot) = CALLER_SLOT.get_ptr_mut(0) else {
        return;
    };
    // SAFETY: this CPU's own entry; the program does not nest on one CPU.
    let slot = unsafe { &mut *slot };
    if slot.broken != 0 || stack.depth < DECIDED_STACK_DEPTH {
        return;
    }
    let Some(window) = CALLER_WINDOW.get_ptr_mut(0) else {
        return;
    };
    let Some(base) = arguments_address(ctx) else {
        return;
    };
    // SAFETY: the window is this CPU's own map value of exactly the size read; an unreadable
    // range fails the read and nothing is learned.
    let window = unsafe { &mut *window };
    if unsafe { bpf_probe_read_kernel_buf(base as *const u8, as_bytes_mut(window)) }.is_err() {
        return;
    }
    let (trace_return, check_return, caller) = (stack.ips[0], stack.ips[1], stack.ips[2]);
    if slot.agreed == 0 {
        // The first occurrence of the return into `cap_capable`, then of the one into its
        // caller above it (through bpf_loop, so that the verifier checks one step once).
        let mut search = SlotSearch {
            check_return,
            caller,
            check_at: 0,
            caller_at: 0,
        };
        // Volatile stores: the compiler would make the two into a byte-by-byte `memset`.
        // SAFETY: fields of our own local.
        unsafe {
            core::ptr::write_volatile(&raw mut search.check_at, NOT_FOUND);
            core::ptr::write_volatile(&raw mut search.caller_at, NOT_FOUND);
        }
        // SAFETY: the callback runs synchronously and only touches `search` and the window.
        unsafe {
            bpf_loop(
                SLOT_WORDS as u32,
                search_step as *mut core::ffi::c_void,
                (&raw mut search).cast(),
                0,
            )
        };
        // Read back through volatile loads: the callback wrote them behind the compiler's back.
        let check_at = unsafe { core::ptr::read_volatile(&raw const search.check_at) };
        let caller_at = unsafe { core::ptr::read_volatile(&raw const search.caller_at) };
        if caller_at == NOT_FOUND || check_at == NOT_FOUND {
            return;
        }
        slot.check_offset = check_at * 8;
        slot.caller_offset = caller_at * 8;
        slot.trace_return = trace_return;
        slot.check_return = check_return;
        slot.agreed = 1;
        return;
    }
    let word = |offset: u64| window.get((offset / 8) as usize).copied();
    if trace_return == slot.trace_return
        && check_return == slot.check_return
        && word(slot.check_offset) == Some(check_return)
        && word(slot.caller_offset) == Some(caller)
    {
        slot.agreed += 1;
    } else {
        slot.broken = 1;
    }
}

/// What `search_step` looks for in `CALLER_WINDOW`, and where it found it (word indices).
#[repr(C)]
struct SlotSearch {
    check_return: u64,
    caller: u64,
    check_at: u64,
    caller_at: u64,
}

const NOT_FOUND: u64 = u64::MAX;

/// One `bpf_loop` step over the window's words: returns 1 to stop.
extern "C" fn search_step(index: u32, ctx: *mut core::ffi::c_void) -> i64 {
    // SAFETY: `ctx` is the SlotSearch on learn_caller_slot's stack, and the window is this
    // CPU's value.
    unsafe {
        let search = &mut *(ctx as *mut SlotSearch);
        let Some(window) = CALLER_WINDOW.get_ptr(0) else {
            return 1;
        };
        let Some(&word) = (*window).get(index as usize) else {
            return 1;
        };
        if search.check_at == NOT_FOUND {
            if word == search.check_return {
                search.check_at = u64::from(index);
            }
            0
        } else if word == search.caller {
            search.caller_at = u64::from(index);
            1
        } else {
            0
        }
    }
}

#[inline(always)]
fn as_bytes_mut(words: &mut [u64; SLOT_WORDS]) -> &mut [u8] {
    // SAFETY: any bytes are valid u64s; the slice covers exactly the array.
    unsafe { core::slice::from_raw_parts_mut(words.as_mut_ptr().cast(), SLOT_WORDS * 8) }
}

/// One round of a 64-bit finaliser (multiply, fold the high half down): every input bit
/// reaches every output bit, so structured frame addresses do not collide.
#[inline(always)]
fn mix(x: u64) -> u64 {
    let x = (x ^ (x >> 33)).wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^ (x >> 33)
}
