//! What a Landlock ruleset allows, decided from a Recording (docs/landlock.md).
//!
//! Landlock grants rights on file hierarchies opened when the sandbox starts: a rule names
//! an existing file or directory (`pathBeneath`), and its rights hold for everything beneath
//! it. It has no globs and cannot name a file that does not exist yet. The decisions:
//! - every recorded access becomes the fewest Landlock rights that allow it: on a file, only
//!   file rights (`read_file`, `write_file`, `truncate`, `execute`, `ioctl_dev`); on a
//!   directory, `read_dir` where it was listed, and on a file's directory only what was done
//!   in it (`make_reg`, `make_dir`, `make_sym`, `remove_file`, `remove_dir`, `refer`);
//! - a name the workload made (created, renamed to, linked, a directory it made) does not
//!   exist when the next run starts: its rights go on the nearest directory above it that
//!   the workload did not make;
//! - names that vary from run to run are found by AppArmor's generalisation
//!   ([`super::apparmor`], the same rules and names: `proc-pid`, `temp-name`,
//!   `library-version`); the rights go on the stable directory above the first varying
//!   component, limited to those that name needed. `home` is not applied: the home directory
//!   varies between users, not between runs, and a rule on `/home` or `/` would be far wider;
//! - a rule whose rights a rule on a directory above it already grants is left out;
//! - paths that are not canonical, not UTF-8 (a JSON string cannot hold them exactly) or
//!   hold a NUL are never turned into rules: a [`Note`] says so, and the workload is refused
//!   there;
//! - every filesystem right of the chosen ABI is handled (denied unless a rule grants it),
//!   and from ABI 4, when the recording holds ports, `bind_tcp` and `connect_tcp`: each
//!   recorded TCP bind and connect becomes a `netPort` rule for its port;
//!   `scoped` holds `signal` when no signal-sending syscall was recorded and
//!   `abstract_unix_socket` when no `AF_UNIX` socket was, from ABI 6.

mod rights;

use std::collections::{BTreeMap, BTreeSet};

pub use rights::{AccessFs, AccessNet, FsRights, NetRights, Scope, Scopes, NEWEST_ABI};

use crate::{
    policy::apparmor::{generalise_path, run_names, Generalisation, Generalisations, Token, Var},
    recording::{Access, Accesses, PortOp, PortUse, Recording},
};

#[derive(Debug, thiserror::Error)]
pub enum LandlockPolicyError {
    #[error("the recording holds no file accesses (it was made by a leastpriv from before file recording existed); a Landlock configuration cannot be derived from it: record the workload again")]
    FilesNotRecorded,
    #[error("Landlock ABI {abi} is not one this leastpriv writes: give 1 to {NEWEST_ABI}")]
    UnknownAbi { abi: u32 },
    #[error("path_hex {hex:?} of recorded path {path:?} is not an even number of hex digits")]
    BadPathHex { path: String, hex: String },
}

/// Why a rule is there.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Reasons {
    /// Recorded paths the rule stands for.
    pub paths: usize,
    /// It holds rights for names the workload made (they did not exist before it ran).
    pub made: bool,
    /// The generalisations that moved rights up to this directory.
    pub generalised: Generalisations,
}

impl Reasons {
    fn absorb(&mut self, other: Reasons) {
        self.paths += other.paths;
        self.made |= other.made;
        self.generalised = self.generalised.union(other.generalised);
    }
}

/// One `pathBeneath` rule: rights on a file, or on a directory and all beneath it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PathRule {
    pub access: FsRights,
    pub reasons: Reasons,
}

/// Something the user should know about the configuration.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Note {
    /// A recorded path that is not canonical or holds a NUL: no rule names it.
    NotAPath { path: Vec<u8> },
    /// A recorded path that is not UTF-8: a JSON or TOML string cannot name it exactly.
    NotUtf8 { path: Vec<u8> },
    /// The recording holds no TCP ports: TCP is not restricted.
    PortsNotRecorded,
    /// The ABI has no network rights: TCP is not restricted.
    NoNetworkRights { abi: u32 },
    /// Signals were sent: the domain is not scoped for signals.
    SignalsSent,
    /// Unix sockets were used (abstract or not is not recorded): not scoped for them.
    UnixSocketsUsed,
    /// The ABI has no scopes.
    NoScopes { abi: u32 },
}

