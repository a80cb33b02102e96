//! Syscall numbers and names per ABI.
//!
//! Names come from the `syscalls` crate, which generates its tables from the kernel's own
//! `syscall_64.tbl` and `syscall_32.tbl`, so they are the names seccomp tooling (libseccomp,
//! runc, crun) understands. The crate has no x32 table; see [`x32_name`].

use std::fmt;

use serde::{Deserialize, Serialize};

/// The syscall ABIs of an x86_64 kernel. A 32-bit program's syscall numbers are different
/// numbers from a 64-bit one's, so every set of syscalls is kept per ABI.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Abi {
    /// Native 64-bit syscalls.
    #[serde(rename = "x86_64")]
    X86_64,
    /// 32-bit (i386) syscalls through the compat entry points.
    #[serde(rename = "ia32")]
    Ia32,
    /// The x32 ABI (64-bit registers, 32-bit pointers), marked by bit 30 of the number.
    #[serde(rename = "x32")]
    X32,
}

impl Abi {
    /// Every ABI, in the order recordings list them.
    pub const ALL: [Abi; 3] = [Abi::X86_64, Abi::Ia32, Abi::X32];

    /// The ABI the kernel programs mean by `recorder_common::abi::*`.
    pub fn from_wire(abi: u32) -> Option<Abi> {
        match abi {
            recorder_common::abi::X86_64 => Some(Abi::X86_64),
            recorder_common::abi::IA32 => Some(Abi::Ia32),
            recorder_common::abi::X32 => Some(Abi::X32),
            _ => None,
        }
    }

    /// The inverse of [`Abi::from_wire`].
    pub fn wire(self) -> u32 {
        match self {
            Abi::X86_64 => recorder_common::abi::X86_64,
            Abi::Ia32 => recorder_common::abi::IA32,
            Abi::X32 => recorder_common::abi::X32,
        }
    }

    /// The name used in recordings and messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Abi::X86_64 => "x86_64",
            Abi::Ia32 => "ia32",
            Abi::X32 => "x32",
        }
    }

    /// The syscall's name in this ABI's table, or `None` for a number the table does not have.
    pub fn syscall_name(self, nr: i64) -> Option<&'static str> {
        let nr = usize::try_from(nr).ok()?;
        match self {
            Abi::X86_64 => syscalls::x86_64::Sysno::new(nr).map(|s| s.name()),
            Abi::Ia32 => syscalls::x86::Sysno::new(nr).map(|s| s.name()),
            Abi::X32 => x32_name(nr),
        }
    }

    /// The number of a named syscall in this ABI's table.
    pub fn syscall_nr(self, name: &str) -> Option<i64> {
        match self {
            Abi::X86_64 => name
                .parse::<syscalls::x86_64::Sysno>()
                .ok()
                .map(|s| i64::from(s.id())),
            Abi::Ia32 => name
                .parse::<syscalls::x86::Sysno>()
                .ok()
                .map(|s| i64::from(s.id())),
            Abi::X32 => (0..X32_FIRST_COMPAT + X32_COMPAT.len())
                .find(|&nr| x32_name(nr) == Some(name))
                .map(|nr| nr as i64),
        }
    }
}

impl fmt::Display for Abi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The first x32-only number in the kernel's `syscall_64.tbl`.
const X32_FIRST_COMPAT: usize = 512;

/// x32 entries 512..=547 of the kernel's `arch/x86/entry/syscalls/syscall_64.tbl` (the rows
/// marked `x32`), in order. No maintained crate carries the x32 table; below 512 the x32 ABI
/// shares the x86_64 numbers, so only these 36 names needed writing down.
const X32_COMPAT: [&str; 36] = [
    "rt_sigaction",
    "rt_sigreturn",
    "ioctl",
    "readv",
    "writev",
    "recvfrom",
    "sendmsg",
    "recvmsg",
    "execve",
    "ptrace",
    "rt_sigpending",
    "rt_sigtimedwait",
    "rt_sigqueueinfo",
    "sigaltstack",
    "timer_create",
    "mq_notify",
    "kexec_load",
    "waitid",
    "set_robust_list",
    "get_robust_list",
    "vmsplice",
    "move_pages",
    "preadv",
    "pwritev",
    "rt_tgsigqueueinfo",
    "recvmmsg",
    "sendmmsg",
    "process_vm_readv",
    "process_vm_writev",
    "setsockopt",
    "getsockopt",
    "io_setup",
    "io_submit",
    "execveat",
    "preadv2",
    "pwritev2",
];

/// Name of an x32 syscall number (bit 30 already removed).
fn x32_name(nr: usize) -> Option<&'static str> {
    if nr >= X32_FIRST_COMPAT {
        return X32_COMPAT.get(nr - X32_FIRST_COMPAT).copied();
    }
    syscalls::x86_64::Sysno::new(nr).map(|s| s.name())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_differ_per_abi() {
        assert_eq!(Abi::X86_64.syscall_name(0), Some("read"));
        assert_eq!(Abi::Ia32.syscall_name(3), Some("read"));
        assert_eq!(Abi::Ia32.syscall_name(0), Some("restart_syscall"));
        assert_eq!(Abi::X86_64.syscall_name(59), Some("execve"));
        assert_eq!(Abi::Ia32.syscall_name(11), Some("execve"));
        assert_eq!(Abi::X32.syscall_name(520), Some("execve"));
        assert_eq!(Abi::X32.syscall_name(547), Some("pwritev2"));
        assert_eq!(Abi::X32.syscall_name(1), Some("write"));
    }

    #[test]
    fn unknown_numbers_have_no_name() {
        assert_eq!(Abi::X86_64.syscall_name(-1), None);
        assert_eq!(Abi::X86_64.syscall_name(999), None);
        assert_eq!(Abi::X32.syscall_name(548), None);
    }

    #[test]
    fn names_map_back_to_numbers() {
        for abi in Abi::ALL {
            for nr in 0..600 {
                if let Some(name) = abi.syscall_name(nr) {
                    let back = abi.syscall_nr(name).expect(name);
                    // x32 has a few names twice (the 64-bit row below 512 and the x32 row).
                    assert_eq!(abi.syscall_name(back), Some(name), "{abi} {name}");
                }
            }
        }
        assert_eq!(Abi::Ia32.syscall_nr("_llseek"), Some(140));
    }
}
