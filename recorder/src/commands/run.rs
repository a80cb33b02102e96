//! `leastpriv run`: enforce a seccomp profile and/or an exact capability set on a command, or
//! with `--complain`, find out exactly what a seccomp profile lacks.

use std::path::Path;

use leastpriv::{
    enforce::{
        apparmor,
        capabilities::ExactCapabilities,
        landlock::{LandlockError, LandlockRuleset},
        seccomp::{Mode, SeccompProgram},
    },
    policy::landlock::LandlockPolicy,
    record::{
        launch::{self, Confinement, RunAs},
        session,
    },
    review::{
        check::would_deny,
        landlock::would_refuse,
        parse::{landlock as landlock_config, seccomp},
    },
};
use oci_spec::runtime::LinuxSeccomp;

use super::record::record_checked_command;
use crate::{
    cli::RunArgs,
    exit::{BadInput, Exit, OrBadInput as _},
};

pub fn run(args: &RunArgs) -> anyhow::Result<Exit> {
    if let Some(profile) = &args.apparmor {
        return run_apparmor(args, profile);
    }
    if args.complain && args.seccomp.is_none() && args.landlock.is_none() {
        anyhow::bail!(
            "--complain needs --seccomp PROFILE, --landlock CONFIG or --apparmor PROFILE"
        );
    }
    let capabilities = args
        .capabilities
        .as_deref()
        .map(ExactCapabilities::parse)
        .transpose()
        .or_bad_input()?;
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
    let landlock = args
        .landlock
        .as_deref()
        .map(landlock_config::read)
        .transpose()
        .or_bad_input()?;
    if args.complain && args.seccomp.is_some() && landlock.is_some() {
        anyhow::bail!("--complain checks one profile: give --seccomp or --landlock");
    }
    if let (true, Some(path), Some(config)) = (args.complain, &args.landlock, &landlock) {
        if capabilities.is_some() {
            anyhow::bail!("--complain checks a profile; use --capabilities without it");
        }
        return complain_landlock(args, path, config);
    }
    if !args.complain {
        let run_as = if args.as_root {
            None
        } else {
            RunAs::from_sudo_env()?
        };
        // The capability sets first: the seccomp filter, installed last, then sees only exec.
        let mut confinement = Confinement::none();
        if let Some(capabilities) = capabilities {
            confinement = confinement.then(capabilities);
        }
        if let (Some(path), Some(config)) = (&args.landlock, &landlock) {
            confinement =
                confinement.then(landlock_ruleset(path, config, args.landlock_best_effort)?);
        }
        if let Some((_, program)) = seccomp {
            confinement = confinement.then(program);
        }
        let mut child = match launch::spawn_confined(&args.command, run_as.as_ref(), &confinement) {
            Ok(child) => child,
            Err(err) => return Ok(Exit::launch_failed(&err)),
        };
        let status = child.wait()?;
        return Ok(session::exit_code(status).map_or(
            Exit::LaunchFailed(crate::exit::LaunchFailure::Other),
            Exit::Wrapped,
        ));
    }
    if capabilities.is_some() {
        anyhow::bail!("--complain checks a seccomp profile; use --capabilities without it");
    }
    let (Some(path), Some((profile, program))) = (&args.seccomp, seccomp) else {
        anyhow::bail!("--complain needs --seccomp PROFILE");
    };
    complain(args, path, &profile, &program)
}

/// Builds the Landlock ruleset, saying what it cannot enforce. A configuration that needs a
/// newer kernel is the user's input that cannot be honoured: exit 2, nothing run.
fn landlock_ruleset(
    path: &Path,
    config: &LandlockPolicy,
    best_effort: bool,
) -> anyhow::Result<LandlockRuleset> {
    let ruleset = match LandlockRuleset::build(config, best_effort) {
        Ok(ruleset) => ruleset,
        Err(err @ LandlockError::AbiTooNew { .. }) => {
            return Err(BadInput::from(
                anyhow::Error::new(err).context(format!("cannot enforce {}", path.display())),
            )
            .into())
        }
        Err(err) => {
            return Err(
                anyhow::Error::new(err).context(format!("cannot enforce {}", path.display()))
            )
        }
    };
    if !ruleset.unenforced.is_empty() {
        eprintln!(
            "leastpriv: warning: this kernel's Landlock cannot enforce {} of {}; the command runs without those restrictions",
            ruleset.unenforced.join(", "),
            path.display()
        );
    }
    for skipped in &ruleset.skipped {
        eprintln!(
            "leastpriv: warning: {}: rule on {skipped}; it grants nothing",
            path.display()
        );
    }
    Ok(ruleset)
}

