//! Every command-line type, in one place.

use std::{ffi::OsString, path::PathBuf, time::Duration};

use clap::{Args, Parser, Subcommand};
use leastpriv::policy::{
    apparmor::{Mode as AppArmorMode, DEFAULT_GLOB_THRESHOLD},
    seccomp::Runtime,
};

/// Record what a program does in the kernel and turn it into least-privilege profiles.
#[derive(Debug, Parser)]
#[command(name = "leastpriv", version, about, max_term_width = 100)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// Print debug notes (also: RUST_LOG=debug).
    #[arg(short, long, global = true)]
    pub verbose: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a command (or watch an existing cgroup) and record every syscall it makes.
    ///
    /// The command runs in a fresh cgroup; it and every descendant are recorded from its own
    /// execve on. leastpriv exits with the command's exit status (128+N for signal N), 127 when
    /// the command is not found, 126 when it cannot be executed, 125 when leastpriv fails.
    Record(RecordArgs),
    /// Print a readable summary of a recording.
    Show(ShowArgs),
    /// Record a command and compare what it did with committed profiles (seccomp, capability
    /// list, AppArmor): lists every missing permission with the program that needed it, exits
    /// 1 when the command needed more than the profiles allow (else with the command's status).
    Check(CheckArgs),
    /// Merge recordings of many runs into one (union, with the runs that contributed each item).
    Merge(MergeArgs),
    /// Compare two recordings, or two profiles of the same kind (seccomp JSON/YAML,
    /// capability lists, AppArmor profiles): what was added (with risk and cause) and removed.
    /// Exits 0 when equal or narrowed, 1 when widened with --fail-on widen, 2 on error.
    Diff(DiffArgs),
    /// Turn a recording into a profile.
    #[command(subcommand)]
    Generate(GenerateCommand),
    /// Run a command under a profile (no privileges needed), or with --complain, run it
    /// unhindered while recording and list exactly what the profile lacks.
    Run(RunArgs),
    /// For benchmarks: attach an empty program to the recorder's syscall hook and hold it
    /// until Ctrl-C/SIGTERM or the duration ends (the cost floor recording is measured against).
    #[command(hide = true)]
    BenchFloor(BenchFloorArgs),
}

