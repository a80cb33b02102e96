//! The Kubernetes pod and container securityContext a recording supports (readiness
//! decisions in [`readiness`]), and the Pod Security Standards level it meets, with the
//! reason for every check that keeps it from a stricter level (docs/kubernetes.md).

pub mod readiness;

use crate::{policy::capabilities::CapabilityPolicy, recording::Recording};

pub use readiness::{Decision, Written};

/// Pod Security Standards levels, least to most restrictive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum PssLevel {
    Privileged,
    Baseline,
    Restricted,
}

impl PssLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            PssLevel::Privileged => "privileged",
            PssLevel::Baseline => "baseline",
            PssLevel::Restricted => "restricted",
        }
    }

    /// The next stricter level, if any.
    pub fn next(self) -> Option<PssLevel> {
        match self {
            PssLevel::Privileged => Some(PssLevel::Baseline),
            PssLevel::Baseline => Some(PssLevel::Restricted),
            PssLevel::Restricted => None,
        }
    }
}

/// Capabilities the baseline level lets a container add.
const BASELINE_CAPABILITIES: &[&str] = &[
    "AUDIT_WRITE",
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "MKNOD",
    "NET_BIND_SERVICE",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_CHROOT",
];

/// What the pod and container securityContexts say, decided from the recording.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct K8sPolicy {
    /// Capabilities to add after dropping ALL (short names).
    pub add: Vec<String>,
    /// True only when an executed setuid, setgid or file-capability program's extra
    /// privilege was used.
    pub allow_privilege_escalation: Decision<bool>,
    /// `hostUsers`: whether the workload needs the initial user namespace.
    pub host_users: Decision<bool>,
    /// `runAsNonRoot`: whether it can run as a user other than root.
    pub run_as_non_root: Decision<bool>,
    /// `runAsUser` and `runAsGroup`, when decided.
    pub run_as: Option<(u32, u32)>,
    /// `readOnlyRootFilesystem`, given the volumes.
    pub read_only_root_filesystem: Decision<bool>,
    /// The volumes the decision was made with (`--volume`).
    pub volumes: Vec<String>,
    /// Every path written outside the volumes (and the runtime's own mounts).
    pub written_outside_volumes: Vec<Written>,
    pub level: PssLevel,
    /// Why the level is not stricter, one line per check; the first is the first rule that
    /// keeps it from the next level.
    pub reasons: Vec<String>,
}

