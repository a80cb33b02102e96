//! Every command-line type, in one place.

use std::{ffi::OsString, path::PathBuf, time::Duration};

use clap::{Args, Parser, Subcommand};
use leastpriv::policy::{
    apparmor::{Mode as AppArmorMode, DEFAULT_GLOB_THRESHOLD},
    seccomp::Runtime,
};

/// Record what a program does in the kernel and turn it into least-privilege profiles.
///
/// `sudo leastpriv record -o rec.json -- CMD` runs CMD in a fresh cgroup under eBPF programs
/// that record every syscall, file, socket, capability check and program executed by it and
/// its descendants; `show` summarises the recording; `generate` turns it into seccomp,
/// capability, AppArmor, Kubernetes or systemd profiles; `run` applies a profile; `merge`,
/// `diff` and `check` review profiles in code review and CI. Recording needs root (or
/// CAP_BPF and CAP_PERFMON), cgroup v2 and a kernel with BTF; everything else runs unprivileged.
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
    /// list, AppArmor, Landlock): lists every missing permission with the program that needed it, exits
    /// 1 when the command needed more than the profiles allow (else with the command's status).
    Check(CheckArgs),
    /// Merge recordings of many runs into one (union, with the runs that contributed each item).
    Merge(MergeArgs),
    /// Compare two recordings, or two profiles of the same kind (seccomp JSON/YAML,
    /// capability lists, AppArmor profiles, Landlock configurations): what was added (with
    /// risk and cause) and removed.
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
    /// Print the shell completion script for bash, zsh or fish (or elvish, powershell).
    ///
    /// bash: `source <(leastpriv completions bash)`, or save it as
    /// /usr/share/bash-completion/completions/leastpriv; zsh: save as `_leastpriv` in a
    /// directory of $fpath; fish: save as ~/.config/fish/completions/leastpriv.fish.
    Completions(CompletionsArgs),
    /// For packaging: write a man page per command (leastpriv.1, leastpriv-record.1, ...)
    /// into a directory, from this same command-line definition.
    #[command(hide = true)]
    ManPages(ManPagesArgs),
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_name = "SHELL")]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct ManPagesArgs {
    /// The directory to write them into (created if missing).
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
}

#[derive(Debug, Args)]
pub struct BenchFloorArgs {
    /// How long to stay attached (default: until SIGINT/SIGTERM).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub duration: Option<Duration>,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Directory with the committed profiles: `seccomp.json` (OCI), `capabilities.txt`,
    /// `apparmor` (or one `*.apparmor`) and/or `landlock.json` (or `landlock.toml`).
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
    /// capabilities drop ALL plus the add-list) and pod settings (hostUsers, runAsNonRoot),
    /// each decided with its evidence, with the Security Profiles Operator resources, and
    /// the Pod Security Standards level it meets (docs/kubernetes.md).
    K8s(GenerateK8sArgs),
    /// A systemd unit drop-in: SystemCallFilter=, SystemCallArchitectures=,
    /// CapabilityBoundingSet=, AmbientCapabilities=, NoNewPrivileges=.
    Systemd(GenerateSystemdArgs),
    /// An SELinux policy module (CIL) for the workload's own domain, NAME_t: the types of the
    /// files it used, looked up in the target policy (docs/selinux.md), or the Security
    /// Profiles Operator's SelinuxProfile.
    Selinux(GenerateSelinuxArgs),
    /// A Landlock configuration (landlockconfig JSON or TOML): the recorded files as
    /// pathBeneath rules with the fewest rights, for `leastpriv run --landlock` or any
    /// landlockconfig loader (docs/landlock.md).
    Landlock(GenerateLandlockArgs),
}

