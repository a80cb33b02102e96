//! Kubernetes output: the pod settings (`hostUsers`, the pod securityContext) and the
//! container securityContext, or a whole Pod and its Namespace (all built from the Kubernetes
//! API types in k8s-openapi, so their shape is the API's), and the Security Profiles Operator
//! resources for the seccomp and AppArmor profiles they point to.

use k8s_openapi::{
    api::core::v1::{
        AppArmorProfile, Capabilities, Container, EmptyDirVolumeSource, Namespace, Pod,
        PodSecurityContext, PodSpec, SeccompProfile, SecurityContext, Volume, VolumeMount,
    },
    apimachinery::pkg::apis::meta::v1::ObjectMeta,
};

use crate::policy::k8s::{Decision, K8sPolicy, PssLevel};

/// The securityContext for a container; profiles are referenced as Localhost profiles named
/// `name` (`leastpriv/NAME.json` for seccomp, `NAME` for AppArmor).
pub fn security_context(policy: &K8sPolicy, name: &str, apparmor: bool) -> SecurityContext {
    SecurityContext {
        allow_privilege_escalation: Some(policy.allow_privilege_escalation.value != Some(false)),
        read_only_root_filesystem: policy.read_only_root_filesystem.value,
        capabilities: Some(Capabilities {
            drop: Some(vec!["ALL".into()]),
            add: Some(policy.add.clone()),
        }),
        seccomp_profile: Some(SeccompProfile {
            type_: "Localhost".into(),
            localhost_profile: Some(format!("leastpriv/{name}.json")),
        }),
        app_armor_profile: apparmor.then(|| AppArmorProfile {
            type_: "Localhost".into(),
            localhost_profile: Some(name.to_owned()),
        }),
        ..SecurityContext::default()
    }
}

/// The pod-level settings: `hostUsers` and the user the pod runs as. An unknown decision
/// leaves its field out (Kubernetes' default then applies), never a guess.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PodSettings {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host_users: Option<bool>,
    pub security_context: PodSecurityContext,
}

pub fn pod_settings(policy: &K8sPolicy) -> PodSettings {
    let (user, group) = match policy.run_as {
        Some((uid, gid)) => (Some(i64::from(uid)), Some(i64::from(gid))),
        None => (None, None),
    };
    PodSettings {
        host_users: policy.host_users.value,
        security_context: PodSecurityContext {
            run_as_non_root: (policy.run_as_non_root.value == Some(true)).then_some(true),
            run_as_user: user,
            run_as_group: group,
            ..PodSecurityContext::default()
        },
    }
}

/// What to write besides the securityContexts.
#[derive(Debug, Clone, Default)]
pub struct K8sOutput<'a> {
    /// `--pod`: a whole Pod with this image.
    pub pod_image: Option<&'a str>,
    /// `--namespace`: a Namespace with Pod Security Admission labels, and the Pod in it.
    pub namespace: Option<&'a str>,
}

/// The Pod Security Admission version label: the policy as the running cluster defines it.
pub const PSA_VERSION: &str = "latest";

/// A Namespace whose Pod Security Admission labels enforce, audit and warn at `level`.
pub fn namespace(name: &str, level: &str) -> Namespace {
    let mut labels = std::collections::BTreeMap::new();
    for mode in ["enforce", "audit", "warn"] {
        labels.insert(
            format!("pod-security.kubernetes.io/{mode}"),
            level.to_owned(),
        );
        labels.insert(
            format!("pod-security.kubernetes.io/{mode}-version"),
            PSA_VERSION.to_owned(),
        );
    }
    Namespace {
        metadata: ObjectMeta {
            name: Some(name.to_owned()),
            labels: Some(labels),
            ..ObjectMeta::default()
        },
        ..Namespace::default()
    }
}

