//! `leastpriv check --profiles DIR -- CMD`: does CMD still fit the committed profiles?

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use leastpriv::{
    diff::{self, Permission},
    enforce::{capabilities::ExactCapabilities, seccomp::would_deny},
    policy::capabilities as capability_policy,
    profile::{apparmor_parse, seccomp as seccomp_profile},
    recording::ExePath,
};

use super::{
    record::{self, Recorded, What},
    InputError,
};
use crate::cli::CheckArgs;

pub fn run(args: &CheckArgs) -> anyhow::Result<u8> {
    let seccomp_path = args.profiles.join("seccomp.json");
    let capabilities_path = args.profiles.join("capabilities.txt");
    // Read the profiles before running anything: a bad profile is bad input, not a finding.
    let seccomp = seccomp_path
        .exists()
        .then(|| seccomp_profile::read(&seccomp_path))
        .transpose()?;
    let capabilities = if capabilities_path.exists() {
        ExactCapabilities::parse(&capabilities_path.to_string_lossy())?;
        let text = std::fs::read_to_string(&capabilities_path)
            .with_context(|| format!("cannot read {}", capabilities_path.display()))?;
        Some(diff::from_capability_list(&text))
    } else {
        None
    };
    let apparmor_path = apparmor_file(&args.profiles)?;
    let apparmor = match &apparmor_path {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            let profile = apparmor_parse::parse(&text).map_err(|err| {
                InputError(format!(
                    "{}: not an AppArmor profile check can read: {err}",
                    path.display()
                ))
            })?;
            let checker = profile.checker();
            for warning in &checker.warnings {
                eprintln!("leastpriv: warning: {}: {warning}", path.display());
            }
            Some(checker)
        }
        None => None,
    };
    if seccomp.is_none() && capabilities.is_none() && apparmor.is_none() {
        return Err(InputError(format!(
            "{} holds none of seccomp.json, capabilities.txt, apparmor or *.apparmor",
            args.profiles.display()
        ))
        .into());
    }

    let what = What::Command {
        argv: &args.command,
        as_root: args.as_root,
        grace: args.grace,
    };
    let (recording, exit_status) =
        match record::record(&what, None, leastpriv::observed::DEFAULT_MAX_PATHS)? {
            Recorded::Run {
                recording,
                exit_status,
            } => (recording, exit_status),
            Recorded::LaunchFailed { exit_status } => return Ok(exit_status),
        };
    if let Some(output) = &args.output {
        record::write_recording(&recording, output, args.as_root)?;
    }

    let mut missing = Vec::new();
    if let Some(profile) = &seccomp {
        for denial in would_deny(profile, &recording) {
            let name = denial
                .name
                .clone()
                .unwrap_or_else(|| format!("#{}", denial.nr));
            missing.push(line(
                &seccomp_path,
                &format!("syscall {name} ({})", denial.abi),
                &denial.by,
            ));
        }
    }
    if let Some(allowed) = &capabilities {
        match capability_policy::decide(&recording) {
            Ok(needed) => {
                for (name, by) in &needed.add {
                    if !allowed.contains_key(&Permission::Capability { name: name.clone() }) {
                        missing.push(line(&capabilities_path, &format!("capability {name}"), by));
                    }
                }
            }
            Err(err) => eprintln!("leastpriv: warning: capabilities not checked: {err}"),
        }
    }
    if let (Some(checker), Some(path)) = (&apparmor, &apparmor_path) {
        let report = checker.check(&recording);
        for note in &report.notes {
            eprintln!("leastpriv: warning: {}: {note}", path.display());
        }
        for (permission, by) in &report.missing {
            missing.push(line(path, &permission.describe(), by));
        }
    }
    if missing.is_empty() {
        eprintln!(
            "leastpriv: the command stayed within the profiles in {}",
            args.profiles.display()
        );
        return Ok(exit_status);
    }
    eprintln!(
        "leastpriv: the command needed {} permissions the profiles do not give:",
        missing.len()
    );
    for l in &missing {
        println!("{l}");
    }
    Ok(1)
}

/// The AppArmor profile in DIR: `DIR/apparmor`, else the one `DIR/*.apparmor` (several are
/// refused: a command runs under one profile).
fn apparmor_file(dir: &Path) -> anyhow::Result<Option<PathBuf>> {
    let plain = dir.join("apparmor");
    if plain.is_file() {
        return Ok(Some(plain));
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(None);
    };
    let mut found: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "apparmor") && p.is_file())
        .collect();
    found.sort();
    match found.len() {
        0 | 1 => Ok(found.pop()),
        _ => Err(InputError(format!(
            "{} holds {} *.apparmor profiles; check needs one (name it apparmor or keep one *.apparmor)",
            dir.display(),
            found.len()
        ))
        .into()),
    }
}

/// One missing permission, with where it is missing and who needed it (escaped: workload data).
fn line<'a>(profile: &Path, what: &str, by: impl IntoIterator<Item = &'a ExePath>) -> String {
    let by: Vec<&str> = by.into_iter().map(ExePath::as_str).collect();
    let by = if by.is_empty() {
        String::new()
    } else {
        format!("  by {}", by.join(", "))
    };
    format!("{}: {what}{}", profile.display(), by.escape_debug())
}