#[derive(Debug, Args)]
pub struct GenerateSelinuxArgs {
    /// The recording to read.
    #[arg(value_name = "RECORDING")]
    pub recording: PathBuf,
    /// The container of the recording to write the module of (its name or id), where the
    /// recorded command started several; with one, that one is used.
    #[arg(long, value_name = "NAME|ID")]
    pub container: Option<String>,
    /// Where to write it (default: standard output).
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// The module's name; its domain is NAME_t (default: from the recorded command). A
    /// lower-case letter, then lower-case letters, digits and '_'.
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// The root of the target policy, whose contexts/files/file_contexts give the files'
    /// types.
    #[arg(long, value_name = "ROOT", default_value = "/etc/selinux/default")]
    pub policy: PathBuf,
    #[arg(long, value_enum, default_value_t = SelinuxFormat::Cil)]
    pub format: SelinuxFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SelinuxFormat {
    /// A CIL module for `semodule -i`.
    Cil,
    /// A Security Profiles Operator SelinuxProfile.
    Spo,
}

#[derive(Debug, Args)]
pub struct GenerateLandlockArgs {
    /// The recording to read.
    #[arg(value_name = "RECORDING")]
    pub recording: PathBuf,
    /// The container of the recording to write the configuration of (its name or id), where
    /// the recorded command started several; with one, that one is used.
    #[arg(long, value_name = "NAME|ID")]
    pub container: Option<String>,
    /// Where to write it (default: standard output).
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = LandlockFormat::Json)]
    pub format: LandlockFormat,
    /// The Landlock ABI to write for: what it handles (1 to 7).
    #[arg(long, value_name = "N", default_value_t = leastpriv::policy::landlock::NEWEST_ABI, value_parser = clap::value_parser!(u32).range(1..=i64::from(leastpriv::policy::landlock::NEWEST_ABI)))]
    pub abi: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LandlockFormat {
    /// landlockconfig JSON (camelCase keys).
    Json,
    /// landlockconfig TOML (snake_case keys), with why each rule is there as comments.
    Toml,
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
    /// A path the pod mounts as a volume (repeatable): writes under it do not keep the root
    /// filesystem from being read-only (docs/kubernetes.md).
    #[arg(long = "volume", value_name = "PATH")]
    pub volumes: Vec<String>,
    /// Write a whole Pod (with an emptyDir for each --volume) instead of the settings alone.
    #[arg(long)]
    pub pod: bool,
    /// The Pod's image (default: the recorded container's image, else the placeholder IMAGE).
    #[arg(long, value_name = "IMAGE", requires = "pod")]
    pub image: Option<String>,
    /// Also write this Namespace, with Pod Security Admission labels (enforce, audit, warn)
    /// at the level met; a --pod goes in it.
    #[arg(long, value_name = "NAME")]
    pub namespace: Option<String>,
    /// yaml (commented, with the SPO resources) or json (the decisions and evidence).
    #[arg(long, value_enum, default_value_t = K8sFormat::Yaml)]
    pub format: K8sFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum K8sFormat {
    Yaml,
    Json,
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
        required_unless_present_any = ["capabilities", "landlock", "apparmor"]
    )]
    pub seccomp: Option<PathBuf>,
    /// The Landlock configuration to apply (landlockconfig JSON or TOML); no privilege
    /// needed. With --complain: record the run and list what it would refuse.
    #[arg(long, value_name = "CONFIG")]
    pub landlock: Option<PathBuf>,
    /// With --landlock: on a kernel whose Landlock ABI lacks rights the configuration
    /// handles, run anyway with what it enforces (and list what it does not), rather than
    /// refuse.
    #[arg(long, requires = "landlock")]
    pub landlock_best_effort: bool,
    /// The AppArmor profile to load and run the command in (needs a kernel with AppArmor and
    /// `apparmor_parser`). Every denial is listed with the program that made it; exits 1 when
    /// there were any. With --complain: every access the profile would deny.
    #[arg(long, value_name = "PROFILE", conflicts_with_all = ["seccomp", "landlock"])]
    pub apparmor: Option<PathBuf>,
    /// Run with exactly these capabilities (bounding, permitted, effective, inheritable and
    /// ambient): a comma-separated list (NET_BIND_SERVICE,CHOWN; empty for none) or a file
    /// from `generate capabilities --format list`.
    #[arg(long, value_name = "LIST|FILE")]
    pub capabilities: Option<String>,
    /// Only log what the seccomp profile would deny; record the run and list every syscall
    /// (with ABI and executable) the profile lacks. With --landlock: apply nothing, record
    /// the run and list every file access the configuration would refuse. Exits 1 when
    /// anything is lacking. Needs root.
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
    /// No live status line (shown only when standard error is a terminal: elapsed time,
    /// processes, distinct syscalls, files and executables so far, anything lost).
    #[arg(short, long)]
    pub quiet: bool,
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
    #[arg(long, value_enum, default_value_t = ShowFormat::Text)]
    pub format: ShowFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ShowFormat {
    /// For people at a terminal (recorded names escaped).
    Text,
    /// Stable, for scripts: the same facts as text (docs/recording-format.md).
    Json,
    /// Ready to paste as a pull-request comment.
    Markdown,
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

/// The command line as clap sees it, with every command's exit statuses and bad-input
/// behaviour added after its `--help`: what `main` parses, and what the completion scripts
/// and man pages are made from, so all three stay one definition.
pub fn command() -> clap::Command {
    fn with_statuses(cmd: clap::Command, path: &mut Vec<String>) -> clap::Command {
        let names: Vec<&str> = path.iter().map(String::as_str).collect();
        let cmd = if cmd.has_subcommands() && !path.is_empty() {
            // A group such as `generate` has no status of its own; its commands do.
            cmd
        } else {
            cmd.after_long_help(exit_status_help(&names))
        };
        let subcommands: Vec<String> = cmd
            .get_subcommands()
            .map(|s| s.get_name().to_owned())
            .collect();
        subcommands.into_iter().fold(cmd, |cmd, name| {
            cmd.mut_subcommand(name.clone(), |sub| {
                path.push(name);
                let sub = with_statuses(sub, path);
                path.pop();
                sub
            })
        })
    }
    with_statuses(<Cli as clap::CommandFactory>::command(), &mut Vec::new())
}

/// The "Exit status" text of `--help`: one line per status, then what bad input does.
fn exit_status_help(path: &[&str]) -> String {
    let mut text = String::from("Exit status:\n");
    for (status, meaning) in crate::exit::statuses(path) {
        text.push_str(&format!("  {status:<9} {meaning}\n"));
    }
    text.push('\n');
    text.push_str(crate::exit::BAD_INPUT_BEHAVIOUR);
    text
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
        command().debug_assert();
    }

    #[test]
    fn every_command_says_its_exit_statuses() {
        let cmd = command();
        let record = cmd.find_subcommand("record").unwrap();
        let help = record.get_after_long_help().unwrap().to_string();
        assert!(
            help.contains("127       the command was not found"),
            "{help}"
        );
        let seccomp = cmd
            .find_subcommand("generate")
            .and_then(|g| g.find_subcommand("seccomp"))
            .unwrap();
        let help = seccomp.get_after_long_help().unwrap().to_string();
        assert!(
            help.contains("Bad input (a malformed") && !help.contains("127"),
            "{help}"
        );
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
