//! A parsed profile as the permissions it allows, for `diff`.
//!
//! Imports the siblings `profile` and `parser`, and `review::permission`.

use super::{
    parser::parse,
    profile::{ParseError, ParsedProfile},
};
use crate::review::permission::{Permission, Permissions};

/// What an AppArmor profile allows (docs/review.md): a file permission per file rule and
/// permission letter (the path as written, the letter as a word: `read`, `write`, `append`,
/// `link`, `lock`, `mmap_exec`, `exec` for `ix`, `exec_px`, `exec_Ux`, ...; an `owner` rule's
/// as `owner read`, ...), a socket family and type per `network` rule (`inet stream` is
/// `AF_INET SOCK_STREAM`; what a rule leaves out is `*`), a capability per name (`CAP_CHOWN`;
/// `capability,` is `*`), an abstraction per `include <abstractions/NAME>`, and every other
/// rule, include, variable definition and profile flag by its text. A `deny` rule is refused:
/// removing one widens what the profile allows, which a list of added permissions cannot say.
pub fn permissions(profile: &ParsedProfile) -> Result<Permissions, ParseError> {
    let deny_lines = profile
        .files
        .iter()
        .filter(|r| r.deny)
        .map(|r| r.line)
        .chain(profile.network.iter().filter(|r| r.deny).map(|r| r.line))
        .chain(
            profile
                .capabilities
                .iter()
                .filter(|r| r.deny)
                .map(|r| r.line),
        )
        .chain(profile.other.iter().filter(|r| r.deny).map(|r| r.line));
    if let Some(line) = deny_lines.min() {
        return Err(ParseError {
            line,
            message: "a deny rule: diff compares allow rules only (removing a deny rule would widen the profile \
                      without adding a permission); compare the recordings instead"
                .into(),
        });
    }
    let mut out = Permissions::new();
    let mut add = |p: Permission| {
        out.entry(p).or_default();
    };
    for flag in &profile.flags {
        add(Permission::Rule {
            text: format!("flags=({flag})"),
        });
    }
    for (name, values) in &profile.variables {
        add(Permission::Rule {
            text: format!("@{{{name}}} = {}", values.join(" ")),
        });
    }
    for name in &profile.abstractions {
        add(Permission::Abstraction { name: name.clone() });
    }
    for include in &profile.includes {
        add(Permission::Rule {
            text: include.clone(),
        });
    }
    for rule in &profile.capabilities {
        if rule.names.is_empty() {
            add(Permission::Capability { name: "*".into() });
        }
        for name in &rule.names {
            add(Permission::Capability {
                name: format!("CAP_{}", name.to_ascii_uppercase()),
            });
        }
    }
    for rule in &profile.network {
        let family = rule.domain.as_ref().map_or_else(
            || "*".to_owned(),
            |d| format!("AF_{}", d.to_ascii_uppercase()),
        );
        let kind = rule.kind.as_ref().map_or_else(
            || "*".to_owned(),
            |k| format!("SOCK_{}", k.to_ascii_uppercase()),
        );
        add(Permission::Network { family, kind });
    }
    for rule in &profile.files {
        for perm in &rule.perms {
            let word = perm.word();
            let access = if rule.owner {
                format!("owner {word}")
            } else {
                word
            };
            add(Permission::File {
                path: rule.pattern.clone(),
                access,
            });
        }
    }
    for rule in &profile.other {
        add(Permission::Rule {
            text: rule.text.clone(),
        });
    }
    Ok(out)
}

/// Parses an AppArmor profile into permissions (for `diff`).
pub fn parse_permissions(text: &str) -> Result<Permissions, ParseError> {
    permissions(&parse(text)?)
}
