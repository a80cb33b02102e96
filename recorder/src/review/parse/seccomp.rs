//! Seccomp profiles read back: OCI runtime-spec `linux.seccomp` JSON, or the Security
//! Profiles Operator's `SeccompProfile` resource in YAML (whose `spec` is the same object).

use std::path::{Path, PathBuf};

use oci_spec::runtime::{LinuxSeccomp, LinuxSeccompAction};

use crate::{
    profile::seccomp::SeccompProfileResource,
    review::permission::{Permission, Permissions},
};

#[derive(Debug, thiserror::Error)]
pub enum SeccompProfileError {
    #[error("cannot read seccomp profile {path}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not an OCI seccomp profile")]
    ParseJson {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("{path} is not a SeccompProfile resource")]
    ParseYaml {
        path: PathBuf,
        source: serde_yaml_ng::Error,
    },
    #[error("{path}: kind is {found:?}, expected SeccompProfile")]
    WrongKind { path: PathBuf, found: String },
}

/// Reads a seccomp profile: OCI JSON, or an SPO `SeccompProfile` in YAML (whose `spec` is the
/// same object).
pub fn read(path: &Path) -> Result<LinuxSeccomp, SeccompProfileError> {
    let text = std::fs::read_to_string(path).map_err(|source| SeccompProfileError::Read {
        path: path.into(),
        source,
    })?;
    parse(path, &text)
}

/// Parses profile text; `path` only names the source in errors.
pub fn parse(path: &Path, text: &str) -> Result<LinuxSeccomp, SeccompProfileError> {
    if text.trim_start().starts_with('{') {
        return serde_json::from_str(text).map_err(|source| SeccompProfileError::ParseJson {
            path: path.into(),
            source,
        });
    }
    let resource: SeccompProfileResource =
        serde_yaml_ng::from_str(text).map_err(|source| SeccompProfileError::ParseYaml {
            path: path.into(),
            source,
        })?;
    if resource.kind != "SeccompProfile" {
        return Err(SeccompProfileError::WrongKind {
            path: path.into(),
            found: resource.kind,
        });
    }
    Ok(resource.spec)
}

/// What an OCI seccomp profile allows: its architectures and the names of allowing rules.
pub fn permissions(profile: &LinuxSeccomp) -> Permissions {
    let mut out = Permissions::new();
    for arch in profile.architectures().iter().flatten() {
        out.entry(Permission::Architecture {
            name: arch.to_string(),
        })
        .or_default();
    }
    let default_allows = matches!(
        profile.default_action(),
        LinuxSeccompAction::ScmpActAllow | LinuxSeccompAction::ScmpActLog
    );
    if default_allows {
        out.entry(Permission::Syscall {
            abi: None,
            name: "*".into(),
        })
        .or_default();
    }
    for rule in profile.syscalls().iter().flatten() {
        if !matches!(
            rule.action(),
            LinuxSeccompAction::ScmpActAllow | LinuxSeccompAction::ScmpActLog
        ) {
            continue;
        }
        let conditions = rule.args().clone().unwrap_or_default();
        for name in rule.names() {
            out.entry(Permission::Syscall {
                abi: None,
                name: name.clone(),
            })
            .or_default();
            if !conditions.is_empty() {
                out.entry(Permission::Arguments {
                    syscall: name.clone(),
                    values: describe_conditions(name, &conditions),
                })
                .or_default();
            }
        }
    }
    out
}

/// A rule's argument conditions by name, in the order recordings list the values (the
/// masked-equality rules `generate seccomp` writes; other operators are spelled out).
fn describe_conditions(syscall: &str, conditions: &[oci_spec::runtime::LinuxSeccompArg]) -> String {
    let spec = crate::recording::arguments::spec_of(syscall);
    let mut sorted: Vec<&oci_spec::runtime::LinuxSeccompArg> = conditions.iter().collect();
    sorted.sort_by_key(|c| c.index());
    sorted
        .iter()
        .map(|c| {
            let position = spec
                .and_then(|s| {
                    s.index[..s.count as usize]
                        .iter()
                        .position(|&i| i as usize == c.index())
                })
                .unwrap_or(c.index());
            match (c.op(), c.value_two()) {
                (oci_spec::runtime::LinuxSeccompOperator::ScmpCmpMaskedEq, Some(value)) => {
                    crate::recording::arguments::value_name(syscall, position, value)
                }
                (op, _) => format!("arg{} {op:?} {:#x}", c.index(), c.value()),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::seccomp::{render_crd, render_oci, tests::policy, to_oci};

    #[test]
    fn parses_back_what_it_renders() {
        let path = Path::new("p.json");
        assert_eq!(
            parse(path, &render_oci(&policy())).unwrap(),
            to_oci(&policy())
        );
        let crd = parse(path, &render_crd(&policy(), "demo")).unwrap();
        assert_eq!(crd.syscalls(), to_oci(&policy()).syscalls());
    }

    #[test]
    fn bad_profiles_get_errors_naming_the_file() {
        let err = parse(Path::new("bad.json"), "{\"defaultAction\": 3}").unwrap_err();
        assert!(
            err.to_string()
                .starts_with("bad.json is not an OCI seccomp profile"),
            "{err}"
        );
        let err = parse(Path::new("x.yaml"), "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec: {defaultAction: SCMP_ACT_ALLOW}\n").unwrap_err();
        assert!(err.to_string().contains("kind is \"Pod\""), "{err}");
    }
}
