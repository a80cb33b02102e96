//! Reading `strace -f -y` output into the file accesses and sockets it shows, spelled the way
//! a recording spells them. `-y` makes strace print, after every fd, the path the kernel has
//! for it (`3</usr/lib/x86_64-linux-gnu/libc.so.6>`, `AT_FDCWD</tmp/dir>`), so opened files
//! come out resolved by the kernel itself: an oracle independent of the recorder's path walk.

use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::fs;
use std::os::unix::ffi::OsStrExt as _;

use super::{unquote, Call};

/// The strace options: follow children, fds with their paths, and just the calls needed
/// (file and fd calls, process creation for the process tree, sockets).
pub const OPTIONS: [&str; 5] = [
    "-f",
    "-qq",
    "-y",
    "-e",
    "trace=%file,%desc,%process,%network",
];

/// A socket kind as (family, type, protocol).
pub type SocketKind = (String, String, u64);

/// What a successful call did to files, as (path, access kind) pairs.
pub fn accesses(call: &Call) -> Vec<(Vec<u8>, &'static str)> {
    let on_fd = |fd: &str, kinds: Vec<&'static str>| -> Vec<(Vec<u8>, &'static str)> {
        fd_path(fd).map_or_else(Vec::new, |path| {
            kinds.into_iter().map(|k| (path.clone(), k)).collect()
        })
    };
    let named = |dirfd: Option<usize>, name: usize, kind| vec![(resolve(call, dirfd, name), kind)];
    match call.name.as_str() {
        "open" => on_fd(&call.ret, open_kinds(call.arg(1))),
        "openat" | "openat2" => on_fd(&call.ret, open_kinds(call.arg(2))),
        "creat" => on_fd(&call.ret, vec!["write", "create"]),
        "execve" => {
            let program = unquote(call.arg(0)).expect("execve's path");
            assert!(program.starts_with(b"/"), "relative execve: {}", call.line);
            let resolved = fs::canonicalize(OsStr::from_bytes(&program)).unwrap_or_else(|e| {
                panic!(
                    "canonicalize {}: {e}",
                    String::from_utf8_lossy(&program).escape_debug()
                )
            });
            vec![(resolved.as_os_str().as_bytes().to_vec(), "exec")]
        }
        "mmap" | "mmap2"
            if call.arg(2).contains("PROT_EXEC") && !call.arg(3).contains("MAP_ANONYMOUS") =>
        {
            on_fd(call.arg(4), vec!["mmap_exec"])
        }
        "flock" if !call.arg(1).contains("LOCK_UN") => on_fd(call.arg(0), vec!["lock"]),
        "fcntl" | "fcntl64"
            if matches!(
                call.arg(1),
                "F_SETLK"
                    | "F_SETLKW"
                    | "F_SETLK64"
                    | "F_SETLKW64"
                    | "F_OFD_SETLK"
                    | "F_OFD_SETLKW"
            ) =>
        {
            on_fd(call.arg(0), vec!["lock"])
        }
        "fchmod" => on_fd(call.arg(0), vec!["chmod"]),
        "fchown" | "fchown32" => on_fd(call.arg(0), vec!["chown"]),
        "unlink" => named(None, 0, "unlink"),
        "unlinkat" if call.arg(2).contains("AT_REMOVEDIR") => named(Some(0), 1, "rmdir"),
        "unlinkat" => named(Some(0), 1, "unlink"),
        "rmdir" => named(None, 0, "rmdir"),
        "mkdir" => named(None, 0, "mkdir"),
        "mkdirat" => named(Some(0), 1, "mkdir"),
        "chmod" => named(None, 0, "chmod"),
        "fchmodat" | "fchmodat2" => named(Some(0), 1, "chmod"),
        "chown" | "lchown" | "chown32" | "lchown32" => named(None, 0, "chown"),
        "fchownat" => named(Some(0), 1, "chown"),
        "mknod" => named(None, 0, "create"),
        "mknodat" => named(Some(0), 1, "create"),
        "rename" => [named(None, 0, "rename_from"), named(None, 1, "rename_to")].concat(),
        "renameat" | "renameat2" => [
            named(Some(0), 1, "rename_from"),
            named(Some(2), 3, "rename_to"),
        ]
        .concat(),
        "link" => named(None, 1, "link"),
        "linkat" => named(Some(2), 3, "link"),
        "symlink" => named(None, 1, "symlink"),
        "symlinkat" => named(Some(1), 2, "symlink"),
        _ => Vec::new(),
    }
}

/// The kind of socket a successful `socket` call created.
pub fn socket(call: &Call) -> Option<SocketKind> {
    if call.name != "socket" {
        return None;
    }
    let kind = call.arg(1).split('|').next().unwrap_or_default();
    let protocol = match call.arg(2) {
        "IPPROTO_IP" => 0,
        "IPPROTO_TCP" => 6,
        "IPPROTO_UDP" => 17,
        number => number
            .parse()
            .unwrap_or_else(|_| panic!("unknown protocol in {}", call.line)),
    };
    Some((call.arg(0).to_owned(), kind.to_owned(), protocol))
}

/// The path strace's `-y` shows for an fd (`3</tmp/x>`); None for pipes, sockets and
/// anonymous inodes, which have no absolute path.
fn fd_path(arg: &str) -> Option<Vec<u8>> {
    let (_, rest) = arg.split_once('<')?;
    let path = rest.strip_suffix('>')?;
    let path = path.strip_suffix(" (deleted)").unwrap_or(path);
    path.starts_with('/')
        .then(|| unquote(&format!("\"{path}\"")))
        .flatten()
}

/// `name` (a quoted argument) looked up from `dirfd` (an fd or `AT_FDCWD` with its `-y`
/// path), `.` and `..` applied lexically.
fn resolve(call: &Call, dirfd: Option<usize>, name: usize) -> Vec<u8> {
    let name = unquote(call.arg(name)).unwrap_or_else(|| panic!("no name in {}", call.line));
    let base = if name.starts_with(b"/") {
        Vec::new()
    } else {
        dirfd
            .and_then(|i| fd_path(call.arg(i)))
            .unwrap_or_else(|| panic!("relative name without a directory: {}", call.line))
    };
    let mut parts: Vec<&[u8]> = Vec::new();
    for part in base.split(|&b| b == b'/').chain(name.split(|&b| b == b'/')) {
        match part {
            b"" | b"." => {}
            b".." => {
                parts.pop();
            }
            part => parts.push(part),
        }
    }
    parts
        .iter()
        .flat_map(|p| [b"/".as_slice(), p])
        .flatten()
        .copied()
        .collect()
}

/// The access kinds of an open's flags (`O_WRONLY|O_CREAT|O_TRUNC`, or openat2's
/// `{flags=O_RDONLY|O_CLOEXEC, ...}`), as the recorder derives them.
fn open_kinds(flags: &str) -> Vec<&'static str> {
    let flags = match flags.split_once("flags=") {
        Some((_, rest)) => rest.split([',', '}']).next().unwrap_or_default(),
        None => flags,
    };
    let flags: BTreeSet<&str> = flags.split('|').collect();
    if flags.contains("O_PATH") {
        return Vec::new();
    }
    let writes = if flags.contains("O_APPEND") {
        "append"
    } else {
        "write"
    };
    let mut kinds = if flags.contains("O_WRONLY") {
        vec![writes]
    } else if flags.contains("O_RDWR") {
        vec!["read", writes]
    } else {
        vec!["read"]
    };
    if flags.contains("O_CREAT") {
        kinds.push("create");
    }
    kinds
}
