//! `check`: what a recorded run needed that committed profiles do not give. Each profile kind
//! answers in its own terms (a syscall and the action the filter would have taken, a
//! capability, an AppArmor permission), always with the programs that needed it.

use std::path::{Path, PathBuf};

use oci_spec::runtime::{LinuxSeccomp, LinuxSeccompAction};

use super::{
    parse::apparmor::Checker,
    permission::{Permission, Permissions},
};
use crate::{
    policy::capabilities as capability_policy,
    recording::{syscalls::Abi, ExePath, Recording},
};

/// The committed profiles a run is checked against, each with the file it came from.
#[derive(Default)]
pub struct Profiles {
    pub seccomp: Option<(PathBuf, LinuxSeccomp)>,
    /// A capability add-list.
    pub capabilities: Option<(PathBuf, Permissions)>,
    pub apparmor: Option<(PathBuf, Checker)>,
    pub landlock: Option<(PathBuf, crate::policy::landlock::LandlockPolicy)>,
}

/// One permission a run needed that a profile lacks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Missing {
    /// The profile that lacks it.
    pub profile: PathBuf,
    /// What was needed, described (`syscall ptrace (x86_64)`, `capability CAP_CHOWN`, ...).
    pub what: String,
    /// The programs that needed it.
    pub by: Vec<ExePath>,
}

/// The outcome of [`check`].
#[derive(Debug, Default)]
pub struct Report {
    pub missing: Vec<Missing>,
    /// What could not be checked, and why (each names its profile).
    pub warnings: Vec<String>,
}

/// Everything `recording` shows the run needed that `profiles` lack, profile by profile.
pub fn check(profiles: &Profiles, recording: &Recording) -> Report {
    let mut report = Report::default();
    if let Some((path, profile)) = &profiles.seccomp {
        for denial in would_deny(profile, recording) {
            let name = denial
                .name
                .clone()
                .unwrap_or_else(|| format!("#{}", denial.nr));
            report.missing.push(Missing {
                profile: path.clone(),
                what: format!("syscall {name} ({})", denial.abi),
                by: denial.by,
            });
        }
    }
    if let Some((path, allowed)) = &profiles.capabilities {
        match capability_policy::decide(recording) {
            Ok(needed) => {
                for (name, by) in &needed.add {
                    if !allowed.contains_key(&Permission::Capability { name: name.clone() }) {
                        report.missing.push(Missing {
                            profile: path.clone(),
                            what: format!("capability {name}"),
                            by: by.iter().cloned().collect(),
                        });
                    }
                }
            }
            Err(err) => report
                .warnings
                .push(format!("capabilities not checked: {err}")),
        }
    }
    if let Some((path, checker)) = &profiles.apparmor {
        let apparmor = checker.check(recording);
        for note in &apparmor.notes {
            report.warnings.push(format!("{}: {note}", path.display()));
        }
        for (permission, by) in &apparmor.missing {
            report.missing.push(Missing {
                profile: path.clone(),
                what: permission.describe(),
                by: by.iter().cloned().collect(),
            });
        }
    }
    if let Some((path, policy)) = &profiles.landlock {
        for refusal in super::landlock::would_refuse(policy, recording) {
            report.missing.push(Missing {
                profile: path.clone(),
                what: format!(
                    "landlock {} on {}",
                    refusal.lacking,
                    refusal.path.escape_debug()
                ),
                by: refusal.by,
            });
        }
    }
    report
}

impl Missing {
    /// `PROFILE: WHAT  by PROGRAM, ...`, the programs escaped (they are workload data).
    pub fn line(&self) -> String {
        line(&self.profile, &self.what, &self.by)
    }
}

fn line(profile: &Path, what: &str, by: &[ExePath]) -> String {
    let by: Vec<&str> = by.iter().map(ExePath::as_str).collect();
    let by = if by.is_empty() {
        String::new()
    } else {
        format!("  by {}", by.join(", "))
    };
    format!("{}: {what}{}", profile.display(), by.escape_debug())
}

/// A recorded syscall that a profile would not have allowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denial {
    pub abi: Abi,
    pub nr: i64,
    pub name: Option<String>,
    /// What the profile would have done, e.g. `SCMP_ACT_ERRNO(EPERM)`, or why.
    pub verdict: String,
    /// The executables that made it.
    pub by: Vec<ExePath>,
}

