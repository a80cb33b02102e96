//! Whether a workload can run with `hostUsers: false`, as non-root, without privilege
//! escalation and with a read-only root filesystem, decided from what it was recorded doing
//! (docs/kubernetes.md). Every decision carries its evidence: the capability check, syscall
//! or path, and the program that made it. A fact the recording does not hold (a recording
//! from an older leastpriv, `record --cgroup`, lost events) makes the decision unknown,
//! never a guess.

use std::collections::BTreeSet;

use crate::recording::{capabilities::Audit, Access, Accesses, CapabilityCheck, Recording};

/// One decision: its value, or `None` when the recording cannot tell, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision<T> {
    pub value: Option<T>,
    /// The evidence, one line per fact; for an unknown, what is missing.
    pub because: Vec<String>,
}

impl<T> Decision<T> {
    fn known(value: T, because: Vec<String>) -> Self {
        Decision {
            value: Some(value),
            because,
        }
    }

    fn unknown(because: impl Into<String>) -> Self {
        Decision {
            value: None,
            because: vec![because.into()],
        }
    }
}

/// The ids a pod's user namespace maps (kubelet gives each pod 65,536).
pub const POD_ID_RANGE: u32 = 65_536;

/// The user a workload recorded as root is given when it can run as another: `nobody`,
/// inside the pod's id range. Any non-root uid that owns what the workload writes will do.
pub const NON_ROOT_UID: u32 = 65_534;

/// Access kinds that change the filesystem (a lock does not).
const WRITES: Accesses = Accesses::of(&[
    Access::Write,
    Access::Append,
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
]);

/// Filesystems a container runtime mounts on its own, writable or not, whatever
/// `readOnlyRootFilesystem` says: `/dev` (a tmpfs with the device nodes, `/dev/shm`,
/// `/dev/pts`, `/dev/mqueue`, `/dev/termination-log`), `/proc` and `/sys`. Writes there are
/// not writes to the root filesystem.
const RUNTIME_MOUNTS: &[&str] = &["/dev", "/proc", "/sys"];

/// Directories every user may create files in (mode 1777 in images): a workload run as
/// another user can still write there, so writing there relies on nobody's ownership. They
/// are on the root filesystem unless the pod mounts a volume there (commonly an emptyDir).
const SHARED_TEMPORARY: &[&str] = &["/tmp", "/var/tmp"];

/// Whether `path` is `dir` or under it. A path with a `.` or `..` component (the kernel
/// resolves paths, so only a crafted recording has one) is under nothing: `/dev/../etc/x`
/// must not pass for a write in `/dev`.
fn under(path: &str, dir: &str) -> bool {
    if path.split('/').any(|c| c == "." || c == "..") {
        return false;
    }
    let dir = dir.trim_end_matches('/');
    dir.is_empty() || path == dir || path.strip_prefix(dir).is_some_and(|r| r.starts_with('/'))
}

/// A written file: its path, what was done to it, and by which programs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    pub path: String,
    pub access: Accesses,
    pub by: Vec<String>,
}

impl Written {
    pub fn describe(&self) -> String {
        let kinds: Vec<String> = self
            .access
            .iter()
            .filter(|k| WRITES.contains(*k))
            .map(|k| format!("{k:?}").to_lowercase())
            .collect();
        format!(
            "{} ({}{})",
            self.path.escape_debug(),
            kinds.join(", "),
            by(&self.by)
        )
    }
}

/// ` by P, Q` for evidence lines; empty when the makers were not kept.
fn by(programs: &[String]) -> String {
    if programs.is_empty() {
        String::new()
    } else {
        let names: Vec<String> = programs
            .iter()
            .map(|p| p.escape_debug().to_string())
            .collect();
        format!(" by {}", names.join(", "))
    }
}

/// Every file the workload changed that is not in a runtime mount, sorted by path; why not,
/// when the recording cannot list them all.
fn written_files(recording: &Recording) -> Result<Vec<Written>, String> {
    let Some(files) = &recording.files else {
        return Err("the recording holds no file accesses (made without file recording or by an older leastpriv)".into());
    };
    let lost = &recording.lost;
    let missing = lost.file_events + lost.file_calls + lost.file_paths + lost.unresolved_paths;
    if missing > 0 {
        return Err(format!(
            "the recording lost file accesses ({}): a write may be among them",
            lost.describe()
        ));
    }
    Ok(files
        .iter()
        // Paths that are not absolute (pipes, sockets, anonymous files) are on no filesystem
        // of the image.
        .filter(|f| f.path.starts_with('/') && f.access.intersects(WRITES))
        .filter(|f| !RUNTIME_MOUNTS.iter().any(|m| under(&f.path, m)))
        .map(|f| Written {
            path: f.path.clone(),
            access: f.access,
            by: f.by.iter().map(|p| p.to_string()).collect(),
        })
        .collect())
}

