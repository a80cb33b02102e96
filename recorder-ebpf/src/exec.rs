//! `sched_process_exec` (raw tracepoint): reports each program the target executes.
//!
//! Execs are rare next to syscalls, so they travel through a ring buffer; an event that does
//! not fit is counted in `LOST`, never dropped silently.

use aya_ebpf::{
    bindings::{BPF_RB_AVAIL_DATA, BPF_RB_FORCE_WAKEUP, BPF_RB_NO_WAKEUP},
    helpers::{bpf_get_current_pid_tgid, bpf_probe_read_kernel, bpf_probe_read_kernel_str_bytes},
    macros::{map, raw_tracepoint},
    maps::RingBuf,
    programs::RawTracePointContext,
};
use recorder_common::{lost, ExecEvent, EVENT_EXEC, EXEC_PATH_MAX};

use crate::{
    target::{count_lost, current_task_is_target},
    task::current_exe_inode,
};

/// Offset of `filename` in `struct linux_binprm`, from BTF.
#[unsafe(no_mangle)]
static BINPRM_FILENAME_OFFSET: u64 = 0;

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

/// A raw tracepoint rather than the classic one: cheaper per event, and detaching it does
/// not wait for the perf-event teardown a classic tracepoint needs.
#[raw_tracepoint(tracepoint = "sched_process_exec")]
pub fn sched_process_exec(ctx: RawTracePointContext) -> i32 {
    if !current_task_is_target() {
        return 0;
    }
    // A new program: no syscall cache entry made before this may be used again.
    crate::syscalls::new_cache_generation();
    let Some(mut entry) = EVENTS.reserve::<ExecEvent>(0) else {
        count_lost(lost::EXEC_EVENTS);
        return 0;
    };
    let event = entry.as_mut_ptr();
    // SAFETY: `event` points to reserved ring buffer memory of the right size; every field is
    // written before submit.
    unsafe {
        (*event).kind = EVENT_EXEC;
        (*event).tgid = (bpf_get_current_pid_tgid() >> 32) as u32;
        (*event)._pad = 0;
        // By now the kernel has switched the task to the new program's mm and exe_file.
        (*event).exe_inode = current_exe_inode();
        (*event).path_len = 0;
        // Arguments: (struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm).
        let bprm: u64 = ctx.arg(2);
        let offset = core::ptr::read_volatile(&BINPRM_FILENAME_OFFSET);
        if let Ok(filename) = bpf_probe_read_kernel((bprm + offset) as *const u64) {
            if let Ok(bytes) =
                bpf_probe_read_kernel_str_bytes(filename as *const u8, &mut (*event).path)
            {
                (*event).path_len = bytes.len().min(EXEC_PATH_MAX) as u32;
            }
        }
    }
    entry.submit(wakeup_flags());
    // The program file itself, resolved from the kernel's objects (for a script: its
    // interpreter), as an exec access.
    crate::files::exe_file_access();
    0
}