/// Every recorded syscall the profile would have denied, in ABI then number order. A rule with
/// argument conditions counts as allowing (the recording does not hold the arguments).
pub fn would_deny(profile: &LinuxSeccomp, recording: &Recording) -> Vec<Denial> {
    let arches = profile.architectures().clone().unwrap_or_default();
    let rules = profile.syscalls().clone().unwrap_or_default();
    let default = describe(profile.default_action(), profile.default_errno_ret());
    let mut denials = Vec::new();
    for (&abi, entries) in &recording.syscalls {
        let arch_listed = arches.is_empty() || arches.contains(&crate::profile::seccomp::arch(abi));
        for entry in entries {
            let verdict = if !arch_listed {
                Some(format!(
                    "architecture {} is not in the profile (killed)",
                    abi
                ))
            } else {
                match &entry.name {
                    None => Some(default.clone()),
                    Some(name) => {
                        match rules.iter().find(|r| r.names().iter().any(|n| n == name)) {
                            Some(rule)
                                if matches!(
                                    rule.action(),
                                    LinuxSeccompAction::ScmpActAllow
                                        | LinuxSeccompAction::ScmpActLog
                                ) =>
                            {
                                None
                            }
                            Some(rule) => Some(describe(rule.action(), rule.errno_ret())),
                            None => Some(default.clone()),
                        }
                    }
                }
            };
            if let Some(verdict) = verdict {
                denials.push(Denial {
                    abi,
                    nr: entry.nr,
                    name: entry.name.clone(),
                    verdict,
                    by: entry.by.to_vec(),
                });
            }
        }
    }
    denials
}

fn describe(action: LinuxSeccompAction, errno: Option<u32>) -> String {
    match (action, errno) {
        (LinuxSeccompAction::ScmpActErrno, errno) => {
            let errno = errno.unwrap_or(1);
            let name = match errno {
                1 => "EPERM".to_owned(),
                38 => "ENOSYS".to_owned(),
                n => n.to_string(),
            };
            format!("SCMP_ACT_ERRNO({name})")
        }
        (action, _) => action.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::{
        policy::seccomp::{decide, SeccompOptions},
        profile::seccomp::render_oci,
        review::parse::seccomp::parse,
    };

    fn recording(syscalls: &[(Abi, i64)]) -> Recording {
        Recording::for_tests(syscalls)
    }

    fn profile_for(syscalls: &[(Abi, i64)]) -> LinuxSeccomp {
        let policy = decide(&recording(syscalls), SeccompOptions::default());
        parse(Path::new("p.json"), &render_oci(&policy)).unwrap()
    }

    #[test]
    fn a_profile_allows_its_own_recording() {
        let seen = [(Abi::X86_64, 0), (Abi::X86_64, 1), (Abi::X86_64, 231)];
        assert_eq!(would_deny(&profile_for(&seen), &recording(&seen)), []);
    }

    #[test]
    fn names_what_is_missing_with_its_maker() {
        let profile = profile_for(&[(Abi::X86_64, 0)]);
        // write (1) and clone3 (435, a probed syscall: ENOSYS).
        let denials = would_deny(
            &profile,
            &recording(&[(Abi::X86_64, 0), (Abi::X86_64, 1), (Abi::X86_64, 435)]),
        );
        let got: Vec<(&str, &str)> = denials
            .iter()
            .map(|d| (d.name.as_deref().unwrap(), d.verdict.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("write", "SCMP_ACT_ERRNO(EPERM)"),
                ("clone3", "SCMP_ACT_ERRNO(ENOSYS)")
            ]
        );
        assert_eq!(denials[0].by, ["/bin/x"]);
    }

    #[test]
    fn another_abi_is_denied_whole() {
        let profile = profile_for(&[(Abi::X86_64, 1)]);
        let denials = would_deny(&profile, &recording(&[(Abi::Ia32, 4)]));
        assert_eq!(denials.len(), 1);
        assert!(
            denials[0].verdict.contains("architecture ia32"),
            "{}",
            denials[0].verdict
        );
    }
}