#[derive(Debug, Args)]
pub struct BenchFloorArgs {
    /// How long to stay attached (default: until SIGINT/SIGTERM).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub duration: Option<Duration>,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Directory with the committed profiles: `seccomp.json` (OCI), `capabilities.txt` and/or
    /// `apparmor` (or one `*.apparmor`).
    #[arg(long, value_name = "DIR")]
    pub profiles: PathBuf,
    /// Also write the recording here.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Keep root for the command when started through sudo.
    #[arg(long)]
    pub as_root: bool,
    /// How long to wait for processes the command leaves behind.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_duration)]
    pub grace: Duration,
    /// The command to run, after `--`.
    #[arg(last = true, value_name = "CMD", required = true)]
    pub command: Vec<OsString>,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The old recording or profile.
    #[arg(value_name = "OLD")]
    pub old: PathBuf,
    /// The new recording or profile (of the same kind).
    #[arg(value_name = "NEW")]
    pub new: PathBuf,
    #[arg(long, value_enum, default_value_t = DiffFormat::Text)]
    pub format: DiffFormat,
    /// Exit 1 when the new policy allows anything the old one did not.
    #[arg(long, value_enum, value_name = "WHEN")]
    pub fail_on: Option<FailOn>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DiffFormat {
    Text,
    /// Ready to paste as a pull-request comment.
    Markdown,
    /// Stable, for machines.
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FailOn {
    /// Anything added.
    Widen,
}

#[derive(Debug, Args)]
pub struct MergeArgs {
    /// The recordings to merge (recordings that are themselves merges are fine).
    #[arg(value_name = "RECORDING", required = true)]
    pub recordings: Vec<PathBuf>,
    /// Where to write the merged recording.
    #[arg(short, long, value_name = "FILE")]
    pub output: PathBuf,
}

impl Command {
    /// Commands that run a command and exit with its status (so their own failures use 125).
    pub fn wraps_a_command(&self) -> bool {
        matches!(
            self,
            Command::Record(_) | Command::Run(_) | Command::Check(_)
        )
    }
}

#[derive(Debug, Subcommand)]
pub enum GenerateCommand {
    /// A seccomp profile: OCI runtime-spec JSON (runc, crun, containerd, Docker, Podman,
    /// Kubernetes Localhost profiles) or a Security Profiles Operator SeccompProfile.
    Seccomp(GenerateSeccompArgs),
    /// The minimal capability add-list for `drop: [ALL]`.
    Capabilities(GenerateCapabilitiesArgs),
    /// An AppArmor profile: the recorded files, sockets and capabilities, with documented
    /// generalisations (docs/apparmor.md).
    Apparmor(GenerateApparmorArgs),
    /// A Kubernetes container securityContext (Localhost seccomp and AppArmor profiles,
    /// capabilities drop ALL plus the add-list) with the Security Profiles Operator
    /// resources, and the Pod Security Standards level it meets.
    K8s(GenerateK8sArgs),
    /// A systemd unit drop-in: SystemCallFilter=, SystemCallArchitectures=,
    /// CapabilityBoundingSet=, AmbientCapabilities=, NoNewPrivileges=.
    Systemd(GenerateSystemdArgs),
}

#[derive(Debug, Args)]
pub struct GenerateK8sArgs {
    /// The recording to read.
    #[arg(value_name = "RECORDING")]
    pub recording: PathBuf,
    /// The container of the recording to write the profile of (its name or id), where the
    /// recorded command started several; with one, that one is used.
    #[arg(long, value_name = "NAME|ID")]
    pub container: Option<String>,
    /// Where to write it (default: standard output).
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Name of the profiles and resources (default: from the recorded command).
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// The container runtime on the nodes, whose post-filter syscalls the seccomp profile adds.
    #[arg(long, value_enum, default_value_t = Runtime::Runc)]
    pub runtime: Runtime,
}

#[derive(Debug, Args)]
pub struct GenerateSystemdArgs {
    /// The recording to read.
    #[arg(value_name = "RECORDING")]
    pub recording: PathBuf,
    /// The container of the recording to write the profile of (its name or id), where the
    /// recorded command started several; with one, that one is used.
    #[arg(long, value_name = "NAME|ID")]
    pub container: Option<String>,
    /// Where to write it (default: standard output).
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct GenerateApparmorArgs {
    /// The recording to read.
    #[arg(value_name = "RECORDING")]
    pub recording: PathBuf,
    /// The container of the recording to write the profile of (its name or id), where the
    /// recorded command started several; with one, that one is used.
    #[arg(long, value_name = "NAME|ID")]
    pub container: Option<String>,
    /// Where to write the profile (default: standard output).
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// The profile name (default: the executable's file name). Letters, digits, '.', '_'
    /// and '-'.
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// enforce, or complain (flags=(complain): log what the profile lacks, deny nothing).
    #[arg(long, value_enum, default_value_t = AppArmorMode::Enforce)]
    pub mode: AppArmorMode,
    /// Write `dir/*` for N or more files in one directory with the same access (0: never).
    #[arg(long, value_name = "N", default_value_t = DEFAULT_GLOB_THRESHOLD)]
    pub glob_threshold: usize,
}

#[derive(Debug, Args)]
pub struct GenerateCapabilitiesArgs {
    /// The recording to read.
    #[arg(value_name = "RECORDING")]
    pub recording: PathBuf,
    /// The container of the recording to write the profile of (its name or id), where the
    /// recorded command started several; with one, that one is used.
    #[arg(long, value_name = "NAME|ID")]
    pub container: Option<String>,
    /// Where to write it (default: standard output).
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = CapabilityFormat::List)]
    pub format: CapabilityFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CapabilityFormat {
    /// One name per line (NET_BIND_SERVICE).
    List,
    /// A Kubernetes securityContext capabilities block with drop ALL.
    K8s,
    /// docker run --cap-drop/--cap-add flags.
    Docker,
    /// A systemd drop-in with CapabilityBoundingSet= and AmbientCapabilities=.
    Systemd,
}

#[derive(Debug, Args)]
pub struct GenerateSeccompArgs {
    /// The recording to read.
    #[arg(value_name = "RECORDING")]
    pub recording: PathBuf,
    /// The container of the recording to write the profile of (its name or id), where the
    /// recorded command started several; with one, that one is used.
    #[arg(long, value_name = "NAME|ID")]
    pub container: Option<String>,
    /// Where to write the profile (default: standard output).
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = SeccompFormat::Oci)]
    pub format: SeccompFormat,
    /// Add what this container runtime does after it installs the filter (it installs it
    /// before executing the workload).
    #[arg(long, value_enum, default_value_t = Runtime::None)]
    pub runtime: Runtime,
    /// Do not add the vDSO calls (clock_gettime, gettimeofday, time, getcpu, clock_getres)
    /// unless they were recorded.
    #[arg(long)]
    pub no_vdso: bool,
    /// Do not narrow syscalls by their recorded argument values (socket families and types,
    /// namespace flags, ioctl requests, ...): allow them whatever their arguments.
    #[arg(long)]
    pub no_args: bool,
    /// metadata.name of the SeccompProfile resource (default: from the recorded command).
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SeccompFormat {
    /// OCI runtime-spec `linux.seccomp` JSON.
    Oci,
    /// Security Profiles Operator `SeccompProfile` resource (YAML).
    Crd,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The seccomp profile to apply (OCI JSON or SeccompProfile YAML).
    #[arg(
        long,
        value_name = "PROFILE",
        required_unless_present_any = ["capabilities", "apparmor"]
    )]
    pub seccomp: Option<PathBuf>,
    /// The AppArmor profile to load and run the command in (needs a kernel with AppArmor and
    /// `apparmor_parser`). Every denial is listed with the program that made it; exits 1 when
    /// there were any. With --complain: every access the profile would deny.
    #[arg(long, value_name = "PROFILE", conflicts_with = "seccomp")]
    pub apparmor: Option<PathBuf>,
    /// Run with exactly these capabilities (bounding, permitted, effective, inheritable and
    /// ambient): a comma-separated list (NET_BIND_SERVICE,CHOWN; empty for none) or a file
    /// from `generate capabilities --format list`.
    #[arg(long, value_name = "LIST|FILE")]
    pub capabilities: Option<String>,
    /// Only log what the seccomp profile would deny; record the run and list every syscall
    /// (with ABI and executable) the profile lacks. Exits 1 when it lacks any. Needs root.
    #[arg(long)]
    pub complain: bool,
    /// With --complain: also write the recording here.
    #[arg(short, long, value_name = "FILE", requires = "complain")]
    pub output: Option<PathBuf>,
    /// Keep root for the command when started through sudo.
    #[arg(long)]
    pub as_root: bool,
    /// With --complain: how long to wait for processes the command leaves behind.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_duration)]
    pub grace: Duration,
    /// The command to run, after `--`.
    #[arg(last = true, value_name = "CMD", required = true)]
    pub command: Vec<OsString>,
}

