//! `leastpriv run`: enforce a seccomp profile and/or an exact capability set on a command, or
//! with `--complain`, find out exactly what a seccomp profile lacks.

use std::path::Path;

use leastpriv::{
    enforce::{
        capabilities::ExactCapabilities,
        seccomp::{would_deny, Mode, SeccompProgram},
    },
    launch::{self, Confinement, RunAs},
    profile::seccomp as profile,
};
use oci_spec::runtime::LinuxSeccomp;

use super::record::{self, Recorded, What};
use crate::cli::RunArgs;

pub fn run(args: &RunArgs) -> anyhow::Result<u8> {
    let capabilities = args
        .capabilities
        .as_deref()
        .map(ExactCapabilities::parse)
        .transpose()?;
    let mode = if args.complain {
        Mode::Complain
    } else {
        Mode::Enforce
    };
    let seccomp = args
        .seccomp
        .as_deref()
        .map(|path| compile(path, mode))
        .transpose()?;
    if !args.complain {
        let run_as = if args.as_root {
            None
        } else {
            RunAs::from_sudo_env()?
        };
        let confinement = Confinement {
            seccomp: seccomp.map(|(_, program)| program),
            capabilities,
        };
        let mut child = match launch::spawn_confined(&args.command, run_as.as_ref(), &confinement) {
            Ok(child) => child,
            Err(err) => return Ok(record::launch_failure(&err)),
        };
        let status = child.wait()?;
        return Ok(record::exit_code(status).clamp(0, 255) as u8);
    }
    if capabilities.is_some() {
        anyhow::bail!("--complain checks a seccomp profile; use --capabilities without it");
    }
    let (Some(path), Some((profile, program))) = (&args.seccomp, seccomp) else {
        anyhow::bail!("--complain needs --seccomp PROFILE");
    };
    complain(args, path, &profile, &program)
}

/// Reads and compiles a profile, warning about names this libseccomp does not know.
fn compile(path: &Path, mode: Mode) -> anyhow::Result<(LinuxSeccomp, SeccompProgram)> {
    let profile = profile::read(path)?;
    let program = SeccompProgram::compile(&profile, mode)?;
    for name in &program.unknown_names {
        eprintln!(
            "leastpriv: warning: {} names {name}, which this libseccomp does not know; it is skipped (runc and crun do the same)",
            path.display()
        );
    }
    Ok((profile, program))
}

/// Runs the command with denials only logged, recorded, and lists what the profile lacks.
fn complain(
    args: &RunArgs,
    path: &Path,
    profile: &LinuxSeccomp,
    program: &SeccompProgram,
) -> anyhow::Result<u8> {
    let what = What::Command {
        argv: &args.command,
        as_root: args.as_root,
        grace: args.grace,
    };
    let (recording, exit_status) =
        match record::record(&what, Some(program), leastpriv::observed::DEFAULT_MAX_PATHS)? {
            Recorded::Run {
                recording,
                exit_status,
            } => (recording, exit_status),
            Recorded::LaunchFailed { exit_status } => return Ok(exit_status),
        };
    if let Some(output) = &args.output {
        record::write_recording(&recording, output, args.as_root)?;
    }
    let denials = would_deny(profile, &recording);
    if denials.is_empty() {
        eprintln!(
            "leastpriv: {} allowed everything the command did",
            path.display()
        );
        return Ok(exit_status);
    }
    eprintln!(
        "leastpriv: {} would have denied {} syscalls:",
        path.display(),
        denials.len()
    );
    for denial in &denials {
        let name = denial
            .name
            .clone()
            .unwrap_or_else(|| format!("#{}", denial.nr));
        let by = if denial.by.is_empty() {
            String::new()
        } else {
            format!("  by {}", denial.by.join(", "))
        };
        // Names and paths come from the workload: print them escaped.
        println!(
            "{}\t{}\t{}{}",
            denial.abi,
            name.escape_debug(),
            denial.verdict,
            by.escape_debug()
        );
    }
    Ok(1)
}
