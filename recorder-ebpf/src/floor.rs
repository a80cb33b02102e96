//! Empty programs on the same hooks as `sys_enter` and `sys_exit`, of the same kinds, for
//! benchmarks only: attaching any program to a syscall tracepoint moves every task onto the
//! kernel's slower syscall path, and that floor is not ours to remove. Benchmarks report the
//! recorder's cost against it.
//!
//! A hook family: imports nothing from this crate.

use aya_ebpf::{
    macros::{btf_tracepoint, raw_tracepoint},
    programs::{BtfTracePointContext, RawTracePointContext},
};

#[btf_tracepoint(function = "sys_enter")]
pub fn sys_enter_floor(_ctx: BtfTracePointContext) -> i32 {
    0
}

#[raw_tracepoint(tracepoint = "sys_exit")]
pub fn sys_exit_floor(_ctx: RawTracePointContext) -> i32 {
    0
}
