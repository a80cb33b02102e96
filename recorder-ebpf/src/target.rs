//! The target filter and the loss counters every hook shares.

use aya_ebpf::{
    macros::map,
    maps::{CgroupArray, PerCpuArray},
};
use recorder_common::lost;

/// Slot 0 holds the target cgroup (a directory fd written by userspace before attaching).
#[map]
static TARGET_CGROUP: CgroupArray = CgroupArray::with_max_entries(1, 0);

/// Per-CPU counters of what could not be recorded, indexed by `recorder_common::lost::*`.
/// Per-CPU, so counting needs no atomic instruction.
#[map]
static LOST: PerCpuArray<u64> = PerCpuArray::with_max_entries(lost::COUNT, 0);

/// Whether the current task is in the target cgroup or one of its descendants.
///
/// `bpf_current_task_under_cgroup` compares against the cgroup's ancestor table, so this is
/// one helper call whatever the depth, and it follows the task's cgroup v2 membership even on
/// hybrid hierarchies and inside cgroup namespaces.
#[inline(always)]
pub(crate) fn current_task_is_target() -> bool {
    matches!(TARGET_CGROUP.current_task_under_cgroup(0), Ok(true))
}

/// Counts one event that could not be recorded.
#[inline(always)]
pub(crate) fn count_lost(counter: u32) {
    if let Some(slot) = LOST.get_ptr_mut(counter) {
        // SAFETY: the pointer comes from a successful map lookup of this CPU's slot.
        unsafe { *slot += 1 };
    }
}
