//! The values of the arguments that decide a syscall's risk (socket families, namespace
//! flags, ioctl requests, ...), for argument-aware seccomp profiles. Which syscalls and
//! arguments is userspace's choice (`ARG_SPECS`); the kernel side records each distinct
//! (program, syscall, values) once, in a map, and counts what does not fit.
//!
//! Part of the `syscalls` family (`sys_enter` calls `note_values`): may import `maps` and
//! `common`, never another family.

use aya_ebpf::{
    bindings::BPF_F_NO_PREALLOC,
    helpers::bpf_probe_read_user,
    macros::map,
    maps::{Array, HashMap},
};
use recorder_common::{abi, lost, ArgKey, ArgSpec, MAX_SYSCALL_NR};

use crate::{common::syscall_args, maps::count_lost};

/// What to record per syscall index (`count` 0: nothing).
#[map]
static ARG_SPECS: Array<ArgSpec> = Array::with_max_entries(abi::COUNT * MAX_SYSCALL_NR, 0);

/// Distinct argument values seen, with how often.
#[map]
static ARG_VALUES: HashMap<ArgKey, u64> = HashMap::with_max_entries(16384, BPF_F_NO_PREALLOC);

/// Records the arguments of the syscall being entered when it is one of those whose values
/// matter. Returns whether it is (such syscalls are never served from the entry cache: each
/// call may pass new values).
#[inline(always)]
pub(crate) fn note_values(index: u32, wire_abi: u32, regs: u64, exe_inode: u64) -> bool {
    let Some(spec) = ARG_SPECS.get(index) else {
        return false;
    };
    if spec.count == 0 {
        return false;
    }
    let args = syscall_args(regs, wire_abi);
    let mut values = [0u64; 3];
    for i in 0..3 {
        if (i as u32) < spec.count {
            let n = spec.index[i] as usize;
            let mut value = if n < 6 { args[n] } else { 0 };
            if i == 0 && spec.from_memory != 0 {
                // SAFETY: bpf_probe_read_user checks the user address; unreadable is 0.
                value = unsafe { bpf_probe_read_user(value as *const u64) }.unwrap_or(0);
            }
            values[i] = value & spec.mask[i];
        }
    }
    let key = ArgKey {
        exe_inode,
        index,
        _pad: 0,
        values,
    };
    match ARG_VALUES.get_ptr_mut(&key) {
        // Shared between CPUs: an approximate count is fine, the presence is what matters.
        Some(count) => unsafe { *count += 1 },
        None => {
            if ARG_VALUES.insert(&key, &1, 0).is_err() {
                count_lost(lost::ARG_VALUES);
            }
        }
    }
    true
}
