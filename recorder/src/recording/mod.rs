//! The Recording: what a run was seen doing, as a versioned JSON file.
//!
//! This file is the contract between recording (root, BPF, one machine) and everything after
//! it (generate, merge, diff: anywhere, no privileges). Maps and lists are kept in a fixed
//! order so that the same observations always serialise to the same bytes. The schema is
//! documented in `docs/recording-format.md`.
//!
//! The first wing of the crate: it imports nothing else of it, so the contract can be read,
//! merged and reviewed without root, BPF or the code that records.

pub mod arguments;
pub mod capabilities;
pub mod containers;
pub mod merge;
pub mod path;
pub mod summary;
pub mod syscalls;

use std::{
    collections::BTreeMap,
    fs,
    io::{self, Write as _},
    os::unix::fs::PermissionsExt as _,
    path::{Path, PathBuf},
};

use serde::{Deserialize, Serialize};

use syscalls::Abi;

/// Shown as the maker of syscalls whose program was never seen executing: it was already
/// running when the recording started (for `record -- CMD`, that is only the `execve` of CMD,
/// made by the not-yet-replaced child).
pub const UNKNOWN_EXECUTABLE: &str = "(started before recording)";

/// Value of the `format` field: tells a recording apart from other JSON.
pub const FORMAT: &str = "leastpriv-recording";
/// Schema version this build writes and reads.
pub const VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recording {
    pub format: String,
    pub version: u32,
    pub tool: Tool,
    pub host: Host,
    pub target: Target,
    /// RFC 3339, UTC, whole seconds.
    pub started_at: String,
    pub finished_at: String,
    /// False when the run was interrupted or could not be observed to its end.
    pub complete: bool,
    /// Identifies this run (random, made at record time), so merged recordings can say
    /// which runs contributed what.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
    /// In a merged recording: every run that went into it, sorted by id.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub runs: Vec<RunInfo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incomplete_reason: Option<String>,
    /// The command's exit status (128+N when killed by signal N); absent for `--cgroup`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_status: Option<i32>,
    /// Per ABI, every syscall number seen, sorted by number. An ABI appears only when used.
    pub syscalls: BTreeMap<Abi, Vec<SyscallEntry>>,
    /// Programs executed inside the target, sorted by path.
    pub executables: Vec<Executable>,
    /// Files accessed, sorted by path; absent when file access was not recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub files: Option<Vec<FileAccess>>,
    /// Sockets created, sorted; absent when not recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sockets: Option<Vec<SocketUse>>,
    /// Inet ports bound and connected to, sorted; absent in recordings made before ports
    /// were recorded (then unknown, not none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ports: Option<Vec<PortUse>>,
    /// Per ABI, the recorded values of the arguments that decide risk (docs/seccomp.md),
    /// sorted; absent in recordings made before argument recording existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arguments: Option<BTreeMap<Abi, Vec<SyscallArguments>>>,
    /// Capability checks, grouped by capability, audit and verdict; absent when the kernel
    /// could not report them (no `capability:cap_capable` tracepoint).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capabilities: Option<Vec<CapabilityCheck>>,
    /// The user the command ran as (absent for `--cgroup`, and for merges of runs that did
    /// not all run as the same user).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<RunUser>,
    /// Executed programs that can raise privileges (setuid, setgid or file capabilities),
    /// sorted by path: what decides `allowPrivilegeEscalation` and `NoNewPrivileges`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub escalating_programs: Vec<EscalatingProgram>,
    /// Processes still in the cgroup when the grace period ended (they were then killed).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub left_running: Vec<LeftRunning>,
    /// The recording began while the target was already running (`record --cgroup`,
    /// `record --container`): what it did before is not in it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub started_late: bool,
    /// Processes moved out of the recorded cgroups into cgroups the recording did not follow
    /// (what they did there is not recorded), in the order seen.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub moved_out: Vec<MovedOut>,
    pub lost: Lost,
    /// The containers the command started, each recorded on its own from its entrypoint's
    /// execve on; everything above is what the command itself did (for `record -- podman
    /// run ...`: the engine's CLI, conmon and the runtime). Sorted by engine and id.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub containers: Vec<Container>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tool {
    pub name: String,
    pub version: String,
}