impl std::fmt::Display for Note {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Note::NotAPath { path } => write!(
                f,
                "recorded path \"{}\" is not a canonical absolute path; no rule names it",
                path.escape_ascii()
            ),
            Note::NotUtf8 { path } => write!(
                f,
                "recorded path \"{}\" is not UTF-8, which a LandlockConfig cannot name exactly; no rule names it",
                path.escape_ascii()
            ),
            Note::PortsNotRecorded => write!(
                f,
                "the recording holds no TCP ports; the configuration does not restrict TCP"
            ),
            Note::NoNetworkRights { abi } => write!(
                f,
                "Landlock ABI {abi} has no network rights (ABI 4 brought them); TCP is not restricted"
            ),
            Note::SignalsSent => write!(
                f,
                "the workload sent signals (to whom is not recorded); signals are not scoped"
            ),
            Note::UnixSocketsUsed => write!(
                f,
                "the workload used unix sockets (abstract or not is not recorded); abstract unix sockets are not scoped"
            ),
            Note::NoScopes { abi } => write!(
                f,
                "Landlock ABI {abi} has no scopes (ABI 6 brought them); signals and abstract unix sockets are not scoped"
            ),
        }
    }
}

/// The decided Landlock configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LandlockPolicy {
    pub abi: u32,
    pub handled_fs: FsRights,
    /// Empty: TCP is not restricted.
    pub handled_net: NetRights,
    pub scoped: Scopes,
    /// By path (exact UTF-8 text).
    pub paths: BTreeMap<String, PathRule>,
    /// By port.
    pub ports: BTreeMap<u16, NetRights>,
    pub notes: BTreeSet<Note>,
    /// Recorded paths turned into rules (before rules covered by others were left out).
    pub recorded_paths: usize,
}

/// Accesses that make a name: it does not exist before the workload runs.
const MAKES: Accesses = Accesses::of(&[
    Access::Create,
    Access::Mkdir,
    Access::RenameTo,
    Access::Link,
    Access::Symlink,
]);

/// Where opening with O_CREAT never makes a file (devices, kernel interfaces).
const PSEUDO_FILESYSTEMS: &[&str] = &["/dev/", "/proc/", "/sys/"];

/// Syscalls that send a signal to a process chosen by the caller.
const SIGNAL_SYSCALLS: &[&str] = &[
    "kill",
    "tkill",
    "tgkill",
    "rt_sigqueueinfo",
    "rt_tgsigqueueinfo",
    "pidfd_send_signal",
];

