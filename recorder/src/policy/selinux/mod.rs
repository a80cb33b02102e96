//! Recording → an SELinux policy module for the workload's own domain.
//!
//! What the workload did, in the target policy's vocabulary:
//! - every recorded file is looked up in the policy's file contexts (see [`file_contexts`]) as
//!   the class it was used as (a directory when it was opened as one or made, a symbolic link
//!   when one was made, a character device under /dev, else a plain file), and its accesses
//!   become that class's permissions on that type; each directory on the way to it gets
//!   `search` (path walks need it), and a directory whose entries were added or removed
//!   gets `add_name`/`remove_name` with `write`;
//! - /proc and /sys are not labelled by file contexts but by the kernel (genfs): a process's
//!   own /proc entries (`/proc/self`, `/proc/thread-self`, `/proc/PID`) carry its domain, so
//!   they are allowed on `self`; the rest of /proc is `proc_t` and /sys `sysfs_t`, the
//!   reference policy's defaults, named as such in the module's notes;
//! - the programs it executed: `execute` and `execute_no_trans` (they run in the domain), and
//!   `entrypoint` for the recorded command's own program, the one a transition enters by;
//! - the capabilities of the add-list (docs/capabilities.md's rule), on `self`;
//! - the sockets it created, by class, with the operations its recorded syscalls made;
//! - process permissions on itself from its syscalls (fork, signals, scheduling, limits).
//!
//! What cannot be decided is left out and said in the module (never a broad attribute in its
//! place): paths the policy leaves unlabelled (`<<none>>`, such as files under /tmp, which
//! keep the label they were created with) or does not match, relative or hostile paths, and
//! the port types of binds and connects (the recording does not hold ports).
//!
//! Paths are data from the workload: they never appear in the module. Only the policy's own
//! types, the permissions and the file-contexts lines that decided a type do.

pub mod file_contexts;

use std::collections::{BTreeMap, BTreeSet};

use self::file_contexts::{FileClass, FileContexts, Label};
use crate::{
    policy::capabilities as capability_policy,
    recording::{Access, Accesses, Recording, Target},
};

#[derive(Debug, thiserror::Error)]
pub enum SelinuxPolicyError {
    #[error("the recording holds no file accesses (it was made by an older leastpriv); a policy module cannot be derived from it")]
    NoFiles,
    #[error("--name {0:?}: a module name is a letter then letters, digits and '_' (at most 48)")]
    BadName(String),
}

/// Choices the user makes about the module.
#[derive(Debug, Clone, Default)]
pub struct SelinuxOptions {
    /// The module's name; its domain is `NAME_t`. Default: from the recorded command.
    pub name: Option<String>,
}

/// One `allow` rule: permissions of a class on a type, and why.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rule {
    pub permissions: BTreeSet<&'static str>,
    /// Recorded paths this rule covers (counted, never named: they are the workload's data).
    pub paths: usize,
    /// The file-contexts lines that gave the type (`file_contexts:173`), or the kind of fact.
    pub because: BTreeSet<String>,
}

/// The decided module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelinuxPolicy {
    pub name: String,
    /// `NAME_t`.
    pub domain: String,
    /// (type, class) → rule; the type `self` is the domain itself.
    pub allow: BTreeMap<(String, &'static str), Rule>,
    /// What was left out and why, one line each, in a stable order.
    pub notes: Vec<String>,
    pub recorded_paths: usize,
}

/// The type name for the domain itself in [`SelinuxPolicy::allow`].
pub const SELF: &str = "self";