impl Tool {
    /// This build of leastpriv.
    pub fn current() -> Tool {
        Tool {
            name: "leastpriv".into(),
            version: env!("CARGO_PKG_VERSION").into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Host {
    /// Kernel release (`uname -r`).
    pub kernel: String,
    /// Machine architecture (`uname -m`).
    pub arch: String,
}

/// What was recorded: a command started by leastpriv, or an existing cgroup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    Command(Vec<String>),
    Cgroup(String),
    /// A merge of several runs, listed in `Recording::runs`.
    Merged(usize),
}

/// One run that went into a merged recording.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RunInfo {
    pub id: String,
    pub target: String,
    pub host: String,
    pub started_at: String,
    pub finished_at: String,
    pub complete: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_status: Option<i32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyscallEntry {
    /// The number in this ABI's table, as the kernel saw it (x32 bit removed).
    pub nr: i64,
    /// The table's name; absent for numbers the table does not know (kept, never dropped).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// How many times it was called.
    pub count: u64,
    /// Executables that made it (paths, sorted), for review: "which binary needs this?".
    #[serde(default, skip_serializing_if = "ExePaths::is_empty")]
    pub by: ExePaths,
    /// The runs (recordings) that contributed this, in merged recordings; empty otherwise.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub runs: Vec<String>,
}

/// The argument values one syscall was called with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyscallArguments {
    pub syscall: String,
    /// Which arguments `values` hold, e.g. `["family", "type", "protocol"]`.
    pub arguments: Vec<String>,
    /// Each distinct combination seen, sorted.
    pub values: Vec<ArgumentValues>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArgumentValues {
    /// The values, masked as documented (flags words keep only the bits that matter).
    pub values: Vec<u64>,
    /// The same values by name where they have one (`AF_INET`, `CLONE_NEWUSER`, `TIOCSTI`).
    pub names: Vec<String>,
    pub count: u64,
    pub by: ExePaths,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub runs: Vec<String>,
}

/// How a file was accessed. Serialised in snake_case (`mmap_exec`, `rename_from`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Access {
    /// Opened for reading.
    Read,
    /// Opened for writing (not appending).
    Write,
    /// Opened for writing with O_APPEND only.
    Append,
    /// Executed (the program file, or a script's interpreter).
    Exec,
    /// Memory-mapped executable (shared libraries).
    MmapExec,
    /// Created (O_CREAT that made it, mknod, or the new name of a link/rename target).
    Create,
    Unlink,
    /// The old name of a rename.
    RenameFrom,
    /// The new name of a rename.
    RenameTo,
    Mkdir,
    Rmdir,
    /// The new name of a hard link.
    Link,
    /// The new name of a symbolic link.
    Symlink,
    Chmod,
    Chown,
    /// flock/fcntl locks.
    Lock,
}

/// A set of access kinds, as bits: a recording of a million files holds one per file, and a
/// list allocated for each cost more than the file's path. Serialised as the sorted list of
/// kind names (`["read", "write"]`); read from a list in any order.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Accesses(u32);

impl Accesses {
    /// Every kind, in the order sets are listed.
    pub(crate) const ALL: [Access; 16] = [
        Access::Read,
        Access::Write,
        Access::Append,
        Access::Exec,
        Access::MmapExec,
        Access::Create,
        Access::Unlink,
        Access::RenameFrom,
        Access::RenameTo,
        Access::Mkdir,
        Access::Rmdir,
        Access::Link,
        Access::Symlink,
        Access::Chmod,
        Access::Chown,
        Access::Lock,
    ];

    pub const fn of(kinds: &[Access]) -> Accesses {
        let mut bits = 0;
        let mut i = 0;
        while i < kinds.len() {
            bits |= 1 << kinds[i] as u32;
            i += 1;
        }
        Accesses(bits)
    }

    pub fn contains(self, kind: Access) -> bool {
        self.0 & (1 << kind as u32) != 0
    }