/// Decides the configuration for a recording, for Landlock ABI `abi`.
pub fn decide(recording: &Recording, abi: u32) -> Result<LandlockPolicy, LandlockPolicyError> {
    if !(1..=NEWEST_ABI).contains(&abi) {
        return Err(LandlockPolicyError::UnknownAbi { abi });
    }
    let files = recording
        .files
        .as_ref()
        .ok_or(LandlockPolicyError::FilesNotRecorded)?;
    let mut notes = BTreeSet::new();

    // Every usable path once, with all its accesses.
    let mut recorded: BTreeMap<String, Accesses> = BTreeMap::new();
    for file in files {
        let bytes = file
            .exact_bytes()
            .map_err(|bad| LandlockPolicyError::BadPathHex {
                path: bad.path,
                hex: bad.hex,
            })?;
        if !is_canonical(&bytes) || bytes.contains(&0) {
            notes.insert(Note::NotAPath {
                path: bytes.into_owned(),
            });
            continue;
        }
        if file.path_hex.is_some() {
            notes.insert(Note::NotUtf8 {
                path: bytes.into_owned(),
            });
            continue;
        }
        let entry = recorded.entry(file.path.clone()).or_default();
        *entry = entry.union(file.access);
    }
    // Programs by the names they were executed as (for a script, the only record of it).
    for executable in &recording.executables {
        let path = &executable.path;
        if path.contains('\u{fffd}') || !is_canonical(path.as_bytes()) || path.contains('\0') {
            continue;
        }
        let entry = recorded.entry(path.clone()).or_default();
        entry.insert(Access::Exec);
    }
    let recorded_paths = recorded.len();

    // O_CREAT is recorded whether or not the file was there: on the filesystems where a
    // workload cannot make a file by opening one, it did not.
    for (path, access) in recorded.iter_mut() {
        if PSEUDO_FILESYSTEMS.iter().any(|fs| path.starts_with(fs)) {
            *access = access.iter().filter(|&a| a != Access::Create).collect();
        }
    }
    let made: BTreeSet<&[u8]> = recorded
        .iter()
        .filter(|(_, access)| access.intersects(MAKES))
        .map(|(path, _)| strip_slash(path.as_bytes()))
        .collect();
    // Names made and removed in the run, which AppArmor's generalisation reads as temporary.
    let (_, transient) = run_names(
        recorded
            .iter()
            .map(|(path, access)| (path.as_bytes(), *access)),
    );
    let ioctl_recorded = recording
        .syscalls
        .values()
        .flatten()
        .any(|entry| entry.name.as_deref() == Some("ioctl"));
    let handled_fs = FsRights::all(abi);

    let mut rules: BTreeMap<String, PathRule> = BTreeMap::new();
    let mut grant = |path: &str, access: FsRights, reasons: Reasons| {
        let access = access.intersection(handled_fs);
        if access.is_empty() {
            return;
        }
        let rule = rules.entry(path.to_owned()).or_default();
        rule.access = rule.access.union(access);
        rule.reasons.absorb(reasons);
    };
    let renamed_in = rename_directories(&recorded);
    for (path, &access) in &recorded {
        let is_dir = path.ends_with('/') || access.intersects(DIRECTORY_OPS);
        let body = strip_slash(path.as_bytes());
        let (pattern, generalised) = generalise_path(path.as_bytes(), access, &made, &transient);
        let stable = stable_length(body, &pattern, &made);
        let parent_end = body.iter().rposition(|&b| b == b'/').unwrap_or(0);
        let own = own_rights(access, is_dir, ioctl_recorded && path.starts_with("/dev/"));
        let mut in_parent = parent_rights(access, is_dir);
        if renamed_in.contains(&body[..parent_end]) {
            in_parent.insert(AccessFs::Refer);
        }
        let reasons = Reasons {
            paths: 1,
            made: access.intersects(MAKES) || stable < body.len() && made_below(body, &made),
            generalised: generalised_without_home(generalised),
        };
        // Where the path's own rights go: the path itself, when it exists from the start and
        // does not vary; else the stable directory above.
        if stable == body.len() {
            grant(&to_text(body), own, reasons);
        } else {
            grant(&to_text(&body[..stable]), own, reasons);
        }
        // What was done in its directory goes on that directory, or the stable one above.
        if !in_parent.is_empty() {
            let at = stable.min(parent_end);
            grant(&to_text(&body[..at]), in_parent, reasons);
        }
    }
    drop_covered(&mut rules);

    let (handled_net, ports) = match &recording.ports {
        _ if abi < AccessNet::SINCE => {
            notes.insert(Note::NoNetworkRights { abi });
            (NetRights::default(), BTreeMap::new())
        }
        None => {
            notes.insert(Note::PortsNotRecorded);
            (NetRights::default(), BTreeMap::new())
        }
        Some(recorded_ports) => (NetRights::all(abi), tcp_ports(recorded_ports)),
    };

    let scoped = scopes(recording, abi, &mut notes);

    Ok(LandlockPolicy {
        abi,
        handled_fs,
        handled_net,
        scoped,
        paths: rules,
        ports,
        notes,
        recorded_paths,
    })
}

/// The TCP ports bound and connected to, with the right each needs. Landlock's port rules
/// hold for every address, loopback or not, IPv4 or IPv6; UDP has no right before ABI 8.
fn tcp_ports(ports: &[PortUse]) -> BTreeMap<u16, NetRights> {
    let mut out: BTreeMap<u16, NetRights> = BTreeMap::new();
    for port in ports.iter().filter(|p| p.protocol == "tcp") {
        let right = match port.op {
            PortOp::Bind => AccessNet::BindTcp,
            PortOp::Connect => AccessNet::ConnectTcp,
        };
        out.entry(port.port).or_default().insert(right);
    }
    out
}

/// Accesses that make or remove a directory.
const DIRECTORY_OPS: Accesses = Accesses::of(&[Access::Mkdir, Access::Rmdir]);