/// Decides the module for `recording` in the policy whose file contexts are `contexts`.
pub fn decide(
    recording: &Recording,
    contexts: &FileContexts,
    options: &SelinuxOptions,
) -> Result<SelinuxPolicy, SelinuxPolicyError> {
    let name = match &options.name {
        Some(name) => valid_name(name).ok_or_else(|| SelinuxPolicyError::BadName(name.clone()))?,
        None => default_name(recording),
    };
    let files = recording
        .files
        .as_ref()
        .ok_or(SelinuxPolicyError::NoFiles)?;
    let mut policy = SelinuxPolicy {
        domain: format!("{name}_t"),
        name,
        allow: BTreeMap::new(),
        notes: Vec::new(),
        recorded_paths: files.len(),
    };
    let mut left_out: BTreeMap<String, usize> = BTreeMap::new();
    let mut leave_out = |why: String| *left_out.entry(why).or_default() += 1;

    for file in files {
        let Ok(bytes) = file.exact_bytes() else {
            leave_out("a recorded path whose exact bytes do not decode".into());
            continue;
        };
        if !bytes.starts_with(b"/") {
            leave_out("a relative path (its directory was not known)".into());
            continue;
        }
        if bytes.split(|&b| b == b'/').any(|c| c == b".." || c == b".") {
            leave_out("a path with `.` or `..` components".into());
            continue;
        }
        // Directories are recorded with a trailing '/' (`/` itself is one).
        let is_dir = bytes.ends_with(b"/");
        let path = if is_dir && bytes.len() > 1 {
            &bytes[..bytes.len() - 1]
        } else {
            &bytes[..]
        };
        let class = class_of(path, is_dir, file.access);
        // The file itself.
        let wanted = permissions(class, file.access);
        if !wanted.is_empty() {
            policy.grant(contexts, path, class, &wanted, &mut leave_out);
        }
        // The directory it is in: entries added or removed.
        let parent_perms = parent_permissions(file.access);
        let parent = parent_of(path);
        if !parent_perms.is_empty() {
            policy.grant(
                contexts,
                parent,
                FileClass::Dir,
                &parent_perms,
                &mut leave_out,
            );
        }
        // Every directory on the way: a path walk searches each.
        for ancestor in ancestors(path) {
            policy.grant(
                contexts,
                ancestor,
                FileClass::Dir,
                &["search", "getattr"],
                &mut leave_out,
            );
        }
    }

    // Programs: run in the domain; the command's own enters it.
    let entry = entry_program(recording);
    for executable in &recording.executables {
        let path = executable.path.as_bytes();
        if !path.starts_with(b"/") {
            leave_out("an executed program named by a relative path".into());
            continue;
        }
        let mut wanted = vec![
            "execute",
            "execute_no_trans",
            "getattr",
            "map",
            "open",
            "read",
        ];
        if entry.as_deref() == Some(executable.path.as_str()) {
            wanted.push("entrypoint");
        }
        policy.grant(contexts, path, FileClass::File, &wanted, &mut leave_out);
    }
    if entry.is_none() {
        policy.notes.push(
            "no `entrypoint`: the recorded command's program is not among the executed ones (a recording of a cgroup or a merge); run the workload with `runcon` from a program of the domain, or add it"
                .into(),
        );
    }

    policy.capabilities(recording);
    policy.sockets(recording);
    policy.process(recording);

    policy.notes.extend(
        left_out
            .into_iter()
            .map(|(why, count)| format!("{count} × {why}: not allowed")),
    );
    if !contexts.skipped.is_empty() {
        policy.notes.push(format!(
            "{} file-contexts lines could not be compiled and were not used: {}",
            contexts.skipped.len(),
            contexts.skipped.join(", ")
        ));
    }
    Ok(policy)
}

impl SelinuxPolicy {
    /// Allows `wanted` on `path` as `class`, by its label; an unlabelled path is left out
    /// with the reason.
    fn grant(
        &mut self,
        contexts: &FileContexts,
        path: &[u8],
        class: FileClass,
        wanted: &[&'static str],
        leave_out: &mut impl FnMut(String),
    ) {
        let (file_type, because) = match genfs_label(path) {
            Some(Genfs::Own) => (
                SELF.to_owned(),
                "the process's own /proc entries".to_owned(),
            ),
            Some(Genfs::Type(file_type)) => (
                file_type.to_owned(),
                format!("genfs default {file_type} for /proc and /sys"),
            ),
            None => match contexts.lookup(path, class) {
                Label::Typed { file_type, origin } => (file_type, origin),
                Label::NotLabelled { origin } => {
                    leave_out(format!(
                        "a {} the policy leaves unlabelled ({origin}), whose type depends on how it was created",
                        class.name()
                    ));
                    return;
                }
                Label::Unmatched => {
                    leave_out(format!("a {} no file-contexts line matches", class.name()));
                    return;
                }
            },
        };
        let rule = self.allow.entry((file_type, class.name())).or_default();
        rule.permissions.extend(wanted.iter().copied());
        rule.paths += 1;
        rule.because.insert(because);
    }

    fn allow_self(&mut self, class: &'static str, wanted: &[&'static str], because: &str) {
        let rule = self.allow.entry((SELF.to_owned(), class)).or_default();
        rule.permissions.extend(wanted.iter().copied());
        rule.because.insert(because.to_owned());
    }