    pub fn intersects(self, other: Accesses) -> bool {
        self.0 & other.0 != 0
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn insert(&mut self, kind: Access) {
        self.0 |= 1 << kind as u32;
    }

    pub fn union(self, other: Accesses) -> Accesses {
        Accesses(self.0 | other.0)
    }

    /// The kinds in the set, in `Access` order.
    pub fn iter(self) -> impl Iterator<Item = Access> {
        Self::ALL
            .into_iter()
            .filter(move |&kind| self.contains(kind))
    }
}

impl FromIterator<Access> for Accesses {
    fn from_iter<I: IntoIterator<Item = Access>>(kinds: I) -> Accesses {
        let mut set = Accesses::default();
        for kind in kinds {
            set.insert(kind);
        }
        set
    }
}

impl Serialize for Accesses {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.iter())
    }
}

impl<'de> Deserialize<'de> for Accesses {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Accesses, D::Error> {
        struct Kinds;
        impl<'de> serde::de::Visitor<'de> for Kinds {
            type Value = Accesses;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a list of access kinds")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Accesses, A::Error> {
                let mut set = Accesses::default();
                while let Some(kind) = seq.next_element::<Access>()? {
                    set.insert(kind);
                }
                Ok(set)
            }
        }
        deserializer.deserialize_seq(Kinds)
    }
}

/// An executable's path in a `by` list. A recording names the same few executables for up to
/// millions of files and syscalls, so while a recording is read each distinct path is stored
/// once and shared (see [`Recording::from_json`]). Data from the workload: never trusted.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ExePath(std::sync::Arc<str>);

impl ExePath {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::ops::Deref for ExePath {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl std::borrow::Borrow<str> for ExePath {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for ExePath {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        std::fmt::Debug::fmt(&*self.0, f)
    }
}

impl std::fmt::Display for ExePath {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for ExePath {
    fn from(path: &str) -> ExePath {
        ExePath(path.into())
    }
}

impl From<String> for ExePath {
    fn from(path: String) -> ExePath {
        ExePath(path.into())
    }
}

impl PartialEq<&str> for ExePath {
    fn eq(&self, other: &&str) -> bool {
        *self.0 == **other
    }
}

impl Serialize for ExePath {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for ExePath {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<ExePath, D::Error> {
        deserializer.deserialize_str(exe_paths::PathOf(exe_paths::shared))
    }
}

/// The executables that made something: usually one, so it is held inline.
pub type ExePaths = smallvec::SmallVec<[ExePath; 1]>;

/// The executable paths seen while one recording is read, so that each is stored once.
mod exe_paths {
    use std::{cell::RefCell, collections::HashSet, fmt, sync::Arc};

    use serde::{
        de::{SeqAccess, Visitor},
        Deserialize, Deserializer,
    };

    use super::{ExePath, ExePaths};

    type Seen = HashSet<Arc<str>, foldhash::fast::RandomState>;

    /// The recording being read on this thread, if one is.
    struct Reading {
        seen: Seen,
        keep_file_makers: bool,
    }

    thread_local! {
        static READING: RefCell<Option<Reading>> = const { RefCell::new(None) };
    }

    /// Shares paths between the `ExePath`s made on this thread, and keeps or leaves out files'
    /// makers, until it is dropped.
    pub(super) struct Sharing(());

    pub(super) fn share(keep_file_makers: bool) -> Sharing {
        READING.with_borrow_mut(|reading| {
            *reading = Some(Reading {
                seen: Seen::default(),
                keep_file_makers,
            })
        });
        Sharing(())
    }

    impl Drop for Sharing {
        fn drop(&mut self) {
            READING.with_borrow_mut(|reading| *reading = None);
        }
    }

    /// Visits an executable's path (a string) and makes a `T` of it.
    pub(super) struct PathOf<F>(pub(super) F);

    impl<T, F: FnOnce(&str) -> T> Visitor<'_> for PathOf<F> {
        type Value = T;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("an executable's path")
        }
        fn visit_str<E: serde::de::Error>(self, path: &str) -> Result<T, E> {
            Ok((self.0)(path))
        }
    }

    /// A file access's `by`: kept, or, while reading without files' makers, checked to be a
    /// list of strings and left out (no path is copied or shared).
    pub(super) fn file_makers<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<ExePaths, D::Error> {
        let leave_out = READING.with_borrow(|reading| {
            reading
                .as_ref()
                .is_some_and(|reading| !reading.keep_file_makers)
        });
        if !leave_out {
            return ExePaths::deserialize(deserializer);
        }
        struct Paths;
        impl<'de> Visitor<'de> for Paths {
            type Value = ExePaths;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a list of executables' paths")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<ExePaths, A::Error> {
                while seq.next_element::<Unkept>()?.is_some() {}
                Ok(ExePaths::new())
            }
        }
        deserializer.deserialize_seq(Paths)
    }