/// The rights a recorded access needs on the path itself (`device_ioctl`: the path is a
/// device the workload may have sent ioctls to).
pub fn own_rights(access: Accesses, is_dir: bool, device_ioctl: bool) -> FsRights {
    let mut rights = FsRights::default();
    for kind in access.iter() {
        match (kind, is_dir) {
            (Access::Read, true) => rights.insert(AccessFs::ReadDir),
            (Access::Read, false) => rights.insert(AccessFs::ReadFile),
            // Opening for writing may truncate (O_TRUNC, which the recording does not tell
            // apart): `> file` in a shell does.
            (Access::Write, false) => {
                rights.insert(AccessFs::WriteFile);
                rights.insert(AccessFs::Truncate);
            }
            (Access::Append, false) => rights.insert(AccessFs::WriteFile),
            // The kernel opens a program to execute it for reading too, and Landlock checks
            // both.
            (Access::Exec, false) => {
                rights.insert(AccessFs::Execute);
                rights.insert(AccessFs::ReadFile);
            }
            // Mapped executable: opened for reading first (Landlock does not check mmap). The
            // kernel opens a program's ELF interpreter for execution itself, and that open
            // is recorded only as the mapping.
            (Access::MmapExec, false) => {
                rights.insert(AccessFs::ReadFile);
                rights.insert(AccessFs::Execute);
            }
            // The old name is opened by no one; a file renamed, linked or created is written
            // through its new name.
            _ => {}
        }
    }
    if device_ioctl && rights.intersection(FsRights::FILE).0 != 0 && !is_dir {
        rights.insert(AccessFs::IoctlDev);
    }
    rights
}

/// The rights a recorded access needs on the directory that holds the path.
pub fn parent_rights(access: Accesses, is_dir: bool) -> FsRights {
    let mut rights = FsRights::default();
    let make = if is_dir {
        AccessFs::MakeDir
    } else {
        AccessFs::MakeReg
    };
    let remove = if is_dir {
        AccessFs::RemoveDir
    } else {
        AccessFs::RemoveFile
    };
    for kind in access.iter() {
        match kind {
            Access::Create | Access::RenameTo => rights.insert(make),
            Access::Mkdir => rights.insert(AccessFs::MakeDir),
            Access::Rmdir => rights.insert(AccessFs::RemoveDir),
            Access::Unlink | Access::RenameFrom => rights.insert(remove),
            Access::Symlink => rights.insert(AccessFs::MakeSym),
            // A hard link's source is not recorded: it may be in another directory.
            Access::Link => {
                rights.insert(AccessFs::MakeReg);
                rights.insert(AccessFs::Refer);
            }
            _ => {}
        }
    }
    rights
}

/// Directories that renames went out of or into, when renames touched more than one
/// directory: a rename between directories needs `refer` on both, and which old name goes
/// with which new one is not recorded.
fn rename_directories(recorded: &BTreeMap<String, Accesses>) -> BTreeSet<&[u8]> {
    let renames = Accesses::of(&[Access::RenameFrom, Access::RenameTo]);
    let dirs: BTreeSet<&[u8]> = recorded
        .iter()
        .filter(|(_, access)| access.intersects(renames))
        .map(|(path, _)| {
            let body = strip_slash(path.as_bytes());
            &body[..body.iter().rposition(|&b| b == b'/').unwrap_or(0)]
        })
        .collect();
    if dirs.len() > 1 {
        dirs
    } else {
        BTreeSet::new()
    }
}

/// How many bytes of `body` (a canonical path without trailing `/`) name what exists from
/// the start of every run: all of it, or up to (not including) the `/` before the first
/// component that varies (AppArmor's generalisation put a variable or glob into it) or that
/// the workload made. `/` itself is stable.
fn stable_length(
    body: &[u8],
    pattern: &crate::policy::apparmor::Pattern,
    made: &BTreeSet<&[u8]>,
) -> usize {
    // Where the pattern first differs from the literal path. `@{HOME}` stands for the
    // recorded home, kept as it is (see the module's doc).
    let mut varies_at = body.len();
    let mut tokens = pattern.tokens().peekable();
    let mut at = 0;
    if tokens.peek() == Some(&Token::Var(Var::Home)) {
        tokens.next();
        at = home_length(body);
    }
    for token in tokens {
        match token {
            Token::Byte(b) if at < body.len() && body[at] == b => at += 1,
            // The pattern's trailing `/` of a directory.
            Token::Byte(b'/') if at == body.len() => {}
            _ => {
                varies_at = at;
                break;
            }
        }
    }
    // Back to the start of the varying component.
    let mut stable = if varies_at < body.len() {
        component_start(body, varies_at)
    } else {
        body.len()
    };
    // The first ancestor (or the path itself) that the workload made.
    for (end, &b) in body.iter().enumerate().skip(1) {
        if end >= stable {
            break;
        }
        if b == b'/' && made.contains(&body[..end]) {
            stable = component_start(body, end - 1);
            break;
        }
    }
    if stable == body.len() && made.contains(body) {
        stable = component_start(body, body.len().saturating_sub(1));
    }
    stable
}