    /// The capability add-list, on itself (`capability` below 32, `capability2` above).
    fn capabilities(&mut self, recording: &Recording) {
        let Ok(add) = capability_policy::decide(recording) else {
            self.notes
                .push("no capability checks were recorded: no capability is allowed".into());
            return;
        };
        let numbers: BTreeMap<&str, u32> = recording
            .capabilities
            .iter()
            .flatten()
            .map(|c| (c.capability.as_str(), c.number))
            .collect();
        for name in add.add.keys() {
            let Some(short) = name.strip_prefix("CAP_") else {
                continue;
            };
            let Some(permission) = capability_permission(short) else {
                self.notes.push(format!(
                    "capability {} is not one this version names in policy: not allowed",
                    name.escape_debug()
                ));
                continue;
            };
            let class = if numbers.get(name.as_str()).copied().unwrap_or(0) >= 32 {
                "capability2"
            } else {
                "capability"
            };
            self.allow_self(class, &[permission], "audited, granted capability checks");
        }
    }

    /// The sockets it created, with what its syscalls did with them.
    fn sockets(&mut self, recording: &Recording) {
        let Some(sockets) = &recording.sockets else {
            return;
        };
        let made = |names: &[&str]| names.iter().any(|n| made_syscall(recording, n));
        let mut ports = false;
        for socket in sockets {
            let Some(class) = socket_class(&socket.family, &socket.kind, socket.protocol) else {
                self.notes.push(format!(
                    "a socket of family {} and type {} has no class this version knows: not allowed",
                    socket.family.escape_debug(),
                    socket.kind.escape_debug()
                ));
                continue;
            };
            let mut wanted = vec![
                "create", "getattr", "getopt", "ioctl", "read", "setopt", "shutdown", "write",
            ];
            if made(&["connect"]) {
                wanted.push("connect");
            }
            if made(&["bind"]) {
                wanted.push("bind");
            }
            let stream = socket.kind == "SOCK_STREAM" || socket.kind == "SOCK_SEQPACKET";
            if stream && made(&["listen"]) {
                wanted.push("listen");
            }
            if stream && made(&["accept", "accept4"]) {
                wanted.push("accept");
            }
            if socket.family == "AF_INET" || socket.family == "AF_INET6" {
                ports |= made(&["bind", "connect"]);
            }
            self.allow_self(class, &wanted, "sockets created");
        }
        if ports {
            self.notes.push(
                "binds and connects on IP sockets need `name_bind`/`name_connect` on the port's type and `node_bind` on the address's; the recording holds no ports, so none is allowed"
                    .into(),
            );
        }
    }

    /// Process permissions on itself, from its syscalls.
    fn process(&mut self, recording: &Recording) {
        let made = |names: &[&str]| names.iter().any(|n| made_syscall(recording, n));
        let mut wanted = Vec::new();
        if made(&["fork", "vfork", "clone", "clone3"]) {
            wanted.extend(["fork", "sigchld"]);
        }
        if made(&[
            "kill",
            "tkill",
            "tgkill",
            "rt_sigqueueinfo",
            "rt_tgsigqueueinfo",
            "pidfd_send_signal",
        ]) {
            wanted.extend(["signal", "sigkill", "sigstop", "signull"]);
        }
        if made(&[
            "sched_setscheduler",
            "sched_setparam",
            "sched_setattr",
            "setpriority",
        ]) {
            wanted.push("setsched");
        }
        if made(&[
            "sched_getscheduler",
            "sched_getparam",
            "sched_getattr",
            "getpriority",
        ]) {
            wanted.push("getsched");
        }
        if made(&["setpgid", "setsid"]) {
            wanted.extend(["setpgid", "getpgid"]);
        } else if made(&["getpgid", "getsid"]) {
            wanted.push("getpgid");
        }
        // glibc's setrlimit is prlimit64, which also only reads limits: the recording does
        // not say which, so a prlimit64 counts as setting one.
        if made(&["setrlimit", "prlimit64"]) {
            wanted.push("setrlimit");
        }
        if made(&["capget"]) {
            wanted.push("getcap");
        }
        if made(&["capset"]) {
            wanted.push("setcap");
        }
        if !wanted.is_empty() {
            self.allow_self("process", &wanted, "its syscalls");
        }
        if made(&["pipe", "pipe2"]) {
            self.allow_self(
                "fifo_file",
                &["getattr", "ioctl", "read", "write"],
                "pipes it made",
            );
        }
        // Descriptors passed from one of its processes to another stay in the domain.
        self.allow_self("fd", &["use"], "its own descriptors");
    }
}