/// A Pod running `image` with the decided settings, the Localhost profiles, and an emptyDir
/// for each volume the decisions were made with.
pub fn pod(
    policy: &K8sPolicy,
    name: &str,
    apparmor: bool,
    image: &str,
    namespace: Option<&str>,
) -> Pod {
    let settings = pod_settings(policy);
    let volume_name = |i: usize| format!("volume-{i}");
    let volumes: Vec<Volume> = (0..policy.volumes.len())
        .map(|i| Volume {
            name: volume_name(i),
            empty_dir: Some(EmptyDirVolumeSource::default()),
            ..Volume::default()
        })
        .collect();
    let mounts: Vec<VolumeMount> = policy
        .volumes
        .iter()
        .enumerate()
        .map(|(i, path)| VolumeMount {
            name: volume_name(i),
            mount_path: path.clone(),
            ..VolumeMount::default()
        })
        .collect();
    Pod {
        metadata: ObjectMeta {
            name: Some(name.to_owned()),
            namespace: namespace.map(str::to_owned),
            ..ObjectMeta::default()
        },
        spec: Some(PodSpec {
            host_users: settings.host_users,
            security_context: Some(settings.security_context),
            containers: vec![Container {
                name: name.to_owned(),
                image: Some(image.to_owned()),
                security_context: Some(security_context(policy, name, apparmor)),
                volume_mounts: (!mounts.is_empty()).then_some(mounts),
                ..Container::default()
            }],
            volumes: (!volumes.is_empty()).then_some(volumes),
            ..PodSpec::default()
        }),
        ..Pod::default()
    }
}

/// The decisions as comment lines (`# ...`), each with its evidence.
fn decision_comments(policy: &K8sPolicy) -> String {
    let mut out = String::from("# Decisions, with their evidence (docs/kubernetes.md):\n");
    let mut decision = |field: &str, value: String, because: &[String]| {
        out.push_str(&format!("#   {field}: {value}\n"));
        for line in because {
            out.push_str(&format!("#     {}\n", line.replace('\n', " ")));
        }
    };
    let shown = |d: &Decision<bool>| d.value.map_or("unknown".to_owned(), |v| v.to_string());
    decision(
        "hostUsers",
        shown(&policy.host_users),
        &policy.host_users.because,
    );
    let user = match policy.run_as {
        Some((uid, gid)) => format!(" (runAsUser {uid}, runAsGroup {gid})"),
        None => String::new(),
    };
    decision(
        "runAsNonRoot",
        format!("{}{user}", shown(&policy.run_as_non_root)),
        &policy.run_as_non_root.because,
    );
    decision(
        "allowPrivilegeEscalation",
        shown(&policy.allow_privilege_escalation),
        &policy.allow_privilege_escalation.because,
    );
    let mut because = policy.read_only_root_filesystem.because.clone();
    because.extend(
        policy
            .written_outside_volumes
            .iter()
            .map(|w| format!("written outside the volumes: {}", w.describe())),
    );
    decision(
        "readOnlyRootFilesystem",
        shown(&policy.read_only_root_filesystem),
        &because,
    );
    out
}

/// The level line and its reasons as comment lines.
fn level_comments(policy: &K8sPolicy) -> String {
    let mut out = format!(
        "# Pod Security Standards: meets {}\n",
        policy.level.as_str()
    );
    if let (Some(next), Some(first)) = (policy.level.next(), policy.reasons.first()) {
        out.push_str(&format!(
            "#   first rule keeping it from {}: {}\n",
            next.as_str(),
            first.replace('\n', " ")
        ));
    }
    for reason in policy.reasons.iter().skip(1) {
        out.push_str(&format!("#   {}\n", reason.replace('\n', " ")));
    }
    out
}

/// The Security Profiles Operator resources (`---`-separated YAML documents).
fn spo_resources(name: &str, seccomp_crd: &str, apparmor_profile: Option<&str>) -> String {
    let mut out = String::new();
    out.push_str(seccomp_crd);
    if let Some(profile) = apparmor_profile {
        #[derive(serde::Serialize)]
        #[serde(rename_all = "camelCase")]
        struct AppArmorResource<'a> {
            api_version: &'a str,
            kind: &'a str,
            metadata: crate::profile::seccomp::Metadata,
            spec: AppArmorSpec<'a>,
        }
        #[derive(serde::Serialize)]
        struct AppArmorSpec<'a> {
            policy: &'a str,
        }
        let resource = AppArmorResource {
            api_version: "security-profiles-operator.x-k8s.io/v1alpha1",
            kind: "AppArmorProfile",
            metadata: crate::profile::seccomp::Metadata {
                name: name.to_owned(),
            },
            spec: AppArmorSpec { policy: profile },
        };
        out.push_str("---\n");
        out.push_str(&serde_yaml_ng::to_string(&resource).expect("serialises"));
    }
    out
}