    /// A path read and not kept.
    struct Unkept;

    impl<'de> Deserialize<'de> for Unkept {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Unkept, D::Error> {
            deserializer.deserialize_str(PathOf(|_: &str| Unkept))
        }
    }

    /// `path` as an ExePath: the one already made for it while sharing, else a new one.
    pub(super) fn shared(path: &str) -> ExePath {
        READING.with_borrow_mut(|reading| match reading {
            Some(Reading { seen, .. }) => match seen.get(path) {
                Some(known) => ExePath(known.clone()),
                None => {
                    let new: Arc<str> = path.into();
                    seen.insert(new.clone());
                    ExePath(new)
                }
            },
            None => ExePath(path.into()),
        })
    }
}

/// One file (or directory) and every way it was accessed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileAccess {
    /// Absolute path as the kernel resolved it. Bytes that are not UTF-8 are shown as U+FFFD
    /// here and given exactly in `path_hex`. Data from the workload: never trusted.
    pub path: String,
    /// The exact path bytes in hex, present only when `path` is not the exact text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_hex: Option<String>,
    /// Access kinds.
    pub access: Accesses,
    /// The executables that made the accesses (sorted). Empty when the recording was read
    /// with [`Recording::read_without_file_makers`].
    #[serde(deserialize_with = "exe_paths::file_makers")]
    pub by: ExePaths,
    /// The runs (recordings) that contributed this, in merged recordings; empty otherwise.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub runs: Vec<String>,
}

/// Sockets of one kind that were created.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SocketUse {
    /// `AF_INET`, `AF_UNIX`, ... (or the number in hex for families without a name).
    pub family: String,
    /// `SOCK_STREAM`, `SOCK_DGRAM`, `SOCK_RAW`, ... (flags removed).
    #[serde(rename = "type")]
    pub kind: String,
    pub protocol: u32,
    pub by: ExePaths,
    /// The runs (recordings) that contributed this, in merged recordings; empty otherwise.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub runs: Vec<String>,
}

/// What was done with a port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PortOp {
    Bind,
    Connect,
}

/// A port bound or connected to, by protocol, address family and whether the address (the
/// peer's for a connect, the local one for a bind) was loopback.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PortUse {
    /// `tcp`, `udp`, or the socket type (`SOCK_RAW`, ...; `unknown` when it could not be read).
    pub protocol: String,
    pub op: PortOp,
    /// `AF_INET` or `AF_INET6`.
    pub family: String,
    pub port: u16,
    pub loopback: bool,
    pub by: ExePaths,
    /// The runs (recordings) that contributed this, in merged recordings; empty otherwise.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub runs: Vec<String>,
}

impl PortUse {
    /// The protocol name of a socket type: streams are TCP and datagrams UDP on inet sockets.
    pub fn protocol_of(sock_type: u32) -> String {
        match sock_type {
            1 => "tcp".into(),
            2 => "udp".into(),
            0 => "unknown".into(),
            other => arguments::socket_type_name(other),
        }
    }
}

/// Capability checks of one kind: one capability, audited or not, granted or not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CapabilityCheck {
    /// `CAP_NET_BIND_SERVICE`.
    pub capability: String,
    /// Its number (10).
    pub number: u32,
    /// Audited (a need), probe (CAP_OPT_NOAUDIT) or unknown.
    pub audit: crate::recording::capabilities::Audit,
    pub granted: bool,
    pub count: u64,
    /// The kernel functions that asked (sorted).
    pub via: Vec<String>,
    /// The syscalls in progress, as `abi:name` (sorted).
    pub syscalls: Vec<String>,
    /// The executables that made them (sorted).
    pub by: ExePaths,
    /// The runs (recordings) that contributed this, in merged recordings; empty otherwise.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub runs: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Executable {
    /// The runs that executed it, in merged recordings; empty otherwise.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub runs: Vec<String>,
    /// The file name the kernel executed. Data from the workload: never trusted.
    pub path: String,
    /// How many times it was executed.
    pub execs: u64,
}

