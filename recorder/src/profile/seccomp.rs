//! Seccomp profiles: the OCI runtime-spec `linux.seccomp` JSON (what runc, crun, containerd,
//! Docker, Podman and Kubernetes Localhost profiles load) and the Security Profiles
//! Operator's `SeccompProfile` resource.

use oci_spec::runtime::{
    Arch, LinuxSeccomp, LinuxSeccompAction, LinuxSeccompArgBuilder, LinuxSeccompOperator,
    LinuxSyscall,
};
use serde::{Deserialize, Serialize};

use crate::{policy::seccomp::SeccompPolicy, recording::syscalls::Abi};

/// errno values the profiles use.
pub const EPERM: u32 = 1;
pub const ENOSYS: u32 = 38;

/// The seccomp architecture for an ABI.
pub fn arch(abi: Abi) -> Arch {
    match abi {
        Abi::X86_64 => Arch::ScmpArchX86_64,
        Abi::Ia32 => Arch::ScmpArchX86,
        Abi::X32 => Arch::ScmpArchX32,
    }
}

/// The OCI `linux.seccomp` object for a policy: deny with EPERM by default, the allowed names
/// in one sorted rule, the probed ones in an ENOSYS rule.
pub fn to_oci(policy: &SeccompPolicy) -> LinuxSeccomp {
    let mut syscalls = vec![rule(
        policy.unconditional().map(str::to_owned).collect(),
        LinuxSeccompAction::ScmpActAllow,
        None,
    )];
    // The argument-narrowed syscalls: one allowing rule per recorded set of values.
    for (name, alternatives) in &policy.conditions {
        for conditions in alternatives {
            let mut conditional = rule(vec![name.clone()], LinuxSeccompAction::ScmpActAllow, None);
            let args = conditions
                .iter()
                .map(|c| {
                    LinuxSeccompArgBuilder::default()
                        .index(c.index as usize)
                        .value(c.mask)
                        .value_two(c.value)
                        .op(LinuxSeccompOperator::ScmpCmpMaskedEq)
                        .build()
                        .expect("every field of the argument is set")
                })
                .collect();
            conditional.set_args(Some(args));
            syscalls.push(conditional);
        }
    }
    if !policy.enosys.is_empty() {
        syscalls.push(rule(
            policy.enosys.iter().cloned().collect(),
            LinuxSeccompAction::ScmpActErrno,
            Some(ENOSYS),
        ));
    }
    let mut seccomp = LinuxSeccomp::default();
    seccomp
        .set_default_action(LinuxSeccompAction::ScmpActErrno)
        .set_default_errno_ret(Some(EPERM))
        .set_architectures(Some(policy.abis.iter().map(|&abi| arch(abi)).collect()))
        .set_syscalls(Some(syscalls));
    seccomp
}

fn rule(names: Vec<String>, action: LinuxSeccompAction, errno: Option<u32>) -> LinuxSyscall {
    let mut rule = LinuxSyscall::default();
    rule.set_names(names)
        .set_action(action)
        .set_errno_ret(errno);
    rule
}

/// The OCI profile as pretty JSON with a final newline.
pub fn render_oci(policy: &SeccompPolicy) -> String {
    let mut text =
        serde_json::to_string_pretty(&to_oci(policy)).expect("OCI seccomp always serialises");
    text.push('\n');
    text
}

/// The Security Profiles Operator resource (`security-profiles-operator.x-k8s.io/v1beta1`).
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SeccompProfileResource {
    pub api_version: String,
    pub kind: String,
    pub metadata: Metadata,
    pub spec: LinuxSeccomp,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Metadata {
    pub name: String,
}

pub const SPO_API_VERSION: &str = "security-profiles-operator.x-k8s.io/v1beta1";

/// The SPO resource as YAML. `name` must already be a valid Kubernetes name
/// (see [`kubernetes_name`]). SPO takes the default errno from the runtime (EPERM), and its
/// schema has no `defaultErrnoRet`, so that field is left out.
pub fn render_crd(policy: &SeccompPolicy, name: &str) -> String {
    let mut spec = to_oci(policy);
    spec.set_default_errno_ret(None);
    let resource = SeccompProfileResource {
        api_version: SPO_API_VERSION.into(),
        kind: "SeccompProfile".into(),
        metadata: Metadata { name: name.into() },
        spec,
    };
    serde_yaml_ng::to_string(&resource).expect("the resource always serialises")
}

/// A Kubernetes object name (RFC 1123 label: lowercase letters, digits and '-', at most 63,
/// alphanumeric at both ends) made from untrusted text such as a recorded command.
pub fn kubernetes_name(text: &str) -> String {
    let mut name = String::new();
    for c in text.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            name.push(c);
        } else if !name.ends_with('-') {
            name.push('-');
        }
    }
    let name: String = name.trim_matches('-').chars().take(63).collect();
    let name = name.trim_end_matches('-');
    if name.is_empty() {
        "leastpriv-profile".into()
    } else {
        name.into()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use super::*;
    use crate::policy::seccomp::Reason;

    /// A small policy to render: two syscalls, two ABIs, one probe (review's tests too).
    pub(crate) fn policy() -> SeccompPolicy {
        let recorded = || BTreeSet::from([Reason::Recorded { by: vec![] }]);
        SeccompPolicy {
            abis: BTreeSet::from([Abi::X86_64, Abi::Ia32]),
            allow: BTreeMap::from([("write".into(), recorded()), ("read".into(), recorded())]),
            enosys: BTreeSet::from(["clone3".into()]),
            unnamed: vec![],
            ..SeccompPolicy::default()
        }
    }

    #[test]
    fn oci_profile_has_the_runtime_spec_shape() {
        let json: serde_json::Value = serde_json::from_str(&render_oci(&policy())).unwrap();
        assert_eq!(json["defaultAction"], "SCMP_ACT_ERRNO");
        assert_eq!(json["defaultErrnoRet"], 1);
        assert_eq!(
            json["architectures"],
            serde_json::json!(["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"])
        );
        assert_eq!(
            json["syscalls"][0]["names"],
            serde_json::json!(["read", "write"])
        );
        assert_eq!(json["syscalls"][0]["action"], "SCMP_ACT_ALLOW");
        assert_eq!(json["syscalls"][1]["errnoRet"], 38);
    }

    #[test]
    fn kubernetes_names_are_sanitised() {
        assert_eq!(
            kubernetes_name("/usr/bin/Python3 -c 'x'"),
            "usr-bin-python3-c-x"
        );
        assert_eq!(kubernetes_name("$(rm -rf /)\n"), "rm-rf");
        assert_eq!(kubernetes_name("!!!"), "leastpriv-profile");
        assert!(kubernetes_name(&"a".repeat(100)).len() <= 63);
    }
}
