//! The `leastpriv` binary: parse the command line, run one command, map the outcome to an
//! exit status. The work is in the library and in `commands/`.

mod cli;
mod commands;

use std::process::ExitCode;

use clap::Parser as _;

/// Exit status when leastpriv itself fails (as `env`, `chroot` and `docker run` do), so that a
/// wrapped command's own statuses stay distinguishable.
pub const EXIT_LEASTPRIV_FAILED: u8 = 125;

fn main() -> ExitCode {
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            let _ = err.print();
            return if err.use_stderr() {
                ExitCode::from(EXIT_LEASTPRIV_FAILED)
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

    match commands::run(cli.command) {
        Ok(status) => ExitCode::from(status),
        Err(err) => {
            eprintln!("leastpriv: error: {err:#}");
            ExitCode::from(EXIT_LEASTPRIV_FAILED)
        }
    }
}
