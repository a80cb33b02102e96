//! The `leastpriv` binary: parse the command line, run one command, map the outcome to an
//! exit status. The work is in the library and in `commands/`.

mod cli;
mod commands;

use std::process::ExitCode;

use clap::Parser as _;
use leastpriv::{
    enforce::capabilities::CapabilityListError,
    merge::MergeError,
    policy::{apparmor::AppArmorPolicyError, capabilities::CapabilityPolicyError},
    profile::seccomp::SeccompProfileError,
    recording::RecordingError,
};

/// Exit status for bad input: a malformed, truncated, wrong-version or wrong-kind file, or a
/// bad command line (as clap and `diff` use it).
pub const EXIT_BAD_INPUT: u8 = 2;

/// Exit status when leastpriv fails while wrapping a command (`record`, `run`), as `env`,
/// `chroot` and `docker run` do, so that the command's own statuses stay distinguishable.
pub const EXIT_LEASTPRIV_FAILED: u8 = 125;

fn main() -> ExitCode {
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            let _ = err.print();
            return if err.use_stderr() {
                ExitCode::from(EXIT_BAD_INPUT)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    let default_level = if cli.verbose { "debug" } else { "warn" };
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or(default_level))
        .format_timestamp(None)
        .format_target(false)
        .init();

    let wraps_a_command = cli.command.wraps_a_command();
    match commands::run(cli.command) {
        Ok(status) => ExitCode::from(status),
        Err(err) => {
            eprintln!("leastpriv: error: {err:#}");
            ExitCode::from(if is_bad_input(&err) || !wraps_a_command {
                EXIT_BAD_INPUT
            } else {
                EXIT_LEASTPRIV_FAILED
            })
        }
    }
}

/// Whether the error is about an input the user gave (a file or a list), not a failure.
fn is_bad_input(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause.is::<RecordingError>()
            || cause.is::<SeccompProfileError>()
            || cause.is::<CapabilityListError>()
            || cause.is::<CapabilityPolicyError>()
            || cause.is::<AppArmorPolicyError>()
            || cause.is::<MergeError>()
            || cause.is::<commands::InputError>()
    })
}
