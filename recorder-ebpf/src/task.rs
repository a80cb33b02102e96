//! Reading the current task's kernel structures at offsets userspace resolved from BTF
//! (aya-ebpf 0.2 has no CO-RE for Rust field accesses).

use aya_ebpf::helpers::generated::bpf_get_current_task_btf;

/// `task_struct.mm`, `mm_struct.exe_file` and `file.f_inode`, set by userspace before load.
#[unsafe(no_mangle)]
static TASK_MM_OFFSET: u64 = 0;
#[unsafe(no_mangle)]
static MM_EXE_FILE_OFFSET: u64 = 0;
#[unsafe(no_mangle)]
static FILE_INODE_OFFSET: u64 = 0;

/// The pointer field at `base + offset` (a frozen read-only global), 0 when `base` is null.
/// `base` is a BTF-typed kernel pointer, so this is a plain load the verifier checks against
/// the field's type and guards against faults: no helper call, where each
/// `bpf_probe_read_kernel` costs a call and a return (expensive under the return-stack
/// mitigations of these CPUs).
#[inline(always)]
fn load_field(base: u64, offset: &'static u64) -> u64 {
    if base == 0 {
        return 0;
    }
    // SAFETY: a volatile read of our own global, then a load the verifier turns into an
    // exception-protected read of the field it names.
    unsafe {
        let offset = core::ptr::read_volatile(offset);
        core::ptr::read_volatile((base + offset) as *const u64)
    }
}

/// The current task's executable file (`current->mm->exe_file`), 0 when there is none.
#[inline(always)]
pub(crate) fn current_exe_file() -> u64 {
    // SAFETY: the helper only returns the current task, typed.
    let task = unsafe { bpf_get_current_task_btf() } as u64;
    let mm = load_field(task, &TASK_MM_OFFSET);
    load_field(mm, &MM_EXE_FILE_OFFSET)
}

/// The address of the inode of the current task's executable (`current->mm->exe_file->f_inode`),
/// 0 when there is none. Identifies "which program" cheaply while the program is in use.
#[inline(always)]
pub(crate) fn current_exe_inode() -> u64 {
    load_field(current_exe_file(), &FILE_INODE_OFFSET)
}
