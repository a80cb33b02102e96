//! `leastpriv check --profiles DIR -- CMD`: does CMD still fit the committed profiles?

use std::path::Path;

use anyhow::Context as _;
use leastpriv::{
    diff::{self, Permission},
    enforce::{capabilities::ExactCapabilities, seccomp::would_deny},
    policy::capabilities as capability_policy,
    profile::seccomp as seccomp_profile,
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
    let seccomp = seccomp_path.exists().then(|| seccomp_profile::read(&seccomp_path)).transpose()?;
    let capabilities = if capabilities_path.exists() {
        ExactCapabilities::parse(&capabilities_path.to_string_lossy())?;
        let text = std::fs::read_to_string(&capabilities_path)
            .with_context(|| format!("cannot read {}", capabilities_path.display()))?;
        Some(diff::from_capability_list(&text))
    } else {
        None
    };
    if seccomp.is_none() && capabilities.is_none() {
        return Err(InputError(format!(
            "{} holds neither seccomp.json nor capabilities.txt",
            args.profiles.display()
        ))
        .into());
    }

    let what = What::Command { argv: &args.command, as_root: args.as_root, grace: args.grace };
    let (recording, exit_status) = match record::record(&what, None)? {
        Recorded::Run { recording, exit_status } => (recording, exit_status),
        Recorded::LaunchFailed { exit_status } => return Ok(exit_status),
    };
    if let Some(output) = &args.output {
        record::write_recording(&recording, output, args.as_root)?;
    }

    let mut missing = Vec::new();
    if let Some(profile) = &seccomp {
        for denial in would_deny(profile, &recording) {
            let name = denial.name.clone().unwrap_or_else(|| format!("#{}", denial.nr));
            missing.push(line(&seccomp_path, &format!("syscall {name} ({})", denial.abi), &denial.by));
        }
    }
    if let Some(allowed) = &capabilities {
        match capability_policy::decide(&recording) {
            Ok(needed) => {
                for (name, by) in &needed.add {
                    if !allowed.contains_key(&Permission::Capability { name: name.clone() }) {
                        let by: Vec<String> = by.iter().cloned().collect();
                        missing.push(line(&capabilities_path, &format!("capability {name}"), &by));
                    }
                }
            }
            Err(err) => eprintln!("leastpriv: warning: capabilities not checked: {err}"),
        }
    }
    if missing.is_empty() {
        eprintln!("leastpriv: the command stayed within the profiles in {}", args.profiles.display());
        return Ok(exit_status);
    }
    eprintln!("leastpriv: the command needed {} permissions the profiles do not give:", missing.len());
    for l in &missing {
        println!("{l}");
    }
    Ok(1)
}

/// One missing permission, with where it is missing and who needed it (escaped: workload data).
fn line(profile: &Path, what: &str, by: &[String]) -> String {
    let by = if by.is_empty() { String::new() } else { format!("  by {}", by.join(", ")) };
    format!("{}: {what}{}", profile.display(), by.escape_debug())
}