/// `readOnlyRootFilesystem`: true unless the workload wrote outside the volumes; the second
/// value lists every such write.
pub fn read_only_root(recording: &Recording, volumes: &[String]) -> (Decision<bool>, Vec<Written>) {
    let written = match written_files(recording) {
        Ok(written) => written,
        Err(why) => return (Decision::unknown(why), vec![]),
    };
    let outside: Vec<Written> = written
        .into_iter()
        .filter(|w| !volumes.iter().any(|v| under(&w.path, v)))
        .collect();
    let volumes_text = if volumes.is_empty() {
        "no --volume given".to_owned()
    } else {
        format!(
            "volumes {}",
            volumes
                .iter()
                .map(|v| v.escape_debug().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    if outside.is_empty() {
        return (
            Decision::known(
                true,
                vec![format!(
                    "it wrote nothing outside /dev, /proc, /sys and the volumes ({volumes_text})"
                )],
            ),
            outside,
        );
    }
    let mut because = vec![format!(
        "it wrote {} path(s) on the root filesystem ({volumes_text}); the first: {}",
        outside.len(),
        outside[0].describe()
    )];
    let temporary: BTreeSet<&str> = outside
        .iter()
        .filter_map(|w| SHARED_TEMPORARY.iter().find(|t| under(&w.path, t)).copied())
        .collect();
    for dir in temporary {
        because.push(format!(
            "{dir} is usually an emptyDir volume: pass --volume {dir} if the pod mounts one there"
        ));
    }
    (Decision::known(false, because), outside)
}

/// Capabilities whose checks a user namespace does not satisfy for the pod's uses: the
/// kernel checks them against the initial user namespace (`capable()`), or (SYS_ADMIN) for
/// most of their uses. Anything not in [`NAMESPACED`] is treated so too.
const INITIAL_NAMESPACE_ONLY: &[(&str, &str)] = &[
    ("CAP_MKNOD", "creating device nodes (vfs_mknod asks the initial namespace)"),
    ("CAP_SYS_MODULE", "loading kernel modules"),
    ("CAP_SYS_TIME", "setting the host clock"),
    ("CAP_SYS_RAWIO", "raw I/O ports and devices"),
    ("CAP_SYS_ADMIN", "most of its uses (mounting most filesystems, swap, quotas, keyrings, ...) are honoured only in the initial namespace, and the recording does not say which use it was"),
    ("CAP_SYS_BOOT", "rebooting"),
    ("CAP_SYS_NICE", "raising priority (can_nice asks the initial namespace)"),
    ("CAP_SYS_RESOURCE", "overriding resource limits"),
    ("CAP_SYS_PACCT", "process accounting"),
    ("CAP_SYS_TTY_CONFIG", "configuring terminals"),
    ("CAP_IPC_LOCK", "locking memory beyond RLIMIT_MEMLOCK"),
    ("CAP_LEASE", "leases on files it does not own"),
    ("CAP_LINUX_IMMUTABLE", "immutable and append-only file flags"),
    ("CAP_AUDIT_WRITE", "the audit socket refuses every user namespace but the initial one"),
    ("CAP_AUDIT_CONTROL", "the audit socket refuses every user namespace but the initial one"),
    ("CAP_AUDIT_READ", "the audit socket refuses every user namespace but the initial one"),
    ("CAP_MAC_ADMIN", "configuring the LSM"),
    ("CAP_MAC_OVERRIDE", "overriding the LSM"),
    ("CAP_SYSLOG", "the kernel log"),
    ("CAP_WAKE_ALARM", "wake-up alarms"),
    ("CAP_BLOCK_SUSPEND", "blocking suspend"),
    ("CAP_BPF", "BPF programs and maps"),
    ("CAP_PERFMON", "performance monitoring"),
];

/// Capabilities a pod's user namespace honours for the pod's own files, processes and
/// network namespace (the kernel checks them with `ns_capable()` against the namespace that
/// owns the object, and the pod's objects are mapped into it).
const NAMESPACED: &[&str] = &[
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_SETFCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_OWNER",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_CHECKPOINT_RESTORE",
];

/// Granted checks that were needs (audited, or unknown and so counted as needs).
fn needs(checks: &[CapabilityCheck]) -> impl Iterator<Item = &CapabilityCheck> {
    checks
        .iter()
        .filter(|c| c.granted && matches!(c.audit, Audit::Audited | Audit::Unknown))
}

/// `CAP_X (checked by f in x86_64:sys, by /bin/p)`.
fn check_evidence(check: &CapabilityCheck) -> String {
    let programs: Vec<String> = check.by.iter().map(|p| p.to_string()).collect();
    format!(
        "{} (checked by {} in {}{})",
        check.capability,
        check.via.join(", "),
        check.syscalls.join(", "),
        by(&programs)
    )
}

/// `hostUsers`: false unless a need is one only the initial user namespace satisfies, or the
/// recorded user is outside the pod's id range.
pub fn host_users(recording: &Recording) -> Decision<bool> {
    let Some(checks) = &recording.capabilities else {
        return Decision::unknown("the recording holds no capability checks (older leastpriv, or a kernel without the capability:cap_capable tracepoint)");
    };
    let mut because = Vec::new();
    for check in needs(checks) {
        let why = INITIAL_NAMESPACE_ONLY
            .iter()
            .find(|(name, _)| *name == check.capability)
            .map(|(_, why)| (*why).to_owned())
            .or_else(|| {
                (!NAMESPACED.contains(&check.capability.as_str()))
                    .then(|| "a capability this leastpriv does not know to be namespaced".into())
            });
        if let Some(why) = why {
            because.push(format!("needs {}: {why}", check_evidence(check)));
        }
    }
    if let Some(user) = recording.user {
        if user.uid >= POD_ID_RANGE || user.gid >= POD_ID_RANGE {
            because.push(format!(
                "it ran as uid {} gid {}, outside the {POD_ID_RANGE} ids a pod's user namespace maps",
                user.uid, user.gid
            ));
        }
    }
    if !because.is_empty() {
        return Decision::known(true, because);
    }
    let mut because =
        vec!["no capability it needs is honoured only in the initial user namespace".to_owned()];
    let chowned = recording
        .files
        .iter()
        .flatten()
        .any(|f| f.access.contains(Access::Chown));
    if chowned {
        because.push(format!(
            "it changed file ownership: the ids must be below {POD_ID_RANGE} (the recording does not hold chown's ids)"
        ));
    }
    Decision::known(false, because)
}

/// `runAsNonRoot` and the user: a workload recorded as non-root keeps its uid; one recorded
/// as root can run as another user when root gave it only capabilities (which that user can
/// be given) and it changed no file outside the volumes, runtime mounts and shared temporary
/// directories (those are root's in an image: another user cannot change them).
pub fn run_as_non_root(
    recording: &Recording,
    volumes: &[String],
) -> (Decision<bool>, Option<(u32, u32)>) {
    let Some(user) = recording.user else {
        return (
            Decision::unknown("the recording does not say which user the command ran as (record --cgroup, or merged runs)"),
            None,
        );
    };
    if user.uid != 0 {
        let mut because = vec![format!(
            "it was recorded running as uid {} gid {}",
            user.uid, user.gid
        )];
        if let Some(checks) = &recording.capabilities {
            let escalating: BTreeSet<&str> = recording
                .escalating_programs
                .iter()
                .map(|p| p.path.as_str())
                .collect();
            let own: BTreeSet<&str> = needs(checks)
                .filter(|c| !c.by.iter().all(|b| escalating.contains(b.as_str())))
                .map(|c| c.capability.as_str())
                .collect();
            if !own.is_empty() {
                because.push(format!(
                    "as that user it held {} itself (ambient capabilities): in Kubernetes, whose runtimes set no ambient capabilities, its program needs them as file capabilities in the image",
                    own.into_iter().collect::<Vec<_>>().join(", ")
                ));
            }
        }
        return (Decision::known(true, because), Some((user.uid, user.gid)));
    }
    let Some(checks) = &recording.capabilities else {
        return (
            Decision::unknown("it ran as root, and the recording holds no capability checks to tell what root gave it"),
            None,
        );
    };
    let written = match written_files(recording) {
        Ok(written) => written,
        Err(why) => {
            return (
                Decision::unknown(format!("it ran as root, and {why}")),
                None,
            )
        }
    };
    let owned: Vec<&Written> = written
        .iter()
        .filter(|w| !volumes.iter().any(|v| under(&w.path, v)))
        .filter(|w| !SHARED_TEMPORARY.iter().any(|t| under(&w.path, t)))
        .collect();
    if !owned.is_empty() {
        let mut because = vec![format!(
            "it ran as root and changed {} path(s) that root owns in an image; the first: {}",
            owned.len(),
            owned[0].describe()
        )];
        because.push("another user can run it only if the image gives it those paths, or they are volumes (--volume)".into());
        return (Decision::known(false, because), Some((0, 0)));
    }
    let capabilities: BTreeSet<&str> = needs(checks).map(|c| c.capability.as_str()).collect();
    let mut because = vec![format!(
        "it ran as root, changed no file root owns (outside volumes, /tmp and /var/tmp), and used root only through capabilities: {}",
        if capabilities.is_empty() {
            "none".to_owned()
        } else {
            capabilities.iter().copied().collect::<Vec<_>>().join(", ")
        }
    )];
    if !capabilities.is_empty() {
        because.push("a non-root user holds added capabilities only as ambient capabilities, which Kubernetes runtimes (containerd, CRI-O) do not set, or through file capabilities on the program in the image".into());
    }
    because.push(format!(
        "runAsUser {NON_ROOT_UID} is a choice (nobody): any non-root uid below {POD_ID_RANGE} will do"
    ));
    (
        Decision::known(true, because),
        Some((NON_ROOT_UID, NON_ROOT_UID)),
    )
}

/// `allowPrivilegeEscalation`: true only when an executed setuid or setgid program's extra
/// privilege was used. A file-capability program needs no escalation: what it uses is in the
/// add-list, which the runtime leaves permitted, and no_new_privs takes away only file
/// capabilities beyond that (tested with runc). A setuid or setgid program run by root gains
/// nothing; one run by another user gains its owner's capabilities (used when it made a
/// granted check) and file access, which the recording cannot see, so without a granted
/// check it still counts.
pub fn allow_privilege_escalation(recording: &Recording) -> Decision<bool> {
    if recording.escalating_programs.is_empty() {
        return Decision::known(
            false,
            vec!["no executed program was setuid, setgid or had file capabilities".into()],
        );
    }
    let run_as_root = recording.user.is_some_and(|u| u.uid == 0);
    let checks = recording.capabilities.as_deref();
    let mut used = Vec::new();
    let mut unused = Vec::new();
    for program in &recording.escalating_programs {
        let path = program.path.escape_debug().to_string();
        let kind: Vec<&str> = [
            (program.setuid, "setuid"),
            (program.setgid, "setgid"),
            (program.file_capabilities, "file capabilities"),
        ]
        .iter()
        .filter(|(on, _)| *on)
        .map(|(_, k)| *k)
        .collect();
        let kind = kind.join(", ");
        let granted: Vec<String> = checks
            .into_iter()
            .flat_map(needs)
            .filter(|c| c.by.iter().any(|b| b.as_str() == program.path))
            .map(check_evidence)
            .collect();
        if program.file_capabilities && !program.setuid && !program.setgid {
            // no_new_privs keeps a program's file capabilities to the permitted set the
            // program is executed with, and runc executes the container's program with the
            // added capabilities permitted: those it used are needs, so in the add-list.
            unused.push(match granted.is_empty() {
                true => format!(
                    "{path} ({kind}) made no granted capability check: its capabilities were not used"
                ),
                false => format!(
                    "{path} ({kind}) used them ({}), but they are in the add-list, and no_new_privs leaves a program the file capabilities the container holds permitted",
                    granted.join("; ")
                ),
            });
        } else if !granted.is_empty() && !run_as_root {
            used.push(format!(
                "{path} ({kind}) used its privilege: {}",
                granted.join("; ")
            ));
        } else if checks.is_none() && !run_as_root {
            used.push(format!(
                "{path} ({kind}) was executed, and the recording holds no capability checks to tell whether its privilege was used"
            ));
        } else if run_as_root && !program.file_capabilities {
            unused.push(format!(
                "{path} ({kind}) was executed by root, which it gives nothing more"
            ));
        } else if run_as_root {
            unused.push(format!(
                "{path} ({kind}) was executed by root, which holds its capabilities already"
            ));
        } else if program.setuid || program.setgid {
            used.push(format!(
                "{path} ({kind}) made no granted capability check, but its owner's file access may have been used, which the recording cannot tell"
            ));
        } else {
            unused.push(format!(
                "{path} ({kind}) made no granted capability check: its capabilities were not used"
            ));
        }
    }
    let value = !used.is_empty();
    used.extend(unused);
    Decision::known(value, used)
}
