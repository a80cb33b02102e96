//! The capability add-list in the forms people paste: a plain list, a Kubernetes
//! securityContext block, Docker flags, and a systemd drop-in.

use crate::policy::capabilities::CapabilityPolicy;

/// One name per line, without the `CAP_` prefix. An empty add-list says so in a comment.
pub fn render_list(policy: &CapabilityPolicy) -> String {
    if policy.add.is_empty() {
        return "# no capabilities needed: drop them all\n".into();
    }
    policy
        .short_names()
        .iter()
        .map(|n| format!("{n}\n"))
        .collect()
}

/// A container securityContext `capabilities` block (YAML) with drop ALL.
pub fn render_k8s(policy: &CapabilityPolicy) -> String {
    let mut out = String::from("securityContext:\n  capabilities:\n    drop:\n    - ALL\n");
    if policy.add.is_empty() {
        out.push_str("    add: []\n");
    } else {
        out.push_str("    add:\n");
        for name in policy.short_names() {
            out.push_str(&format!("    - {name}\n"));
        }
    }
    out
}

/// `docker run` flags.
pub fn render_docker(policy: &CapabilityPolicy) -> String {
    let mut flags = vec!["--cap-drop=ALL".to_owned()];
    flags.extend(
        policy
            .short_names()
            .iter()
            .map(|n| format!("--cap-add={n}")),
    );
    format!("{}\n", flags.join(" "))
}

/// A systemd unit drop-in ([Service] section). An empty bounding set means none at all.
pub fn render_systemd(policy: &CapabilityPolicy) -> String {
    let names: Vec<&str> = policy.add.keys().map(String::as_str).collect();
    let list = names.join(" ");
    format!("[Service]\nCapabilityBoundingSet={list}\nAmbientCapabilities={list}\n")
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn policy(names: &[&str]) -> CapabilityPolicy {
        CapabilityPolicy {
            add: names
                .iter()
                .map(|n| ((*n).to_owned(), Default::default()))
                .collect::<BTreeMap<_, _>>(),
            not_needed: Default::default(),
        }
    }

    #[test]
    fn renders_every_form() {
        let p = policy(&["CAP_CHOWN", "CAP_NET_BIND_SERVICE"]);
        assert_eq!(render_list(&p), "CHOWN\nNET_BIND_SERVICE\n");
        assert!(render_k8s(&p).ends_with("    add:\n    - CHOWN\n    - NET_BIND_SERVICE\n"));
        assert_eq!(
            render_docker(&p),
            "--cap-drop=ALL --cap-add=CHOWN --cap-add=NET_BIND_SERVICE\n"
        );
        assert_eq!(
            render_systemd(&p),
            "[Service]\nCapabilityBoundingSet=CAP_CHOWN CAP_NET_BIND_SERVICE\nAmbientCapabilities=CAP_CHOWN CAP_NET_BIND_SERVICE\n"
        );
    }

    #[test]
    fn an_empty_add_list_says_so() {
        let p = policy(&[]);
        assert!(render_list(&p).contains("no capabilities needed"));
        assert!(render_k8s(&p).contains("add: []"));
        assert_eq!(render_docker(&p), "--cap-drop=ALL\n");
        assert!(render_systemd(&p).contains("CapabilityBoundingSet=\n"));
    }
}