/// The length of the directory part before the component that holds byte `at`: the bytes
/// up to that component's `/` (at least 1, for `/`).
fn component_start(body: &[u8], at: usize) -> usize {
    let slash = body[..=at.min(body.len() - 1)]
        .iter()
        .rposition(|&b| b == b'/')
        .unwrap_or(0);
    slash.max(1)
}

/// `/home/USER` or `/root`: the bytes of the home directory at the start of `body`.
fn home_length(body: &[u8]) -> usize {
    if body.starts_with(b"/root") {
        return 5;
    }
    let rest = &body[b"/home/".len().min(body.len())..];
    b"/home/".len() + rest.iter().position(|&b| b == b'/').unwrap_or(rest.len())
}

/// Whether the workload made an ancestor of the path.
fn made_below(body: &[u8], made: &BTreeSet<&[u8]>) -> bool {
    body.iter()
        .enumerate()
        .any(|(end, &b)| b == b'/' && end > 0 && made.contains(&body[..end]))
}

fn generalised_without_home(generalised: Generalisations) -> Generalisations {
    generalised
        .iter()
        .filter(|&rule| rule != Generalisation::Home)
        .collect()
}

/// Leaves out rights that a rule on a directory above already grants, and rules left with
/// none (their reasons go to nothing: the rule above stands for them).
fn drop_covered(rules: &mut BTreeMap<String, PathRule>) {
    let paths: Vec<String> = rules.keys().cloned().collect();
    for path in paths {
        let mut above = FsRights::default();
        let bytes = path.as_bytes();
        for (end, &b) in bytes.iter().enumerate() {
            if b != b'/' {
                continue;
            }
            let ancestor = if end == 0 { "/" } else { &path[..end] };
            if ancestor == path {
                continue;
            }
            if let Some(rule) = rules.get(ancestor) {
                above = above.union(rule.access);
            }
        }
        let rule = rules.get_mut(&path).expect("listed above");
        rule.access = rule.access.minus(above);
        if rule.access.is_empty() {
            rules.remove(&path);
        }
    }
}

fn scopes(recording: &Recording, abi: u32, notes: &mut BTreeSet<Note>) -> Scopes {
    if abi < Scope::SINCE {
        notes.insert(Note::NoScopes { abi });
        return Scopes::default();
    }
    let mut scoped = Scopes::default();
    let signals = recording.syscalls.values().flatten().any(|entry| {
        entry
            .name
            .as_deref()
            .is_some_and(|n| SIGNAL_SYSCALLS.contains(&n))
    });
    if signals {
        notes.insert(Note::SignalsSent);
    } else {
        scoped.insert(Scope::Signal);
    }
    match &recording.sockets {
        Some(sockets) if sockets.iter().all(|s| s.family != "AF_UNIX") => {
            scoped.insert(Scope::AbstractUnixSocket);
        }
        _ => {
            notes.insert(Note::UnixSocketsUsed);
        }
    }
    scoped
}

pub(crate) fn strip_slash(path: &[u8]) -> &[u8] {
    match path {
        [b'/'] => path,
        [rest @ .., b'/'] => rest,
        _ => path,
    }
}

/// Path bytes that came from a UTF-8 path, cut at a `/`, as text.
fn to_text(bytes: &[u8]) -> String {
    if bytes.is_empty() {
        return "/".into();
    }
    String::from_utf8_lossy(bytes).into_owned()
}

/// Absolute, without empty, `.` or `..` components (a trailing `/` is allowed).
pub(crate) fn is_canonical(path: &[u8]) -> bool {
    crate::policy::apparmor::is_canonical(path)
}

#[cfg(test)]
mod tests;
