//! `leastpriv check --profiles DIR -- CMD`: does CMD still fit the committed profiles?

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use leastpriv::{
    enforce::capabilities::ExactCapabilities,
    record::launch::Confinement,
    review::{
        check::{self, Profiles},
        parse::{apparmor, seccomp},
        permission,
    },
};

use super::record::record_checked_command;
use crate::{
    cli::CheckArgs,
    exit::{BadInput, Exit, OrBadInput as _},
};

pub fn run(args: &CheckArgs) -> anyhow::Result<Exit> {
    // Read the profiles before running anything: a bad profile is bad input, not a finding.
    let profiles = read_profiles(&args.profiles)?;
    let (recording, exit_status) = match record_checked_command(
        &args.command,
        args.as_root,
        args.grace,
        &Confinement::none(),
        args.output.as_deref(),
    )? {
        Ok(recorded) => recorded,
        Err(exit) => return Ok(exit),
    };

    let report = check::check(&profiles, &recording);
    for warning in &report.warnings {
        eprintln!("leastpriv: warning: {warning}");
    }
    if report.missing.is_empty() {
        eprintln!(
            "leastpriv: the command stayed within the profiles in {}",
            args.profiles.display()
        );
        return Ok(Exit::Wrapped(exit_status.into()));
    }
    eprintln!(
        "leastpriv: the command needed {} permissions the profiles do not give:",
        report.missing.len()
    );
    for missing in &report.missing {
        println!("{}", missing.line());
    }
    Ok(Exit::Findings)
}

/// The profiles in DIR: `seccomp.json`, `capabilities.txt`, an AppArmor profile, and a
/// Landlock configuration (`landlock.json` or `landlock.toml`).
fn read_profiles(dir: &Path) -> anyhow::Result<Profiles> {
    let seccomp_path = dir.join("seccomp.json");
    let capabilities_path = dir.join("capabilities.txt");
    let seccomp = if seccomp_path.exists() {
        let profile = seccomp::read(&seccomp_path).or_bad_input()?;
        Some((seccomp_path, profile))
    } else {
        None
    };
    let capabilities = if capabilities_path.exists() {
        ExactCapabilities::parse(&capabilities_path.to_string_lossy()).or_bad_input()?;
        let text = std::fs::read_to_string(&capabilities_path)
            .with_context(|| format!("cannot read {}", capabilities_path.display()))?;
        Some((capabilities_path, permission::from_capability_list(&text)))
    } else {
        None
    };
    let apparmor = match apparmor_file(dir)? {
        Some(path) => {
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            let profile = apparmor::parse(&text).map_err(|err| {
                BadInput::new(format!(
                    "{}: not an AppArmor profile check can read: {err}",
                    path.display()
                ))
            })?;
            let checker = profile.checker();
            for warning in &checker.warnings {
                eprintln!("leastpriv: warning: {}: {warning}", path.display());
            }
            Some((path, checker))
        }
        None => None,
    };
    let landlock = ["landlock.json", "landlock.toml"]
        .iter()
        .map(|name| dir.join(name))
        .find(|path| path.is_file())
        .map(|path| {
            leastpriv::review::parse::landlock::read(&path)
                .or_bad_input()
                .map(|config| (path, config))
        })
        .transpose()?;
    if seccomp.is_none() && capabilities.is_none() && apparmor.is_none() && landlock.is_none() {
        return Err(BadInput::new(format!(
            "{} holds none of seccomp.json, capabilities.txt, apparmor, *.apparmor, landlock.json or landlock.toml",
            dir.display()
        ))
        .into());
    }
    Ok(Profiles {
        seccomp,
        capabilities,
        apparmor,
        landlock,
    })
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
        _ => Err(BadInput::new(format!(
            "{} holds {} *.apparmor profiles; check needs one (name it apparmor or keep one *.apparmor)",
            dir.display(),
            found.len()
        ))
        .into()),
    }
}