/// Who the command ran as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunUser {
    pub uid: u32,
    pub gid: u32,
}

/// An executed program that can raise privileges on exec.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct EscalatingProgram {
    pub path: String,
    pub setuid: bool,
    pub setgid: bool,
    /// It has a `security.capability` extended attribute.
    pub file_capabilities: bool,
}

/// A container the recorded command started.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Container {
    /// `podman` or `docker`.
    pub engine: String,
    /// The engine's container id.
    pub id: String,
    /// The container's name, when the engine said it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The image, or the root filesystem directory (`podman run --rootfs`), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// The container's cgroup on the unified hierarchy.
    pub cgroup: String,
    /// What the container did, from its entrypoint's execve on.
    pub recording: Box<Recording>,
}

/// A process moved out of the recorded cgroups into one that was not followed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MovedOut {
    /// The process moved.
    pub pid: u32,
    /// Its executable, when it could still be read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub executable: Option<String>,
    /// The process that moved it (the same when it moved itself).
    pub by_pid: u32,
    /// The destination cgroup (its path within the hierarchy).
    pub cgroup: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeftRunning {
    pub pid: u32,
    pub comm: String,
}

/// Counters of what could not be recorded. All zero means the recording is exact.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lost {
    /// Exec events dropped because the ring buffer was full.
    pub exec_events: u64,
    /// Odd syscall numbers (outside the dense table) dropped because their map was full.
    pub syscall_numbers: u64,
    /// Syscalls whose executable could not be noted (the provenance map was full). The
    /// syscall itself is still counted.
    #[serde(default)]
    pub provenance: u64,
    /// Capability checks dropped because their map was full.
    #[serde(default)]
    pub capability_checks: u64,
    /// Capability checks whose kernel stack could not be kept (audit unknown).
    #[serde(default)]
    pub capability_stacks: u64,
    /// File or socket events dropped because the ring buffer was full.
    #[serde(default)]
    pub file_events: u64,
    /// Argument values not noted because their map was full (profiles then leave those
    /// syscalls unconditional).
    #[serde(default)]
    pub argument_values: u64,
    /// File syscalls whose entry could not be noted (their access is unknown).
    #[serde(default)]
    pub file_calls: u64,
    /// File accesses whose path could not be resolved completely (deeper than 48
    /// components, or an unresolvable directory); never turned into rules.
    #[serde(default)]
    pub unresolved_paths: u64,
    /// Accesses to new file paths after `record --max-paths` distinct paths were kept:
    /// those paths are not in the recording.
    #[serde(default)]
    pub file_paths: u64,
    /// Moves of recorded tasks into other cgroups that could not be reported (the ring
    /// buffer was full): where they went is unknown. Written only when not 0.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub cgroup_moves: u64,
    /// Ports bound or connected to that could not be noted (their map was full, or the
    /// ring buffer was). Written only when not 0.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub ports: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl Lost {
    /// The non-zero counters in words, e.g. `3 exec events, 1 capability stack`.
    pub fn describe(&self) -> String {
        let parts: Vec<String> = self
            .counters()
            .iter()
            .filter(|(n, _)| *n > 0)
            .map(|(n, what)| format!("{n} {what}"))
            .collect();
        if parts.is_empty() {
            "nothing".into()
        } else {
            parts.join(", ")
        }
    }

    /// Everything lost, all kinds together.
    pub fn total(&self) -> u64 {
        self.counters().iter().map(|(n, _)| n).sum()
    }

    /// Every counter with what it counts.
    fn counters(&self) -> [(u64, &'static str); 12] {
        [
            (self.exec_events, "exec events"),
            (self.syscall_numbers, "odd syscall numbers"),
            (self.provenance, "syscalls without their executable"),
            (self.capability_checks, "capability checks"),
            (self.capability_stacks, "capability check stacks"),
            (self.file_events, "file or socket events"),
            (self.argument_values, "argument values"),
            (self.file_calls, "file syscalls"),
            (self.unresolved_paths, "unresolved file paths"),
            (self.file_paths, "file accesses beyond --max-paths"),
            (self.cgroup_moves, "moves into other cgroups"),
            (self.ports, "ports bound or connected to"),
        ]
    }

    pub fn is_nothing(&self) -> bool {
        *self == Lost::default()
    }
}