/// Whether the recording holds a call named `name` in any ABI.
fn made_syscall(recording: &Recording, name: &str) -> bool {
    recording
        .syscalls
        .values()
        .flatten()
        .any(|entry| entry.name.as_deref() == Some(name))
}

/// The class a recorded path was used as (see the module's doc).
fn class_of(path: &[u8], is_dir: bool, access: Accesses) -> FileClass {
    if is_dir || access.intersects(Accesses::of(&[Access::Mkdir, Access::Rmdir])) {
        FileClass::Dir
    } else if access.contains(Access::Symlink) {
        FileClass::LnkFile
    } else if path.starts_with(b"/dev/")
        && !path.starts_with(b"/dev/shm/")
        && !path.starts_with(b"/dev/mqueue/")
    {
        FileClass::ChrFile
    } else {
        FileClass::File
    }
}

/// The permissions of `class` that `access` used.
fn permissions(class: FileClass, access: Accesses) -> Vec<&'static str> {
    let mut wanted = Vec::new();
    for kind in access.iter() {
        let add: &[&'static str] = match (kind, class) {
            (Access::Read, FileClass::Dir) => &["getattr", "open", "read", "search"],
            (Access::Read, _) => &["getattr", "open", "read"],
            (Access::Write, FileClass::Dir) => &[],
            (Access::Write, _) => &["getattr", "open", "write"],
            (Access::Append, _) => &["append", "getattr", "open"],
            (Access::Exec, _) => &["execute", "getattr", "open", "read"],
            (Access::MmapExec, _) => &["execute", "getattr", "map", "open", "read"],
            (Access::Create, _) | (Access::Mkdir, _) | (Access::Symlink, _) => {
                &["create", "getattr"]
            }
            (Access::Unlink, _) => &["unlink"],
            (Access::Rmdir, _) => &["rmdir"],
            (Access::RenameFrom, _) => &["rename"],
            (Access::RenameTo, _) => &["create", "unlink"],
            (Access::Link, _) => &["link"],
            (Access::Chmod, _) | (Access::Chown, _) => &["setattr"],
            (Access::Lock, _) => &["lock"],
        };
        wanted.extend_from_slice(add);
    }
    wanted.sort_unstable();
    wanted.dedup();
    wanted
}

/// What an access needs of the directory holding the name.
fn parent_permissions(access: Accesses) -> Vec<&'static str> {
    let adds = Accesses::of(&[
        Access::Create,
        Access::Mkdir,
        Access::Symlink,
        Access::Link,
        Access::RenameTo,
    ]);
    let removes = Accesses::of(&[
        Access::Unlink,
        Access::Rmdir,
        Access::RenameFrom,
        Access::RenameTo,
    ]);
    let mut wanted = Vec::new();
    if access.intersects(adds) {
        wanted.extend(["add_name", "write"]);
    }
    if access.intersects(removes) {
        wanted.extend(["remove_name", "write"]);
    }
    wanted.sort_unstable();
    wanted.dedup();
    wanted
}

fn parent_of(path: &[u8]) -> &[u8] {
    match path.iter().rposition(|&b| b == b'/') {
        Some(0) | None => b"/",
        Some(at) => &path[..at],
    }
}

/// The proper ancestors of an absolute path, `/` first.
fn ancestors(path: &[u8]) -> Vec<&[u8]> {
    let mut out = vec![&path[..1]];
    for (at, &b) in path.iter().enumerate().skip(1) {
        if b == b'/' && at + 1 < path.len() {
            out.push(&path[..at]);
        }
    }
    if path == b"/" {
        out.clear();
    }
    out
}

