//! `sched_process_exec` (raw tracepoint): reports each program the target executes.
//!
//! Execs are rare next to syscalls, so they travel through a ring buffer; an event that does
//! not fit is counted in `LOST`, never dropped silently.
//!
//! A hook family: may import `maps`, `file_events` and `task`, never another family.

use aya_ebpf::{
    helpers::{bpf_get_current_pid_tgid, bpf_probe_read_kernel, bpf_probe_read_kernel_str_bytes},
    macros::raw_tracepoint,
    programs::RawTracePointContext,
};
use recorder_common::{access, lost, ExecEvent, EVENT_EXEC, EXEC_PATH_MAX};

use crate::{
    file_events::file_access,
    maps::{count_lost, current_task_is_target, new_cache_generation, wakeup_flags, EVENTS},
    task::{current_exe_file, current_exe_inode},
};

/// Offset of `filename` in `struct linux_binprm`, from BTF.
#[unsafe(no_mangle)]
static BINPRM_FILENAME_OFFSET: u64 = 0;

/// A raw tracepoint rather than the classic one: cheaper per event, and detaching it does
/// not wait for the perf-event teardown a classic tracepoint needs.
#[raw_tracepoint(tracepoint = "sched_process_exec")]
pub fn sched_process_exec(ctx: RawTracePointContext) -> i32 {
    if !current_task_is_target() {
        return 0;
    }
    // A new program: no syscall cache entry made before this may be used again.
    new_cache_generation();
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
    exe_file_access();
    0
}

/// The executed file as an exec access.
fn exe_file_access() {
    let file = current_exe_file();
    if file != 0 {
        let _ = file_access(file, access::EXEC, current_exe_inode());
    }
}