#[derive(Debug, Args)]
pub struct RecordArgs {
    /// Where to write the recording (JSON).
    #[arg(short, long, value_name = "FILE", default_value = "recording.json")]
    pub output: PathBuf,
    /// Keep root for the command when started through sudo (default: run it as the invoking
    /// user, from SUDO_UID and SUDO_GID).
    #[arg(long)]
    pub as_root: bool,
    /// After the command exits, how long to keep recording processes it left in the cgroup
    /// before listing and killing them.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_duration)]
    pub grace: Duration,
    /// Record an existing cgroup v2 directory (a service, a container) instead of a command.
    #[arg(long, value_name = "PATH", conflicts_with_all = ["command", "container"])]
    pub cgroup: Option<PathBuf>,
    /// Record a running container (its name or id) until it exits, Ctrl-C or --duration.
    #[arg(long, value_name = "NAME|ID", conflicts_with = "command")]
    pub container: Option<String>,
    /// With --container: the engine that runs it (default: Podman, then Docker).
    #[arg(long, value_name = "ENGINE", requires = "container")]
    pub engine: Option<leastpriv::record::containers::Engine>,
    /// With --cgroup or --container: stop after this long (default: at Ctrl-C, or when the
    /// container exits).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub duration: Option<Duration>,
    /// Keep at most this many distinct file paths; accesses to further new paths are
    /// counted (`lost.file_paths`) and their directories reported, not kept. Bounds the
    /// recorder's memory (about 300 bytes per path) whatever the workload does.
    #[arg(long, value_name = "N", default_value_t = leastpriv::record::accumulator::DEFAULT_MAX_PATHS, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=100_000_000))]
    pub max_paths: usize,
    /// The command to run, after `--`.
    #[arg(last = true, value_name = "CMD", required_unless_present_any = ["cgroup", "container"])]
    pub command: Vec<OsString>,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The recording to summarise.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
}

impl RecordArgs {
    /// Checks what clap cannot express here (`requires` is not enforced next to a `last`
    /// positional argument).
    pub fn validate(&self) -> Result<(), String> {
        if self.duration.is_some() && self.cgroup.is_none() && self.container.is_none() {
            return Err(
                "--duration only applies with --cgroup or --container; a command is recorded until it exits"
                    .into(),
            );
        }
        Ok(())
    }
}

/// Durations such as `500ms`, `10s` or `2m`.
fn parse_duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text).map_err(|e| format!("{e} (examples: 500ms, 10s, 2m)"))
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory as _;

    use super::*;

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn record_takes_the_command_after_the_separator() {
        let cli =
            Cli::try_parse_from(["leastpriv", "record", "-o", "r.json", "--", "ls", "-l"]).unwrap();
        let Command::Record(args) = cli.command else {
            panic!("not record")
        };
        assert_eq!(
            args.command,
            vec![OsString::from("ls"), OsString::from("-l")]
        );
        assert_eq!(args.grace, Duration::from_secs(10));
    }

    #[test]
    fn record_needs_a_command_or_a_cgroup() {
        assert!(Cli::try_parse_from(["leastpriv", "record"]).is_err());
        let cli =
            Cli::try_parse_from(["leastpriv", "record", "--duration", "1s", "--", "ls"]).unwrap();
        let Command::Record(args) = cli.command else {
            panic!("not record")
        };
        assert!(args
            .validate()
            .unwrap_err()
            .contains("--duration only applies with --cgroup"));
        let err = Cli::try_parse_from(["leastpriv", "record", "--grace", "soon", "--", "ls"])
            .unwrap_err();
        assert!(err.to_string().contains("examples: 500ms"), "{err}");
    }
}