/// The decisions for a recording, with `volumes` the paths the pod mounts as volumes.
pub fn decide(
    recording: &Recording,
    capabilities: &CapabilityPolicy,
    volumes: &[String],
) -> K8sPolicy {
    let add: Vec<String> = capabilities
        .short_names()
        .into_iter()
        .map(str::to_owned)
        .collect();
    let allow_privilege_escalation = readiness::allow_privilege_escalation(recording);
    let escalates = allow_privilege_escalation.value != Some(false);
    let host_users = readiness::host_users(recording);
    let (run_as_non_root, run_as) = readiness::run_as_non_root(recording, volumes);
    let (read_only_root_filesystem, written_outside_volumes) =
        readiness::read_only_root(recording, volumes);
    let mut reasons = Vec::new();
    let beyond_baseline: Vec<&str> = add
        .iter()
        .map(String::as_str)
        .filter(|c| !BASELINE_CAPABILITIES.contains(c))
        .collect();
    let level = if !beyond_baseline.is_empty() {
        reasons.push(format!(
            "baseline does not allow adding {}",
            beyond_baseline.join(", ")
        ));
        PssLevel::Privileged
    } else {
        let mut restricted = true;
        if add.iter().any(|c| c != "NET_BIND_SERVICE") {
            let others: Vec<&str> = add
                .iter()
                .map(String::as_str)
                .filter(|c| *c != "NET_BIND_SERVICE")
                .collect();
            reasons.push(format!(
                "restricted allows adding only NET_BIND_SERVICE, the workload needs {}",
                others.join(", ")
            ));
            restricted = false;
        }
        if escalates {
            reasons.push(format!(
                "restricted needs allowPrivilegeEscalation: false, but {}",
                allow_privilege_escalation
                    .because
                    .first()
                    .map_or("", String::as_str)
            ));
            restricted = false;
        }
        match run_as_non_root.value {
            Some(true) => {}
            Some(false) => {
                reasons.push(format!(
                    "restricted needs runAsNonRoot: true, but {}",
                    run_as_non_root.because.first().map_or("", String::as_str)
                ));
                restricted = false;
            }
            None => {
                reasons.push(format!(
                    "restricted needs runAsNonRoot: true, and whether it can run as non-root is unknown: {}",
                    run_as_non_root.because.first().map_or("", String::as_str)
                ));
                restricted = false;
            }
        }
        if restricted {
            PssLevel::Restricted
        } else {
            PssLevel::Baseline
        }
    };
    K8sPolicy {
        add,
        allow_privilege_escalation,
        host_users,
        run_as_non_root,
        run_as,
        read_only_root_filesystem,
        volumes: volumes.to_vec(),
        written_outside_volumes,
        level,
        reasons,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        policy::capabilities,
        recording::syscalls::Abi,
        recording::{CapabilityCheck, EscalatingProgram, RunUser},
    };

    fn recording(caps: &[&str], uid: u32, setuid_program: bool) -> Recording {
        let mut r = Recording::for_tests(&[(Abi::X86_64, 0)]);
        r.user = Some(RunUser { uid, gid: uid });
        r.capabilities = Some(
            caps.iter()
                .map(|c| CapabilityCheck {
                    capability: format!("CAP_{c}"),
                    number: 0,
                    audit: crate::recording::capabilities::Audit::Audited,
                    granted: true,
                    count: 1,
                    via: vec![],
                    syscalls: vec![],
                    by: Default::default(),
                    runs: vec![],
                })
                .collect(),
        );
        if setuid_program {
            r.escalating_programs = vec![EscalatingProgram {
                path: "/usr/bin/su".into(),
                setuid: true,
                setgid: false,
                file_capabilities: false,
            }];
        }
        r
    }

    fn level(caps: &[&str], uid: u32, setuid: bool) -> K8sPolicy {
        let r = recording(caps, uid, setuid);
        decide(&r, &capabilities::decide(&r).unwrap(), &[])
    }

    #[test]
    fn levels_and_reasons() {
        assert_eq!(level(&[], 1000, false).level, PssLevel::Restricted);
        assert_eq!(
            level(&["NET_BIND_SERVICE"], 1000, false).level,
            PssLevel::Restricted
        );
        let root = level(&[], 0, false);
        assert_eq!(root.level, PssLevel::Baseline);
        assert!(root.reasons[0].contains("runAsNonRoot"));
        let chown = level(&["CHOWN"], 1000, false);
        assert_eq!(chown.level, PssLevel::Baseline);
        assert!(chown.reasons[0].contains("CHOWN"));
        let su = level(&[], 1000, true);
        assert!(
            su.allow_privilege_escalation.value == Some(true)
                && su.reasons[0].contains("/usr/bin/su")
        );
        let admin = level(&["SYS_ADMIN"], 1000, false);
        assert_eq!(admin.level, PssLevel::Privileged);
    }

    fn file(path: &str, kinds: &[crate::recording::Access]) -> crate::recording::FileAccess {
        crate::recording::FileAccess::new(
            path.as_bytes().to_vec(),
            crate::recording::Accesses::of(kinds),
            ["/bin/x".into()].into(),
        )
    }

    #[test]
    fn host_users_follows_the_namespace_a_capability_is_checked_in() {
        use crate::recording::Access;
        let mknod = recording(&["MKNOD"], 0, false);
        let host = readiness::host_users(&mknod);
        assert_eq!(host.value, Some(true));
        assert!(host.because[0].contains("CAP_MKNOD"), "{host:?}");
        let mut chown = recording(&["CHOWN"], 0, false);
        chown.files = Some(vec![file("/data/f", &[Access::Create, Access::Chown])]);
        let host = readiness::host_users(&chown);
        assert_eq!(host.value, Some(false));
        assert!(host.because.iter().any(|b| b.contains("below 65536")));
        // An unknown capability is not assumed to be namespaced.
        assert_eq!(
            readiness::host_users(&recording(&["99"], 0, false)).value,
            Some(true)
        );
        // A user outside the pod's id range.
        assert_eq!(
            readiness::host_users(&recording(&[], 100_000, false)).value,
            Some(true)
        );
        let mut old = recording(&[], 0, false);
        old.capabilities = None;
        assert_eq!(readiness::host_users(&old).value, None);
    }

    #[test]
    fn read_only_root_and_non_root_follow_the_writes_and_volumes() {
        use crate::recording::Access;
        let mut r = recording(&[], 0, false);
        r.files = Some(vec![
            file("/dev/null", &[Access::Write]),
            file("/proc/self/attr/current", &[Access::Write]),
            file("/data/out", &[Access::Create, Access::Write]),
            file("/etc/passwd", &[Access::Read]),
            file("pipe:[12]", &[Access::Write]),
        ]);
        let volumes = ["/data".to_owned()];
        let (ro, outside) = readiness::read_only_root(&r, &volumes);
        assert_eq!((ro.value, outside.len()), (Some(true), 0), "{ro:?}");
        let mut crafted = r.clone();
        crafted
            .files
            .as_mut()
            .unwrap()
            .push(file("/dev/../etc/x", &[Access::Write]));
        let (ro, outside) = readiness::read_only_root(&crafted, &volumes);
        assert_eq!(
            (ro.value, outside[0].path.as_str()),
            (Some(false), "/dev/../etc/x")
        );
        let (ro, outside) = readiness::read_only_root(&r, &["/dat".to_owned()]);
        assert_eq!(ro.value, Some(false));
        assert_eq!(outside[0].path, "/data/out");
        let (non_root, user) = readiness::run_as_non_root(&r, &volumes);
        assert_eq!((non_root.value, user), (Some(true), Some((65534, 65534))));
        // Root's own directory on the root filesystem: root's ownership was relied on.
        r.files
            .as_mut()
            .unwrap()
            .push(file("/var/lib/app/state", &[Access::Create]));
        let (non_root, user) = readiness::run_as_non_root(&r, &volumes);
        assert_eq!((non_root.value, user), (Some(false), Some((0, 0))));
        assert!(non_root.because[0].contains("/var/lib/app/state"));
        // A shared temporary directory relies on nobody's ownership, but is on the root fs.
        r.files.as_mut().unwrap().pop();
        r.files
            .as_mut()
            .unwrap()
            .push(file("/tmp/x", &[Access::Create]));
        assert_eq!(readiness::run_as_non_root(&r, &volumes).0.value, Some(true));
        let (ro, _) = readiness::read_only_root(&r, &volumes);
        assert_eq!(ro.value, Some(false));
        assert!(ro.because.iter().any(|b| b.contains("--volume /tmp")));
        // Lost file events or no files: unknown, never a guess.
        r.lost.file_events = 1;
        assert_eq!(readiness::read_only_root(&r, &volumes).0.value, None);
        assert_eq!(readiness::run_as_non_root(&r, &volumes).0.value, None);
        r.files = None;
        r.lost.file_events = 0;
        assert_eq!(readiness::read_only_root(&r, &volumes).0.value, None);
        r.user = None;
        assert_eq!(readiness::run_as_non_root(&r, &volumes).0.value, None);
        // A non-root recording keeps its user.
        let r = recording(&[], 1000, false);
        assert_eq!(readiness::run_as_non_root(&r, &[]).1, Some((1000, 1000)));
    }

    #[test]
    fn escalation_is_allowed_only_where_the_privilege_was_used() {
        let mut r = recording(&[], 1000, false);
        r.escalating_programs = vec![EscalatingProgram {
            path: "/bin/x".into(),
            setuid: false,
            setgid: false,
            file_capabilities: true,
        }];
        // File capabilities whose capabilities were never a granted need: not used.
        let d = readiness::allow_privilege_escalation(&r);
        assert_eq!(d.value, Some(false), "{d:?}");
        // Used, they are in the add-list, which no_new_privs leaves the program.
        let mut used = recording(&["NET_RAW"], 1000, false);
        for check in used.capabilities.as_mut().unwrap() {
            check.by = ["/bin/x".into()].into();
        }
        used.escalating_programs = r.escalating_programs.clone();
        let d = readiness::allow_privilege_escalation(&used);
        assert_eq!(d.value, Some(false));
        assert!(d.because[0].contains("CAP_NET_RAW"), "{d:?}");
        // The same check by a setuid program run by another user: escalation is used.
        used.escalating_programs[0].setuid = true;
        used.escalating_programs[0].file_capabilities = false;
        let d = readiness::allow_privilege_escalation(&used);
        assert_eq!(d.value, Some(true));
        assert!(d.because[0].contains("CAP_NET_RAW"), "{d:?}");
        // Run by root, a setuid program gives nothing more.
        let mut root = recording(&[], 0, true);
        root.capabilities = Some(vec![]);
        assert_eq!(
            readiness::allow_privilege_escalation(&root).value,
            Some(false)
        );
    }
}
