//! Struct offsets from the running kernel's BTF.
//!
//! aya-ebpf 0.2 emits no CO-RE relocations for field accesses written in Rust, so the kernel
//! programs cannot know where a field sits in this kernel's `task_struct`. Userspace looks the
//! offsets up in /sys/kernel/btf/vmlinux and hands them to the programs as globals.

use std::path::Path;

use btf_rs::{Btf, Type};

use super::KernelError;

/// Where the running kernel describes its own types.
pub const VMLINUX_BTF: &str = "/sys/kernel/btf/vmlinux";

/// Offsets the kernel programs need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Offsets {
    /// `task_struct.thread_info.status` (x86: holds `TS_COMPAT` during a 32-bit syscall).
    pub task_status: u64,
}

impl Offsets {
    pub fn from_running_kernel() -> Result<Offsets, KernelError> {
        let path = Path::new(VMLINUX_BTF);
        if !path.exists() {
            return Err(KernelError::NoBtf { path: path.into() });
        }
        let btf = Btf::from_file(path).map_err(|e| KernelError::Btf {
            what: format!("cannot parse {VMLINUX_BTF}: {e}"),
        })?;
        let thread_info = member_offset(&btf, "task_struct", "thread_info")?;
        let status = member_offset(&btf, "thread_info", "status")?;
        Ok(Offsets {
            task_status: thread_info + status,
        })
    }
}

/// Byte offset of `member` in `struct name`.
fn member_offset(btf: &Btf, name: &str, member: &str) -> Result<u64, KernelError> {
    let missing = || KernelError::Btf {
        what: format!("struct {name} has no member {member} in {VMLINUX_BTF}"),
    };
    let types = btf
        .resolve_types_by_name(name)
        .map_err(|e| KernelError::Btf {
            what: format!("struct {name} not found in {VMLINUX_BTF}: {e}"),
        })?;
    for ty in types {
        let Type::Struct(st) = ty else { continue };
        for m in &st.members {
            if btf.resolve_name(m).ok().as_deref() == Some(member) {
                if m.bitfield_size().is_some_and(|size| size != 0) {
                    return Err(missing());
                }
                return Ok(u64::from(m.bit_offset() / 8));
            }
        }
    }
    Err(missing())
}