/// Runs the command unconfined while recording it, and lists every file access the Landlock
/// configuration would have refused.
fn complain_landlock(args: &RunArgs, path: &Path, config: &LandlockPolicy) -> anyhow::Result<Exit> {
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
    let refusals = would_refuse(config, &recording);
    if refusals.is_empty() {
        eprintln!(
            "leastpriv: {} allowed every file access the command made",
            path.display()
        );
        return Ok(Exit::Wrapped(exit_status.into()));
    }
    eprintln!(
        "leastpriv: {} would have refused {} accesses:",
        path.display(),
        refusals.len()
    );
    for refusal in &refusals {
        let by: Vec<&str> = refusal.by.iter().map(|e| e.as_str()).collect();
        let by = if by.is_empty() {
            String::new()
        } else {
            format!("  by {}", by.join(", "))
        };
        // Paths and names come from the workload: printed escaped.
        println!(
            "{}\t{}{}",
            refusal.path.escape_debug(),
            refusal.lacking,
            by.escape_debug()
        );
    }
    Ok(Exit::Findings)
}

/// Reads and compiles a profile, warning about names this libseccomp does not know.
fn compile(path: &Path, mode: Mode) -> anyhow::Result<(LinuxSeccomp, SeccompProgram)> {
    let profile = seccomp::read(path).or_bad_input()?;
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
) -> anyhow::Result<Exit> {
    let (recording, exit_status) = match record_checked_command(
        &args.command,
        args.as_root,
        args.grace,
        &Confinement::none().then(program.clone()),
        args.output.as_deref(),
    )? {
        Ok(recorded) => recorded,
        Err(exit) => return Ok(exit),
    };
    let denials = would_deny(profile, &recording);
    if denials.is_empty() {
        eprintln!(
            "leastpriv: {} allowed everything the command did",
            path.display()
        );
        return Ok(Exit::Wrapped(exit_status.into()));
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
    Ok(Exit::Findings)
}

/// `run --apparmor PROFILE [--complain]`: load the profile, run the command in it, list what
/// AppArmor denied (or would have: complain mode) from the kernel log.
fn run_apparmor(args: &RunArgs, path: &Path) -> anyhow::Result<Exit> {
    apparmor::available()?;
    let capabilities = args
        .capabilities
        .as_deref()
        .map(ExactCapabilities::parse)
        .transpose()
        .or_bad_input()?;
    let loaded = apparmor::LoadedProfile::load(path, args.complain)?;
    let name = loaded.names[0].clone();
    let run_as = if args.as_root {
        None
    } else {
        RunAs::from_sudo_env()?
    };
    let mut confinement = Confinement::none();
    if let Some(capabilities) = capabilities {
        confinement = confinement.then(capabilities);
    }
    confinement = confinement.then(apparmor::ExecInto::new(&name));
    let mut log = apparmor::KernelLog::from_now()?;
    let mut child = match launch::spawn_confined(&args.command, run_as.as_ref(), &confinement) {
        Ok(child) => child,
        Err(err) => return Ok(Exit::launch_failed(&err)),
    };
    let status = child.wait()?;
    // The kernel's audit thread prints records after the calls return: let it catch up.
    std::thread::sleep(std::time::Duration::from_millis(200));
    let denials = apparmor::denials(&log.read_new(), &loaded.names);
    drop(loaded);
    let what = if args.complain {
        "would have denied"
    } else {
        "denied"
    };
    if denials.is_empty() {
        eprintln!(
            "leastpriv: AppArmor profile {name} ({}) {what} nothing",
            path.display()
        );
        return Ok(session::exit_code(status).map_or(
            Exit::LaunchFailed(crate::exit::LaunchFailure::Other),
            Exit::Wrapped,
        ));
    }
    eprintln!(
        "leastpriv: AppArmor profile {name} ({}) {what} {} accesses:",
        path.display(),
        denials.len()
    );
    for d in &denials {
        // Names come from the workload: printed escaped.
        println!(
            "{}\t{}\t{}\t{}\tby {} (pid {})",
            d.operation.escape_debug(),
            d.name.escape_debug(),
            d.requested.escape_debug(),
            d.profile.escape_debug(),
            d.comm.escape_debug(),
            d.pid.escape_debug()
        );
    }
    Ok(Exit::Findings)
}