/// Errors reading or writing a Recording file.
#[derive(Debug, thiserror::Error)]
pub enum RecordingError {
    #[error("cannot read recording {path}")]
    Read { path: PathBuf, source: io::Error },
    #[error("{path} is not a valid recording")]
    Parse {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("{path} is not a leastpriv recording (format is {found:?}, expected {FORMAT:?})")]
    WrongFormat { path: PathBuf, found: String },
    #[error("{path} is a version {found} recording; this leastpriv reads version {VERSION}")]
    UnsupportedVersion { path: PathBuf, found: u32 },
    #[error("{path} changed while it was being read; read it again once it is written")]
    Changed { path: PathBuf },
    #[error("cannot write recording {path}")]
    Write { path: PathBuf, source: io::Error },
}

impl Recording {
    /// Reads and validates a recording file.
    pub fn read(path: &Path) -> Result<Recording, RecordingError> {
        Self::read_keeping(path, true)
    }

    /// [`read`](Self::read), without the executables that made each file access (`by` of
    /// `files`, left empty): no profile generator uses them, and for a million files they
    /// were a tenth of the reading time. They are still checked to be lists of strings.
    pub fn read_without_file_makers(path: &Path) -> Result<Recording, RecordingError> {
        Self::read_keeping(path, false)
    }

    fn read_keeping(path: &Path, keep_file_makers: bool) -> Result<Recording, RecordingError> {
        let read_error = |source| RecordingError::Read {
            path: path.into(),
            source,
        };
        let text = RecordingText::open(path).map_err(read_error)?;
        let json = text.as_str().map_err(read_error)?;
        let recording = Self::parse(path, json, keep_file_makers)?;
        if text.changed().map_err(read_error)? {
            return Err(RecordingError::Changed { path: path.into() });
        }
        Ok(recording)
    }

    /// Parses recording text; `path` only names the source in errors.
    pub fn from_json(path: &Path, text: &str) -> Result<Recording, RecordingError> {
        Self::parse(path, text, true)
    }

    fn parse(path: &Path, text: &str, keep_file_makers: bool) -> Result<Recording, RecordingError> {
        // The header decides the message: a file from another tool or a newer version gets
        // one about that rather than about some field deep inside. It is read from the whole
        // recording, and parsed on its own only when the whole does not parse: a large
        // recording is scanned once.
        #[derive(Deserialize)]
        struct Header {
            format: Option<String>,
            version: Option<u32>,
        }
        let parse_error = |source| RecordingError::Parse {
            path: path.into(),
            source,
        };
        let sharing = exe_paths::share(keep_file_makers);
        let whole = serde_json::from_str::<Recording>(text);
        drop(sharing);
        let header = match &whole {
            Ok(recording) => Header {
                format: Some(recording.format.clone()),
                version: Some(recording.version),
            },
            Err(_) => serde_json::from_str(text).map_err(parse_error)?,
        };
        let format = header.format.unwrap_or_default();
        if format != FORMAT {
            return Err(RecordingError::WrongFormat {
                path: path.into(),
                found: format,
            });
        }
        match header.version {
            Some(VERSION) => {}
            found => {
                return Err(RecordingError::UnsupportedVersion {
                    path: path.into(),
                    found: found.unwrap_or(0),
                })
            }
        }
        whole.map_err(parse_error)
    }

    /// The recording as pretty JSON with a final newline: stable bytes for stable input.
    pub fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).expect("a Recording always serialises");
        text.push('\n');
        text
    }

    /// Writes the file atomically: a temporary file in the same directory, flushed, then
    /// renamed over `path`, so a crash or Ctrl-C never leaves half a recording. The JSON is
    /// streamed into the file, not built in memory first.
    pub fn write(&self, path: &Path) -> Result<(), RecordingError> {
        write_atomically_with(path, |out| {
            serde_json::to_writer_pretty(&mut *out, self).map_err(io::Error::other)?;
            out.write_all(b"\n")
        })
        .map_err(|source| RecordingError::Write {
            path: path.into(),
            source,
        })
    }

    /// Number of distinct syscalls over all ABIs.
    pub fn distinct_syscalls(&self) -> usize {
        self.syscalls.values().map(Vec::len).sum()
    }
}

