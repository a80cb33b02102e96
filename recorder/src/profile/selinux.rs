//! SELinux policy → a CIL module, or the Security Profiles Operator's `RawSelinuxProfile`
//! holding it. Nothing but the policy's types, classes and permissions, the module's own name
//! and the counts of paths reach the text (see `policy::selinux`).

use std::fmt::Write as _;

use crate::policy::selinux::{SelinuxPolicy, SELF};

/// The CIL module. Install with `semodule -i NAME.cil`; run the workload in its domain with
/// `runcon -t NAME_t CMD` (from a domain allowed to transition to it) or by a type transition.
pub fn render_cil(policy: &SelinuxPolicy) -> String {
    let domain = &policy.domain;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "; leastpriv: SELinux policy module {} (CIL), from a recording of {} paths.",
        policy.name, policy.recorded_paths
    );
    let _ = writeln!(
        s,
        "; Install: semodule -i {}.cil   Run: runcon -t {domain} -- COMMAND",
        policy.name
    );
    let _ = writeln!(s, "; Each rule says which file-contexts lines gave its type and how many recorded paths it covers.");
    s.push('\n');
    let _ = writeln!(s, "(type {domain})");
    let _ = writeln!(s, "(roletype system_r {domain})");
    s.push('\n');
    for ((file_type, class), rule) in &policy.allow {
        let target = if file_type == SELF {
            "self"
        } else {
            file_type.as_str()
        };
        let permissions: Vec<&str> = rule.permissions.iter().copied().collect();
        let because: Vec<&str> = rule.because.iter().map(String::as_str).collect();
        if rule.paths > 0 {
            let _ = writeln!(s, "; {} path(s): {}", rule.paths, because.join(", "));
        } else {
            let _ = writeln!(s, "; {}", because.join(", "));
        }
        let _ = writeln!(
            s,
            "(allow {domain} {target} ({class} ({})))",
            permissions.join(" ")
        );
    }
    if !policy.notes.is_empty() {
        s.push_str("\n; Not allowed, and why:\n");
        for note in &policy.notes {
            // Notes are written by leastpriv; a line break would end the comment.
            let _ = writeln!(s, "; - {}", note.replace(['\n', '\r'], " "));
        }
    }
    s
}

/// The Security Profiles Operator's `SelinuxProfile`: the same rules as an `allow` map by
/// type (`'@self'` for the domain), inheriting the operator's system profile `container`, as
/// a pod's process is a container's. The operator wraps it into a CIL block of its own, so
/// the domain is its, not `NAME_t`; the notes follow as comments.
pub fn render_spo(policy: &SelinuxPolicy) -> String {
    let mut s = String::new();
    s.push_str("apiVersion: security-profiles-operator.x-k8s.io/v1alpha2\n");
    s.push_str("kind: SelinuxProfile\n");
    s.push_str("metadata:\n");
    let _ = writeln!(s, "  name: {}", policy.name.replace('_', "-"));
    s.push_str("spec:\n");
    s.push_str("  inherit:\n  - kind: System\n    name: container\n");
    s.push_str("  allow:\n");
    let mut current: Option<&str> = None;
    for ((file_type, class), rule) in &policy.allow {
        if current != Some(file_type.as_str()) {
            let key = if file_type == SELF {
                "'@self'"
            } else {
                file_type.as_str()
            };
            let _ = writeln!(s, "    {key}:");
            current = Some(file_type);
        }
        let _ = writeln!(s, "      {class}:");
        for permission in &rule.permissions {
            let _ = writeln!(s, "      - {permission}");
        }
    }
    for note in &policy.notes {
        let _ = writeln!(s, "# not allowed: {}", note.replace(['\n', '\r'], " "));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::selinux::Rule;

    #[test]
    fn every_line_is_a_comment_or_a_statement_whatever_the_notes_say() {
        let mut allow = std::collections::BTreeMap::new();
        allow.insert(
            ("etc_t".to_owned(), "file"),
            Rule {
                permissions: ["open", "read"].into_iter().collect(),
                paths: 2,
                because: ["file_contexts:8".to_owned()].into_iter().collect(),
            },
        );
        let policy = SelinuxPolicy {
            name: "app".into(),
            domain: "app_t".into(),
            allow,
            notes: vec!["a note\n(allow app_t shadow_t (file (read)))".into()],
            recorded_paths: 2,
        };
        let text = render_cil(&policy);
        assert!(
            text.contains("(allow app_t etc_t (file (open read)))"),
            "{text}"
        );
        assert!(
            text.lines()
                .all(|l| l.is_empty() || l.starts_with(';') || l.starts_with('(')),
            "{text}"
        );
        assert!(
            !text.lines().any(|l| l.starts_with("(allow app_t shadow_t")),
            "{text}"
        );
        let spo = render_spo(&policy);
        assert!(
            spo.contains("    etc_t:\n      file:\n      - open\n      - read\n"),
            "{spo}"
        );
        assert!(!spo.lines().any(|l| l.starts_with("(allow")), "{spo}");
    }
}
