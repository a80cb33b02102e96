//! The maps and globals that more than one hook family touches, and the event plumbing:
//! - the target filter (`TARGET_CGROUP`) every program asks first;
//! - the loss counters (`LOST`) and the ring buffer (`EVENTS`) with its wakeup policy;
//! - what `sys_enter` leaves for others: the last syscall per CPU (`LAST_SYSCALL`, read by
//!   `cap_capable`) and the file calls in progress (`PENDING`, completed by `sys_exit`);
//! - the syscall cache's generation (`CACHE_GENERATION`), bumped by exec, fork and migration.
//!
//! Map and global names are what userspace looks up: they must not change. May import
//! `common` only, besides `aya_ebpf` and `recorder_common`; never a hook family.

use aya_ebpf::{
    bindings::{BPF_RB_AVAIL_DATA, BPF_RB_FORCE_WAKEUP, BPF_RB_NO_WAKEUP},
    macros::map,
    maps::{CgroupArray, LruHashMap, PerCpuArray, RingBuf},
};
use recorder_common::{lost, LastSyscall, PendingCall};

use crate::common::{atomic_add, CacheLine};

/// Slot 0 holds the target cgroup (a directory fd written by userspace before attaching).
#[map]
static TARGET_CGROUP: CgroupArray = CgroupArray::with_max_entries(1, 0);

/// Whether the current task is in the target cgroup or one of its descendants.
///
/// `bpf_current_task_under_cgroup` compares against the cgroup's ancestor table, so this is
/// one helper call whatever the depth, and it follows the task's cgroup v2 membership even on
/// hybrid hierarchies and inside cgroup namespaces.
#[inline(always)]
pub(crate) fn current_task_is_target() -> bool {
    matches!(TARGET_CGROUP.current_task_under_cgroup(0), Ok(true))
}

/// Per-CPU counters of what could not be recorded, indexed by `recorder_common::lost::*`.
/// Per-CPU, so counting needs no atomic instruction.
#[map]
static LOST: PerCpuArray<u64> = PerCpuArray::with_max_entries(lost::COUNT, 0);

/// Counts one event that could not be recorded.
#[inline(always)]
pub(crate) fn count_lost(counter: u32) {
    if let Some(slot) = LOST.get_ptr_mut(counter) {
        // SAFETY: the pointer comes from a successful map lookup of this CPU's slot.
        unsafe { *slot += 1 };
    }
}

/// Events for userspace (exec, file and socket). 4 MiB holds thousands of file events
/// between two reads; what does not fit is counted, never silently dropped.
#[map]
pub(crate) static EVENTS: RingBuf = RingBuf::with_byte_size(4 << 20, 0);

/// Unread bytes in `EVENTS` from which a new event wakes userspace at once. Below that,
/// userspace collects the events on its own schedule (`record`'s drain interval): a wakeup
/// per event had the recorder switch in and out thousands of times a second on file-heavy
/// workloads, on the workload's CPUs.
const WAKEUP_AT_BYTES: u64 = 512 << 10;

/// The flags to submit an event with (see `WAKEUP_AT_BYTES`).
#[inline(always)]
pub(crate) fn wakeup_flags() -> u64 {
    if EVENTS.query(u64::from(BPF_RB_AVAIL_DATA)) >= WAKEUP_AT_BYTES {
        u64::from(BPF_RB_FORCE_WAKEUP)
    } else {
        u64::from(BPF_RB_NO_WAKEUP)
    }
}

/// The rest of what each CPU keeps about the target task that made its last syscall (see
/// `LastSyscall`), read on a cache miss only. Written by `sys_enter`; `cap_capable` reads
/// which syscall a check happened in.
#[map]
pub(crate) static LAST_SYSCALL: PerCpuArray<LastSyscall> = PerCpuArray::with_max_entries(1, 0);

/// Bumped by whatever could make a `CACHED_SYSCALL` entry wrong, so that no entry made before
/// is used again: an exec in the target (`sched_process_exec`: a new program to attribute
/// calls to), a fork anywhere (the new task may get a dead task's register frame, the
/// cache's key) and a cgroup migration anywhere (a task may have entered or left the
/// target). All three are rare next to syscalls. A plain global (in `.bss`), not a map:
/// reading it is one load, no lookup.
/// Alone on its cache line, so that writes to its neighbours do not evict it.
#[unsafe(no_mangle)]
static mut CACHE_GENERATION: CacheLine = CacheLine(0);

#[inline(always)]
pub(crate) fn cache_generation() -> u64 {
    // SAFETY: a volatile read of our own global; other CPUs only ever add to it.
    unsafe { core::ptr::read_volatile(&raw const CACHE_GENERATION.0) }
}

/// Starts a new cache generation (see `CACHE_GENERATION`).
#[inline(always)]
pub(crate) fn new_cache_generation() {
    // SAFETY: the address of our own global; nothing is read or written here.
    atomic_add(unsafe { &raw mut CACHE_GENERATION.0 }, 1);
}

/// File syscalls in progress, by thread id: noted by `sys_enter`, completed by `sys_exit`.
/// LRU, so a call whose exit is never seen (the task was killed) cannot fill it.
#[map]
pub(crate) static PENDING: LruHashMap<u32, PendingCall> = LruHashMap::with_max_entries(16384, 0);

/// How many entries `PENDING` holds (never fewer; more only after an LRU eviction). Zero
/// lets `sys_exit` return at once for every task, in the target or not: most syscalls are
/// not file calls. A plain global (in `.bss`), not a map: the test is one load, where an
/// array lookup spills its key to the stack and checks the index first (about ten
/// instructions on every syscall of the machine). Alone on its cache line, so that the
/// target's file calls, which write it, do not evict `CACHE_GENERATION`, which every
/// syscall reads.
#[unsafe(no_mangle)]
static mut PENDING_CALLS: CacheLine = CacheLine(0);

/// Adds `delta` to `PENDING_CALLS` (shared by all CPUs, so atomically).
#[inline(always)]
pub(crate) fn count_pending(delta: i64) {
    // SAFETY: the address of our own global; nothing is read or written here.
    atomic_add(unsafe { &raw mut PENDING_CALLS.0 }, delta as u64);
}

/// Whether any file call is pending, on any CPU.
#[inline(always)]
pub(crate) fn calls_pending() -> bool {
    // SAFETY: a volatile read of our own global; CPUs only ever add to it atomically.
    unsafe { core::ptr::read_volatile(&raw const PENDING_CALLS.0) != 0 }
}