enum Genfs {
    /// The process's own /proc entries: labelled with its domain.
    Own,
    Type(&'static str),
}

/// The label the kernel gives a path on /proc or /sys (genfs), where file contexts do not
/// apply.
fn genfs_label(path: &[u8]) -> Option<Genfs> {
    let in_fs = |root: &[u8]| path == root || path.starts_with(&[root, b"/"].concat());
    if in_fs(b"/proc") {
        let rest = path.strip_prefix(b"/proc/".as_slice()).unwrap_or(b"");
        let first = rest.split(|&b| b == b'/').next().unwrap_or(b"");
        // /proc/PID and what is below it carry the process's domain; /proc/self and
        // /proc/thread-self are links in proc_t to those.
        let pid = !first.is_empty() && first.iter().all(u8::is_ascii_digit);
        let via_link = (first == b"self" || first == b"thread-self") && rest.len() > first.len();
        return Some(if pid || via_link {
            Genfs::Own
        } else {
            Genfs::Type("proc_t")
        });
    }
    if in_fs(b"/sys") {
        return Some(Genfs::Type("sysfs_t"));
    }
    None
}

/// The program the recorded command executed first: its path as recorded.
fn entry_program(recording: &Recording) -> Option<String> {
    let Target::Command(argv) = &recording.target else {
        return None;
    };
    let first = argv.first()?;
    let executables = &recording.executables;
    if first.starts_with('/') {
        return executables
            .iter()
            .find(|e| e.path == *first)
            .map(|e| e.path.clone());
    }
    let base = first.rsplit('/').next().unwrap_or(first);
    executables
        .iter()
        .find(|e| e.path.rsplit('/').next() == Some(base))
        .map(|e| e.path.clone())
}

/// A module name: a letter, then letters, digits and '_', lower case, at most 48.
fn valid_name(name: &str) -> Option<String> {
    let ok = !name.is_empty()
        && name.len() <= 48
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    ok.then(|| name.to_owned())
}

/// From the recorded command's program: its file name as a module name (see
/// [`module_name`]).
fn default_name(recording: &Recording) -> String {
    let program = match &recording.target {
        Target::Command(argv) => argv
            .first()
            .map(|p| p.rsplit('/').next().unwrap_or(p).to_owned()),
        _ => None,
    }
    .unwrap_or_default();
    module_name(&program)
}

/// `text` (a program's or a container's name, from the workload) as a module name: lower
/// case, every character but letters and digits `_`, at most 40, `lp_` before one that does
/// not start with a letter; `workload` when nothing is left.
pub fn module_name(text: &str) -> String {
    let mut name: String = text
        .chars()
        .map(|c| {
            let c = c.to_ascii_lowercase();
            if c.is_ascii_lowercase() || c.is_ascii_digit() {
                c
            } else {
                '_'
            }
        })
        .take(40)
        .collect();
    if !name.starts_with(|c: char| c.is_ascii_lowercase()) {
        name.insert_str(0, "lp_");
    }
    if name.trim_matches('_').is_empty() || name == "lp_" {
        return "workload".into();
    }
    name
}

/// The policy's permission for a capability (its name without `CAP_`).
fn capability_permission(short: &str) -> Option<&'static str> {
    const NAMES: &[&str] = &[
        "chown",
        "dac_override",
        "dac_read_search",
        "fowner",
        "fsetid",
        "kill",
        "setgid",
        "setuid",
        "setpcap",
        "linux_immutable",
        "net_bind_service",
        "net_broadcast",
        "net_admin",
        "net_raw",
        "ipc_lock",
        "ipc_owner",
        "sys_module",
        "sys_rawio",
        "sys_chroot",
        "sys_ptrace",
        "sys_pacct",
        "sys_admin",
        "sys_boot",
        "sys_nice",
        "sys_resource",
        "sys_time",
        "sys_tty_config",
        "mknod",
        "lease",
        "audit_write",
        "audit_control",
        "setfcap",
        "mac_override",
        "mac_admin",
        "syslog",
        "wake_alarm",
        "block_suspend",
        "audit_read",
        "perfmon",
        "bpf",
        "checkpoint_restore",
    ];
    let lower = short.to_ascii_lowercase();
    NAMES.iter().copied().find(|n| *n == lower)
}

/// The socket class of a (family, type, protocol), as the reference policy names it.
fn socket_class(family: &str, kind: &str, protocol: u32) -> Option<&'static str> {
    Some(match (family, kind) {
        ("AF_UNIX", "SOCK_STREAM") | ("AF_UNIX", "SOCK_SEQPACKET") => "unix_stream_socket",
        ("AF_UNIX", "SOCK_DGRAM") => "unix_dgram_socket",
        ("AF_INET" | "AF_INET6", "SOCK_STREAM") if protocol == 0 || protocol == 6 => "tcp_socket",
        ("AF_INET" | "AF_INET6", "SOCK_DGRAM") if protocol == 0 || protocol == 17 => "udp_socket",
        ("AF_INET" | "AF_INET6", "SOCK_DGRAM" | "SOCK_RAW") if protocol == 1 || protocol == 58 => {
            "icmp_socket"
        }
        ("AF_INET" | "AF_INET6", "SOCK_RAW") => "rawip_socket",
        ("AF_NETLINK", _) if protocol == 0 => "netlink_route_socket",
        ("AF_NETLINK", _) => "netlink_socket",
        ("AF_PACKET", _) => "packet_socket",
        _ => return None,
    })
}

#[cfg(test)]
mod tests;
