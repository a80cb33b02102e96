//! Reading the current task's kernel structures at offsets userspace resolved from BTF
//! (aya-ebpf 0.2 has no CO-RE for Rust field accesses). Used by several hook families.
//!
//! Holds no map. May import `aya_ebpf` only, never another module of this crate.

use aya_ebpf::helpers::{bpf_get_current_task, bpf_probe_read_kernel};

/// `task_struct.mm`, `mm_struct.exe_file` and `file.f_inode`, set by userspace before load.
#[unsafe(no_mangle)]
static TASK_MM_OFFSET: u64 = 0;
#[unsafe(no_mangle)]
static MM_EXE_FILE_OFFSET: u64 = 0;
#[unsafe(no_mangle)]
static FILE_INODE_OFFSET: u64 = 0;
/// `task_struct.stack`, set by userspace before load.
#[unsafe(no_mangle)]
static TASK_STACK_OFFSET: u64 = 0;

/// Reads a pointer-sized field at `base + offset` (a volatile global), 0 on failure.
#[inline(always)]
fn read_field(base: u64, offset: &'static u64) -> u64 {
    if base == 0 {
        return 0;
    }
    // SAFETY: reading our own global; bpf_probe_read_kernel validates the kernel address.
    let offset = unsafe { core::ptr::read_volatile(offset) };
    unsafe { bpf_probe_read_kernel((base + offset) as *const u64) }.unwrap_or(0)
}

/// The current task's executable file (`current->mm->exe_file`), 0 when there is none.
#[inline(always)]
pub(crate) fn current_exe_file() -> u64 {
    // SAFETY: bpf_get_current_task only returns the current task pointer.
    exe_file_of(unsafe { bpf_get_current_task() })
}

/// The address of the inode of the current task's executable (`current->mm->exe_file->f_inode`),
/// 0 when there is none. Identifies "which program" cheaply while the program is in use.
#[inline(always)]
pub(crate) fn current_exe_inode() -> u64 {
    read_field(current_exe_file(), &FILE_INODE_OFFSET)
}

/// `current_exe_inode()` of a given task (the current one, as `bpf_get_current_task_btf`
/// returned it). Helper reads, not typed loads: the verifier checks a typed *pointer* load by
/// searching the kernel's BTF by name, several times per load, which was about 4 ms of the
/// recorder's start-up for these three; `sys_enter` keeps the result per task instead
/// (`LastSyscall::exe`), so the calls are rarely made.
#[inline(always)]
pub(crate) fn exe_inode_of(task: u64) -> u64 {
    read_field(exe_file_of(task), &FILE_INODE_OFFSET)
}

/// `task->mm->exe_file`, 0 when there is none.
#[inline(always)]
fn exe_file_of(task: u64) -> u64 {
    read_field(read_field(task, &TASK_MM_OFFSET), &MM_EXE_FILE_OFFSET)
}

/// The kernel stack of `task` (a task pointer as a number): `task->stack`, 0 when unreadable.
#[inline(always)]
pub(crate) fn stack_of(task: u64) -> u64 {
    read_field(task, &TASK_STACK_OFFSET)
}

/// `stack_of` the current task.
#[inline(always)]
pub(crate) fn current_stack() -> u64 {
    // SAFETY: bpf_get_current_task only returns the current task pointer.
    stack_of(unsafe { bpf_get_current_task() })
}

/// The current task as a BTF-typed pointer: its fields can be loaded directly (see
/// `task_field_u32`).
#[inline(always)]
pub(crate) fn current_task() -> u64 {
    // SAFETY: the helper only returns the current task.
    unsafe { aya_ebpf::helpers::generated::bpf_get_current_task_btf() as u64 }
}

/// A `u32` field of the task at an offset userspace resolved, loaded directly: `task` comes
/// from `bpf_get_current_task_btf`, so the verifier knows its type, knows the offset (a
/// frozen read-only global) and checks the access against `task_struct` itself. No helper
/// call: bpf_probe_read_kernel cost more than the rest of the hot path together. 0 when the
/// offset is unknown.
#[inline(always)]
pub(crate) fn task_field_u32(task: u64, offset: &'static u64) -> u32 {
    // SAFETY: a volatile read of a global set once before load.
    let offset = unsafe { core::ptr::read_volatile(offset) };
    if offset == 0 {
        return 0;
    }
    // SAFETY: the verifier turns the load into an exception-protected read of the field.
    unsafe { core::ptr::read_volatile((task + offset) as *const u32) }
}
