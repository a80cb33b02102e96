//! Stateless helpers that several hook families use: atomic instructions, the cache-line
//! wrapper for shared globals, and reading a syscall's arguments from its saved registers.
//!
//! Holds no map and no global. May import `aya_ebpf` and `recorder_common` only, never
//! another module of this crate.

use aya_ebpf::helpers::bpf_probe_read_kernel;
use recorder_common::abi;

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

/// The part of x86 `struct pt_regs` (layout fixed by the entry code) that holds the syscall
/// arguments of both ABIs: from `bp` (offset 32) to `di` (offset 112), 11 registers.
const ARG_REGS_START: u64 = 32;
const ARG_REGS: usize = 11;
/// Where each argument is in that part, per ABI (register index from `bp`).
const ARGS_X86_64: [usize; 6] = [10, 9, 8, 3, 5, 4]; // di si dx r10 r8 r9
const ARGS_IA32: [usize; 6] = [1, 7, 8, 9, 10, 0]; // bx cx dx si di bp

/// The six arguments of the syscall being entered, from its saved registers: one read of
/// the registers that hold them, not one helper call per argument.
#[inline(always)]
pub(crate) fn syscall_args(regs: u64, wire_abi: u32) -> [u64; 6] {
    // SAFETY: bpf_probe_read_kernel checks the address; unreadable reads as zeros.
    let saved = unsafe { bpf_probe_read_kernel((regs + ARG_REGS_START) as *const [u64; ARG_REGS]) }
        .unwrap_or([0; ARG_REGS]);
    let mut args = [0u64; 6];
    for i in 0..6 {
        args[i] = if wire_abi == abi::IA32 {
            // The compat entry keeps 32-bit arguments: drop whatever is above.
            saved[ARGS_IA32[i]] & 0xffff_ffff
        } else {
            saved[ARGS_X86_64[i]]
        };
    }
    args
}