#[cfg(test)]
mod test_support;

/// A recording's text. A large one is mapped rather than read. A recording of a million files
/// is over 100 MB, and faulting in fresh memory for a copy of it cost a seventh of generating
/// a seccomp profile from it, while the file's pages are usually in the page cache already.
enum RecordingText {
    Read(Vec<u8>),
    Mapped {
        map: memmap2::Mmap,
        file: fs::File,
        /// The file's size and modification time when it was mapped.
        when_mapped: (u64, Option<std::time::SystemTime>),
    },
}

impl RecordingText {
    /// Smaller files are read: mapping costs more than copying them.
    const SMALLEST_MAPPED: u64 = 4 << 20;

    fn open(path: &Path) -> io::Result<RecordingText> {
        let mut file = fs::File::open(path)?;
        let metadata = file.metadata()?;
        if !metadata.is_file() || metadata.len() < Self::SMALLEST_MAPPED {
            let mut bytes = Vec::new();
            io::Read::read_to_end(&mut file, &mut bytes)?;
            return Ok(RecordingText::Read(bytes));
        }
        // SAFETY: the map is only read, and only while `file` is open. Recordings are written
        // by renaming a finished file over the old one (`write_atomically`), which leaves these
        // pages as they are. A file changed in place while it is read is refused once it has
        // been parsed (`changed`); one truncated meanwhile ends the process with SIGBUS, before
        // any output is written.
        let map = unsafe { memmap2::Mmap::map(&file)? };
        Ok(RecordingText::Mapped {
            map,
            when_mapped: (metadata.len(), metadata.modified().ok()),
            file,
        })
    }

    fn as_str(&self) -> io::Result<&str> {
        let bytes = match self {
            RecordingText::Read(bytes) => bytes,
            RecordingText::Mapped { map, .. } => &map[..],
        };
        std::str::from_utf8(bytes).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
    }

    /// Whether a mapped file's size or modification time is no longer what it was.
    fn changed(&self) -> io::Result<bool> {
        match self {
            RecordingText::Read(_) => Ok(false),
            RecordingText::Mapped {
                file, when_mapped, ..
            } => {
                let now = file.metadata()?;
                Ok((now.len(), now.modified().ok()) != *when_mapped)
            }
        }
    }
}

/// Writes `bytes` to `path` through a temporary file in the same directory and a rename.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write_atomically_with(path, |out| out.write_all(bytes))
}

/// Lets `write` fill a temporary file in `path`'s directory (buffered), then flushes it to
/// disk and renames it over `path`; on any error the temporary file is removed.
pub fn write_atomically_with(
    path: &Path,
    write: impl FnOnce(&mut io::BufWriter<&fs::File>) -> io::Result<()>,
) -> io::Result<()> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let file = tempfile::Builder::new()
        .prefix(".leastpriv-")
        .tempfile_in(dir)?;
    // tempfile creates 0600; a recording or profile is meant to be read by others (CI, review).
    file.as_file()
        .set_permissions(fs::Permissions::from_mode(0o644))?;
    let mut out = io::BufWriter::with_capacity(1 << 16, file.as_file());
    write(&mut out)?;
    out.flush()?;
    drop(out);
    file.as_file().sync_all()?;
    file.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// Turns per-(ABI, number) counts, and who made each, into the recording's sorted lists.
pub fn syscall_entries(
    counts: &BTreeMap<(Abi, i64), u64>,
    makers: &BTreeMap<(Abi, i64), std::collections::BTreeSet<ExePath>>,
) -> BTreeMap<Abi, Vec<SyscallEntry>> {
    let mut by_abi: BTreeMap<Abi, Vec<SyscallEntry>> = BTreeMap::new();
    for (&(abi, nr), &count) in counts {
        if count == 0 {
            continue;
        }
        by_abi.entry(abi).or_default().push(SyscallEntry {
            nr,
            name: abi.syscall_name(nr).map(str::to_owned),
            count,
            runs: vec![],
            by: makers
                .get(&(abi, nr))
                .map(|s| s.iter().cloned().collect())
                .unwrap_or_default(),
        });
    }
    by_abi
}

#[cfg(test)]
mod tests;
