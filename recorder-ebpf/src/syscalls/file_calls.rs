//! The entry half of file calls, for `sys_enter`: which syscalls touch files (`FILE_OPS`,
//! filled by userspace) and, for those worth completing, their arguments noted in
//! `maps::PENDING` for `sys_exit` (the `files` family) to finish.
//!
//! Part of the `syscalls` family: may import `maps` and `common`, never another family.

use aya_ebpf::{
    bindings::BPF_NOEXIST, helpers::bpf_get_current_pid_tgid, macros::map, maps::Array,
};
use recorder_common::{abi, file_op, lost, PendingCall, MAX_SYSCALL_NR};

use crate::{
    common::syscall_args,
    maps::{count_lost, count_pending, PENDING},
};

/// What each syscall does to files, indexed like the syscall counters; filled by userspace.
#[map]
static FILE_OPS: Array<u8> = Array::with_max_entries(abi::COUNT * MAX_SYSCALL_NR, 0);

const PROT_EXEC: u64 = 4;
const MAP_ANONYMOUS: u64 = 0x20;
const LOCK_UN: u64 = 8;

/// Called by `sys_enter` for a target syscall (not served from its cache): notes the
/// arguments of file syscalls, made by the executable `exe_inode`. Returns the syscall's file
/// op (`file_op::NONE` for others).
#[inline(always)]
pub(crate) fn note_entry(index: u32, wire_abi: u32, regs: u64, exe_inode: u64) -> u8 {
    let op = match FILE_OPS.get(index) {
        Some(&op) if op != file_op::NONE => op,
        _ => return file_op::NONE,
    };
    let call = PendingCall {
        op: u64::from(op),
        exe_inode,
        args: syscall_args(regs, wire_abi),
    };
    // Calls whose arguments already say there is nothing to record are not tracked to
    // their exit: most `mmap`s (anonymous or not executable) and `fcntl`s (not a lock).
    // The op is still returned, so that the syscall cache never serves the next such call.
    if !may_access_files(op, &call.args) {
        return op;
    }
    let tid = bpf_get_current_pid_tgid() as u32;
    // A new entry is counted; one left by a call whose exit was never seen is replaced.
    match PENDING.insert(&tid, &call, BPF_NOEXIST as u64) {
        Ok(()) => count_pending(1),
        Err(_) => {
            if PENDING.insert(&tid, &call, 0).is_err() {
                count_lost(lost::PENDING);
            }
        }
    }
    op
}

/// Whether a call of file op `op` with these arguments can access a file worth recording:
/// an executable mapping of a file, a lock taken with `flock` (not `LOCK_UN`), or a lock
/// request with `fcntl` (F_SETLK, F_SETLKW, their 64-bit ia32 forms, and the OFD locks).
/// Every other op is decided by its result.
#[inline(always)]
fn may_access_files(op: u8, a: &[u64; 6]) -> bool {
    match op {
        file_op::MMAP => a[2] & PROT_EXEC != 0 && a[3] & MAP_ANONYMOUS == 0,
        file_op::FLOCK => a[1] & LOCK_UN == 0,
        file_op::FCNTL => matches!(a[1], 6 | 7 | 13 | 14 | 37 | 38),
        _ => true,
    }
}
