//! `leastpriv run --seccomp PROFILE -- CMD`: enforce a profile on a command, or with
//! `--complain`, find out exactly what it lacks.

use leastpriv::{
    enforce::seccomp::{would_deny, Mode, SeccompProgram},
    launch::{self, RunAs},
    profile::seccomp as profile,
};

use super::record::{self, Recorded, What};
use crate::cli::RunArgs;

pub fn run(args: &RunArgs) -> anyhow::Result<u8> {
    let profile = profile::read(&args.seccomp)?;
    let mode = if args.complain {
        Mode::Complain
    } else {
        Mode::Enforce
    };
    let program = SeccompProgram::compile(&profile, mode)?;
    for name in &program.unknown_names {
        eprintln!(
            "leastpriv: warning: {} names {name}, which this libseccomp does not know; it is skipped (runc and crun do the same)",
            args.seccomp.display()
        );
    }
    if !args.complain {
        let run_as = if args.as_root {
            None
        } else {
            RunAs::from_sudo_env()?
        };
        let mut child = match launch::spawn_confined(&args.command, run_as.as_ref(), &program) {
            Ok(child) => child,
            Err(err) => return Ok(record::launch_failure(&err)),
        };
        let status = child.wait()?;
        return Ok(record::exit_code(status).clamp(0, 255) as u8);
    }

    let what = What::Command {
        argv: &args.command,
        as_root: args.as_root,
        grace: args.grace,
    };
    let (recording, exit_status) = match record::record(&what, Some(&program))? {
        Recorded::Run {
            recording,
            exit_status,
        } => (recording, exit_status),
        Recorded::LaunchFailed { exit_status } => return Ok(exit_status),
    };
    if let Some(output) = &args.output {
        record::write_recording(&recording, output, args.as_root)?;
    }
    let denials = would_deny(&profile, &recording);
    if denials.is_empty() {
        eprintln!(
            "leastpriv: {} allowed everything the command did",
            args.seccomp.display()
        );
        return Ok(exit_status);
    }
    eprintln!(
        "leastpriv: {} would have denied {} syscalls:",
        args.seccomp.display(),
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
