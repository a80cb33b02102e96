//! Kubernetes output: a container securityContext (built from the Kubernetes API types in
//! k8s-openapi, so its shape is the API's) and the Security Profiles Operator resources for
//! the seccomp and AppArmor profiles it points to.

use k8s_openapi::api::core::v1::{AppArmorProfile, Capabilities, SeccompProfile, SecurityContext};

use crate::policy::k8s::K8sPolicy;

/// The securityContext for a container; profiles are referenced as Localhost profiles named
/// `name` (`leastpriv/NAME.json` for seccomp, `NAME` for AppArmor).
pub fn security_context(policy: &K8sPolicy, name: &str, apparmor: bool) -> SecurityContext {
    SecurityContext {
        allow_privilege_escalation: Some(policy.allow_privilege_escalation),
        run_as_non_root: policy.run_as_non_root.then_some(true),
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

/// The whole output: a comment with the Pod Security Standards level and reasons, the
/// securityContext, then the SPO resources (`---`-separated documents).
pub fn render(
    policy: &K8sPolicy,
    name: &str,
    seccomp_crd: &str,
    apparmor_profile: Option<&str>,
) -> String {
    #[derive(serde::Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Snippet {
        security_context: SecurityContext,
    }
    let mut out = format!(
        "# Pod Security Standards: meets {}\n",
        policy.level.as_str()
    );
    for reason in &policy.reasons {
        out.push_str(&format!("#   {}\n", reason.replace('\n', " ")));
    }
    out.push_str("# The container's securityContext; the profiles follow as Security Profiles Operator resources.\n");
    let snippet = Snippet {
        security_context: security_context(policy, name, apparmor_profile.is_some()),
    };
    out.push_str(&serde_yaml_ng::to_string(&snippet).expect("serialises"));
    out.push_str("---\n");
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
