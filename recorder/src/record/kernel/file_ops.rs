//! Which syscalls touch files, per ABI: the `FILE_OPS` table the kernel programs consult, made
//! from syscall names so the programs know no numbers themselves.

use recorder_common::{file_op, MAX_SYSCALL_NR};

use crate::recording::syscalls::Abi;

/// (syscall name, what it does to files). Names missing from an ABI's table are skipped.
const BY_NAME: &[(&str, u8)] = &[
    ("open", file_op::OPEN),
    ("creat", file_op::CREAT),
    ("openat", file_op::OPENAT),
    ("openat2", file_op::OPENAT2),
    ("mmap", file_op::MMAP),
    ("mmap2", file_op::MMAP),
    ("flock", file_op::FLOCK),
    ("fcntl", file_op::FCNTL),
    ("fcntl64", file_op::FCNTL),
    ("fchmod", file_op::FCHMOD),
    ("fchown", file_op::FCHOWN),
    ("fchown32", file_op::FCHOWN),
    ("unlink", file_op::UNLINK),
    ("rmdir", file_op::RMDIR),
    ("mkdir", file_op::MKDIR),
    ("chmod", file_op::CHMOD),
    ("chown", file_op::CHOWN),
    ("lchown", file_op::CHOWN),
    ("chown32", file_op::CHOWN),
    ("lchown32", file_op::CHOWN),
    ("mknod", file_op::MKNOD),
    ("unlinkat", file_op::UNLINKAT),
    ("mkdirat", file_op::MKDIRAT),
    ("fchmodat", file_op::FCHMODAT),
    ("fchmodat2", file_op::FCHMODAT),
    ("fchownat", file_op::FCHOWNAT),
    ("mknodat", file_op::MKNODAT),
    ("rename", file_op::RENAME),
    ("link", file_op::LINK),
    ("symlink", file_op::SYMLINK),
    ("renameat", file_op::RENAMEAT),
    ("renameat2", file_op::RENAMEAT),
    ("linkat", file_op::LINKAT),
    ("symlinkat", file_op::SYMLINKAT),
    ("socket", file_op::SOCKET),
    ("socketcall", file_op::SOCKETCALL),
    ("bind", file_op::BIND),
    ("connect", file_op::CONNECT),
];

/// (index into the counters, op) for every file syscall of every ABI.
pub fn table() -> Vec<(u32, u8)> {
    let mut table = Vec::new();
    for (wire, abi) in Abi::ALL.iter().enumerate() {
        for &(name, op) in BY_NAME {
            // The i386 `mmap` (90) takes a pointer to its arguments; glibc uses mmap2.
            if *abi == Abi::Ia32 && name == "mmap" {
                continue;
            }
            if let Some(nr) = abi.syscall_nr(name).and_then(|nr| u32::try_from(nr).ok()) {
                if nr < MAX_SYSCALL_NR {
                    table.push((wire as u32 * MAX_SYSCALL_NR + nr, op));
                }
            }
        }
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn covers_both_main_abis() {
        let table = table();
        let x86_64_openat = 257;
        let ia32_open = MAX_SYSCALL_NR + 5;
        let ia32_socketcall = MAX_SYSCALL_NR + 102;
        assert!(table.contains(&(x86_64_openat, file_op::OPENAT)));
        assert!(table.contains(&(ia32_open, file_op::OPEN)));
        assert!(table.contains(&(ia32_socketcall, file_op::SOCKETCALL)));
    }
}
