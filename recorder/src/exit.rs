//! Exit statuses: the one place where the outcome of a command becomes a number.
//!
//! | status | meaning |
//! | --- | --- |
//! | 0 | success |
//! | 1 | the command found something: `diff --fail-on widen` saw a widening, `check` or `run --complain` a missing permission |
//! | 2 | bad input: a malformed, truncated, wrong-kind or wrong-version file, or bad flags |
//! | 125 | leastpriv failed while wrapping a command (`record`, `run`, `check`), as `env`, `chroot` and `docker run` do |
//! | 126, 127 | the wrapped command is not executable, or not found (as shells say) |
//! | anything else | the wrapped command's own status (128+N for a signal N) |
//!
//! A command that only reads files exits 2 on any error. A command that wraps another exits
//! 125 on its own failures, so that the wrapped command's statuses stay distinguishable, and
//! 2 when the error is marked [`BadInput`]: the one way to say "the user gave us this".

use leastpriv::record::launch::LaunchError;

/// How a command ended without an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Success,
    /// The command did its job and found what its caller asked it to look for.
    Findings,
    /// The wrapped command's own status, passed on.
    Wrapped(i32),
    /// The wrapped command could not be started.
    LaunchFailed(LaunchFailure),
}

/// Why a wrapped command could not be started, as shells tell it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LaunchFailure {
    NotFound,
    NotExecutable,
    Other,
}

/// Exit status for bad input (as clap uses it too).
pub const BAD_INPUT: u8 = 2;

/// Exit status when leastpriv fails while wrapping a command.
pub const LEASTPRIV_FAILED: u8 = 125;

impl Exit {
    /// A wrapped command that could not start: the reason is printed here, once.
    pub fn launch_failed(err: &LaunchError) -> Exit {
        eprintln!("leastpriv: {err}");
        Exit::LaunchFailed(match err {
            LaunchError::NotFound { .. } => LaunchFailure::NotFound,
            LaunchError::NotExecutable { .. } => LaunchFailure::NotExecutable,
            _ => LaunchFailure::Other,
        })
    }

    /// The status, with a wrapped command's clamped to what a process can exit with.
    pub fn code(self) -> u8 {
        match self {
            Exit::Success => 0,
            Exit::Findings => 1,
            Exit::Wrapped(status) => status.clamp(0, 255) as u8,
            Exit::LaunchFailed(LaunchFailure::NotFound) => 127,
            Exit::LaunchFailed(LaunchFailure::NotExecutable) => 126,
            Exit::LaunchFailed(LaunchFailure::Other) => LEASTPRIV_FAILED,
        }
    }

    /// The status for an error that ended the command.
    pub fn for_error(err: &anyhow::Error, wraps_a_command: bool) -> u8 {
        if !wraps_a_command || err.chain().any(|cause| cause.is::<BadInput>()) {
            BAD_INPUT
        } else {
            LEASTPRIV_FAILED
        }
    }
}

/// An error caused by what the user gave (a file, a list, flags that do not go together):
/// exit status 2 from every command. Shows as its cause.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct BadInput(anyhow::Error);

impl From<anyhow::Error> for BadInput {
    fn from(err: anyhow::Error) -> BadInput {
        BadInput(err)
    }
}

impl BadInput {
    /// Bad input described in words, such as two files of different kinds given to `diff`.
    pub fn new(message: impl Into<String>) -> BadInput {
        BadInput(anyhow::Error::msg(message.into()))
    }
}

/// Marks an error from reading the user's input as [`BadInput`].
pub trait OrBadInput<T> {
    fn or_bad_input(self) -> Result<T, BadInput>;
}

impl<T, E: Into<anyhow::Error>> OrBadInput<T> for Result<T, E> {
    fn or_bad_input(self) -> Result<T, BadInput> {
        self.map_err(|err| BadInput(err.into()))
    }
}

/// What bad input does, the same for every command: said once in `--help` and the man pages.
pub const BAD_INPUT_BEHAVIOUR: &str = "Bad input (a malformed, truncated, wrong-kind or \
wrong-version file, or bad flags) exits 2 with a message naming the file and what is wrong, \
and writes nothing.";

/// The exit statuses of the command at `path` (`["record"]`, `["generate", "seccomp"]`, or
/// `[]` for leastpriv itself), as (status, meaning) pairs for `--help` and the man pages.
///
/// They are written here, next to the numbers, so that the help cannot drift from [`Exit`]; a
/// command added without an entry gets the rule of commands that only read files, which is
/// right for every `generate` format.
pub fn statuses(path: &[&str]) -> Vec<(&'static str, &'static str)> {
    const WRAPPED: [(&str, &str); 4] = [
        (
            "N",
            "the command's own exit status (128+N when a signal N ended it)",
        ),
        ("125", "leastpriv itself failed while running the command"),
        ("126", "the command was found but could not be executed"),
        ("127", "the command was not found"),
    ];
    const BAD: (&str, &str) = ("2", "bad input (see below), or any other error");
    match path {
        [] => vec![
            ("0", "success"),
            (
                "1",
                "the command found something: diff --fail-on widen saw a widening, check or \
                 run --complain a missing permission",
            ),
            (
                "2",
                "bad input, or any error of a command that only reads files",
            ),
            (
                "125",
                "leastpriv failed while wrapping a command (record, run, check)",
            ),
            (
                "126, 127",
                "the wrapped command is not executable, or not found",
            ),
            (
                "other",
                "the wrapped command's own status (128+N for a signal N)",
            ),
        ],
        ["record"] => [WRAPPED.as_slice(), &[("2", "bad input")]].concat(),
        ["run"] => [
            WRAPPED.as_slice(),
            &[
                (
                    "1",
                    "with --complain: the profile lacks a syscall the command made (without \
                     --complain, 1 is the command's own status)",
                ),
                (
                    "2",
                    "bad input (a profile or capability list that cannot be read)",
                ),
            ],
        ]
        .concat(),
        ["check"] => [
            WRAPPED.as_slice(),
            &[
                (
                    "1",
                    "the command needed a permission the profiles do not give (else the \
                     command's own status)",
                ),
                ("2", "bad input (a profile that cannot be read)"),
            ],
        ]
        .concat(),
        ["diff"] => vec![
            (
                "0",
                "the two are equal or the new one is narrower, or any difference without \
                 --fail-on",
            ),
            (
                "1",
                "with --fail-on widen: the new one allows something the old did not",
            ),
            BAD,
        ],
        _ => vec![("0", "success"), BAD],
    }
}