/// The decisions as JSON: each with its value (`null`: unknown) and evidence, the level and
/// reasons, the pod settings and the container securityContext (and the Pod and Namespace
/// when asked for).
pub fn render_json(policy: &K8sPolicy, name: &str, apparmor: bool, output: &K8sOutput) -> String {
    let decision =
        |d: &Decision<bool>| serde_json::json!({"value": d.value, "evidence": d.because});
    let written: Vec<serde_json::Value> = policy
        .written_outside_volumes
        .iter()
        .map(|w| {
            serde_json::json!({
                "path": w.path,
                "access": w.access,
                "by": w.by,
            })
        })
        .collect();
    let mut read_only = decision(&policy.read_only_root_filesystem);
    read_only["volumes"] = serde_json::json!(policy.volumes);
    read_only["writtenOutsideVolumes"] = serde_json::json!(written);
    let mut run_as = decision(&policy.run_as_non_root);
    run_as["runAsUser"] = serde_json::json!(policy.run_as.map(|(u, _)| u));
    run_as["runAsGroup"] = serde_json::json!(policy.run_as.map(|(_, g)| g));
    let mut out = serde_json::json!({
        "podSecurityStandards": {
            "level": policy.level.as_str(),
            "nextLevel": policy.level.next().map(PssLevel::as_str),
            "firstRuleKeepingFromNextLevel": policy.reasons.first(),
            "reasons": policy.reasons,
        },
        "decisions": {
            "hostUsers": decision(&policy.host_users),
            "runAsNonRoot": run_as,
            "allowPrivilegeEscalation": decision(&policy.allow_privilege_escalation),
            "readOnlyRootFilesystem": read_only,
        },
        "pod": pod_settings(policy),
        "securityContext": security_context(policy, name, apparmor),
    });
    if let Some(image) = output.pod_image {
        out["podManifest"] =
            serde_json::json!(pod(policy, name, apparmor, image, output.namespace));
    }
    if let Some(ns) = output.namespace {
        out["namespace"] = serde_json::json!(namespace(ns, policy.level.as_str()));
    }
    let mut text = serde_json::to_string_pretty(&out).expect("serialises");
    text.push('\n');
    text
}

/// The whole YAML output: comments with the Pod Security Standards level and the decisions
/// with their evidence; then the Namespace (`--namespace`); then the Pod (`--pod`) or the
/// pod settings and container securityContext; then the SPO resources (`---`-separated).
pub fn render(
    policy: &K8sPolicy,
    name: &str,
    seccomp_crd: &str,
    apparmor_profile: Option<&str>,
    output: &K8sOutput,
) -> String {
    #[derive(serde::Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Snippet {
        pod: PodSettings,
        security_context: SecurityContext,
    }
    let mut out = level_comments(policy);
    out.push_str(&decision_comments(policy));
    if let Some(ns) = output.namespace {
        out.push_str("# The Namespace, its Pod Security Admission labels at the level met.\n");
        out.push_str(
            &serde_yaml_ng::to_string(&namespace(ns, policy.level.as_str())).expect("serialises"),
        );
        out.push_str("---\n");
    }
    let apparmor = apparmor_profile.is_some();
    match output.pod_image {
        Some(image) => {
            out.push_str(
                "# The Pod; the profiles follow as Security Profiles Operator resources.\n",
            );
            out.push_str(
                &serde_yaml_ng::to_string(&pod(policy, name, apparmor, image, output.namespace))
                    .expect("serialises"),
            );
        }
        None => {
            out.push_str("# The pod's hostUsers and securityContext, and the container's securityContext; the profiles follow as Security Profiles Operator resources.\n");
            let snippet = Snippet {
                pod: pod_settings(policy),
                security_context: security_context(policy, name, apparmor),
            };
            out.push_str(&serde_yaml_ng::to_string(&snippet).expect("serialises"));
        }
    }
    out.push_str("---\n");
    out.push_str(&spo_resources(name, seccomp_crd, apparmor_profile));
    out
}
