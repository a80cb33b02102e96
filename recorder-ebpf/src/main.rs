//! leastpriv kernel programs: one file per hook family, gathered here.
//!
//! Every program starts with the same cheap question, "is the current task in the target
//! cgroup (or below it)?", and returns at once when it is not, so that tasks outside the
//! recording pay for nothing more than that test.
#![no_std]
#![no_main]
// Inline assembly for the one atomic instruction Rust's core does not offer here (the BPF
// target has no compare-and-swap, so core's atomics have no fetch_add).
#![cfg_attr(target_arch = "bpf", feature(asm_experimental_arch))]

mod arguments;
mod capabilities;
mod exec;
mod files;
mod floor;
mod syscalls;
mod target;
mod task;

/// `*ptr += delta` as one atomic instruction (BPF_ATOMIC | BPF_ADD), for counters that
/// several CPUs update.
#[inline(always)]
pub(crate) fn atomic_add(ptr: *mut u64, delta: u64) {
    #[cfg(target_arch = "bpf")]
    // SAFETY: the caller passes a valid, 8-byte aligned map value.
    unsafe {
        core::arch::asm!("lock *(u64 *)({ptr} + 0) += {delta}", ptr = in(reg) ptr, delta = in(reg) delta)
    };
    #[cfg(not(target_arch = "bpf"))]
    // SAFETY: as above.
    unsafe {
        *ptr = (*ptr).wrapping_add(delta)
    };
}

/// `*ptr = value` as one atomic exchange (BPF_ATOMIC | BPF_XCHG), which the x86-64 JIT
/// emits as `xchg`: also a full memory barrier, which BPF has no instruction for.
#[inline(always)]
pub(crate) fn atomic_exchange(ptr: *mut u64, value: u64) {
    #[cfg(target_arch = "bpf")]
    // SAFETY: the caller passes a valid, 8-byte aligned map value.
    unsafe {
        core::arch::asm!("{value} = xchg_64({ptr} + 0, {value})", ptr = in(reg) ptr, value = inout(reg) value => _)
    };
    #[cfg(not(target_arch = "bpf"))]
    // SAFETY: as above.
    unsafe {
        *ptr = value
    };
}

/// A counter alone on its 64-byte cache line: globals that every syscall reads are kept
/// apart from those the target writes, so that one CPU's write does not evict the others'.
#[repr(C, align(64))]
pub(crate) struct CacheLine(pub(crate) u64);

#[cfg(not(test))]
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    // The verifier rejects any program that could reach this; it exists to satisfy no_std.
    loop {}
}
