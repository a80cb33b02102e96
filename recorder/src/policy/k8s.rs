//! The Kubernetes container securityContext a recording supports, and the Pod Security
//! Standards level it meets, with the reason for every check that keeps it from a stricter
//! level (docs/review.md).

use crate::{policy::capabilities::CapabilityPolicy, recording::Recording};

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

/// What the securityContext says, decided from the recording.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct K8sPolicy {
    /// Capabilities to add after dropping ALL (short names).
    pub add: Vec<String>,
    /// False when an executed program can raise privileges (setuid, setgid, file caps).
    pub allow_privilege_escalation: bool,
    /// True when the workload ran as a non-root user.
    pub run_as_non_root: bool,
    pub level: PssLevel,
    /// Why the level is not stricter, one line per check.
    pub reasons: Vec<String>,
}

pub fn decide(recording: &Recording, capabilities: &CapabilityPolicy) -> K8sPolicy {
    let add: Vec<String> = capabilities
        .short_names()
        .into_iter()
        .map(str::to_owned)
        .collect();
    let allow_privilege_escalation = !recording.escalating_programs.is_empty();
    let run_as_non_root = recording.user.is_some_and(|u| u.uid != 0);
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
        if allow_privilege_escalation {
            let programs: Vec<String> = recording
                .escalating_programs
                .iter()
                .map(|p| p.path.escape_debug().to_string())
                .collect();
            reasons.push(format!(
                "restricted needs allowPrivilegeEscalation: false, but the workload executed {} (setuid, setgid or file capabilities)",
                programs.join(", ")
            ));
            restricted = false;
        }
        if !run_as_non_root {
            reasons.push("restricted needs runAsNonRoot: true, but the workload was recorded running as root".into());
            restricted = false;
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
        run_as_non_root,
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
        decide(&r, &capabilities::decide(&r).unwrap())
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
        assert!(su.allow_privilege_escalation && su.reasons[0].contains("/usr/bin/su"));
        let admin = level(&["SYS_ADMIN"], 1000, false);
        assert_eq!(admin.level, PssLevel::Privileged);
    }
}
