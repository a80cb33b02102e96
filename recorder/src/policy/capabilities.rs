//! The minimal capability add-list for `drop: [ALL]`, decided from a Recording.
//!
//! The rule (docs/capabilities.md): a capability is added when the workload made an audited
//! check for it that was granted, i.e. an operation went through because the capability was
//! there. Probes (CAP_OPT_NOAUDIT checks, where the kernel only asks "would this be allowed?")
//! and denied checks (the operation failed or took another path without it) are not needs;
//! `leastpriv show` lists them separately. A check whose stack was lost counts as audited, so
//! an unknown never silently drops a needed capability.

use std::collections::{BTreeMap, BTreeSet};

use crate::recording::{capabilities::Audit, ExePath, Recording};

#[derive(Debug, thiserror::Error)]
pub enum CapabilityPolicyError {
    #[error("the recording holds no capability checks (it was made by an older leastpriv, or on a kernel without the capability:cap_capable tracepoint); an add-list cannot be derived from it")]
    NotRecorded,
}

/// The decided add-list, with the evidence for each entry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CapabilityPolicy {
    /// `CAP_NET_BIND_SERVICE` → the executables whose granted, audited checks need it.
    pub add: BTreeMap<String, BTreeSet<ExePath>>,
    /// Checked but not added (probes, denied checks), for the summary.
    pub not_needed: BTreeSet<String>,
}

pub fn decide(recording: &Recording) -> Result<CapabilityPolicy, CapabilityPolicyError> {
    let checks = recording
        .capabilities
        .as_ref()
        .ok_or(CapabilityPolicyError::NotRecorded)?;
    let mut policy = CapabilityPolicy::default();
    for check in checks {
        let need = check.granted && matches!(check.audit, Audit::Audited | Audit::Unknown);
        if need {
            policy
                .add
                .entry(check.capability.clone())
                .or_default()
                .extend(check.by.iter().cloned());
        }
    }
    for check in checks {
        if !policy.add.contains_key(&check.capability) {
            policy.not_needed.insert(check.capability.clone());
        }
    }
    Ok(policy)
}

impl CapabilityPolicy {
    /// The names without the `CAP_` prefix (`NET_BIND_SERVICE`), as Kubernetes and Docker
    /// spell them.
    pub fn short_names(&self) -> Vec<&str> {
        self.add
            .keys()
            .map(|n| n.strip_prefix("CAP_").unwrap_or(n))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recording::CapabilityCheck;

    fn check(capability: &str, audit: Audit, granted: bool) -> CapabilityCheck {
        CapabilityCheck {
            capability: capability.into(),
            number: 0,
            audit,
            granted,
            count: 1,
            via: vec![],
            syscalls: vec![],
            by: ["/bin/x".into()].into(),
            runs: vec![],
        }
    }

    fn recording(checks: Option<Vec<CapabilityCheck>>) -> Recording {
        let mut r: Recording =
            serde_json::from_str(include_str!("../../../tests/fixtures/ls.recording.json"))
                .unwrap();
        r.capabilities = checks;
        r
    }

    #[test]
    fn only_granted_audited_checks_are_needs() {
        let policy = decide(&recording(Some(vec![
            check("CAP_NET_BIND_SERVICE", Audit::Audited, true),
            check("CAP_SYS_ADMIN", Audit::Probe, true),
            check("CAP_DAC_OVERRIDE", Audit::Audited, false),
            check("CAP_KILL", Audit::Unknown, true),
        ])))
        .unwrap();
        assert_eq!(
            policy.add.keys().collect::<Vec<_>>(),
            ["CAP_KILL", "CAP_NET_BIND_SERVICE"]
        );
        assert_eq!(policy.short_names(), ["KILL", "NET_BIND_SERVICE"]);
        assert_eq!(
            policy.not_needed.iter().collect::<Vec<_>>(),
            ["CAP_DAC_OVERRIDE", "CAP_SYS_ADMIN"]
        );
    }

    #[test]
    fn empty_and_missing_are_different() {
        assert!(decide(&recording(Some(vec![]))).unwrap().add.is_empty());
        assert!(decide(&recording(None)).is_err());
    }
}
