//! The `leastpriv` binary: parse the command line, run one command, map the outcome to an
//! exit status ([`exit`]). The work is in the library and in `commands/`.

mod cli;
mod commands;
mod exit;

use std::process::ExitCode;

use clap::FromArgMatches as _;

fn main() -> ExitCode {
    let parsed = cli::command()
        .try_get_matches()
        .and_then(|matches| cli::Cli::from_arg_matches(&matches));
    let cli = match parsed {
        Ok(cli) => cli,
        Err(err) => {
            let _ = err.print();
            return if err.use_stderr() {
                ExitCode::from(exit::BAD_INPUT)
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
        Ok(exit) => ExitCode::from(exit.code()),
        Err(err) => {
            eprintln!("leastpriv: error: {err:#}");
            ExitCode::from(exit::Exit::for_error(&err, wraps_a_command))
        }
    }
}
