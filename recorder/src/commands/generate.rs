//! `leastpriv generate ...`: Recording → Policy → profile text.

use std::{io::Write as _, mem::ManuallyDrop, path::Path};

use anyhow::Context as _;
use leastpriv::{
    policy::{
        apparmor::{
            self as apparmor_policy, AppArmorOptions, Mode as AppArmorMode, DEFAULT_GLOB_THRESHOLD,
        },
        capabilities as capability_policy, k8s as k8s_policy,
        seccomp::{self, SeccompOptions},
    },
    profile::{
        apparmor as apparmor_profile, capabilities as capability_profile, k8s as k8s_profile,
        seccomp as profile, systemd as systemd_profile,
    },
    recording::{self, Recording, Target},
};

use crate::cli::{
    CapabilityFormat, GenerateApparmorArgs, GenerateCapabilitiesArgs, GenerateK8sArgs,
    GenerateSeccompArgs, GenerateSystemdArgs, SeccompFormat,
};
use crate::exit::{BadInput, Exit};

/// Reads the recording a generator works from, without files' makers (no profile uses
/// them), and picks the part the profile is for: a container's, when the recorded command
/// started containers (`container` names it; the only one is taken without), else the whole.
/// It is never freed: the process ends once the profile is written, and freeing a recording
/// of a million files piece by piece took 66 ms, a tenth of generating its seccomp profile.
fn read_recording(
    path: &Path,
    container: Option<&str>,
) -> anyhow::Result<(ManuallyDrop<Recording>, Option<String>)> {
    let mut recording = Recording::read_without_file_makers(path)?;
    if recording.containers.is_empty() {
        return match container {
            Some(wanted) => Err(BadInput::new(format!(
                "{} holds no container (it was not a recording of a container engine's command); --container {} names none",
                path.display(),
                wanted.escape_debug()
            ))
            .into()),
            None => Ok((ManuallyDrop::new(recording), None)),
        };
    }
    let labels = || {
        recording
            .containers
            .iter()
            .map(|c| {
                format!(
                    "{} ({} {})",
                    c.label().escape_debug(),
                    c.engine,
                    &c.id[..c.id.len().min(12)]
                )
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let index = match container {
        Some(wanted) => recording
            .containers
            .iter()
            .position(|c| c.is_named(wanted))
            .ok_or_else(|| {
                BadInput::new(format!(
                    "{} holds no container {}; it holds {}",
                    path.display(),
                    wanted.escape_debug(),
                    labels()
                ))
            })?,
        None if recording.containers.len() == 1 => {
            eprintln!(
                "leastpriv: writing the profile of {} container {}, the one the recorded command started",
                recording.containers[0].engine,
                recording.containers[0].label().escape_debug()
            );
            0
        }
        None => {
            return Err(BadInput::new(format!(
                "{} holds {} containers: name one with --container ({})",
                path.display(),
                recording.containers.len(),
                labels()
            ))
            .into())
        }
    };
    let container = recording.containers.swap_remove(index);
    // Profiles are named after the container unless --name says otherwise.
    let name = container.label();
    Ok((ManuallyDrop::new(*container.recording), Some(name)))
}

pub fn apparmor(args: &GenerateApparmorArgs) -> anyhow::Result<Exit> {
    let (recording, container) = read_recording(&args.recording, args.container.as_deref())?;
    let options = AppArmorOptions {
        name: args.name.clone().or(container),
        mode: args.mode,
        glob_threshold: args.glob_threshold,
    };
    let mut policy = apparmor_policy::decide(&recording, &options).with_context(|| {
        format!(
            "cannot derive an AppArmor profile from {}",
            args.recording.display()
        )
    })?;
    apparmor_policy::resolve_attachment(&mut policy, &recording, resolve_link);
    let text = apparmor_profile::render(&policy);
    for note in &policy.notes {
        eprintln!("leastpriv: warning: {note}");
    }
    warn_if_incomplete(&recording, &args.recording);
    warn_if_files_lost(&recording, &args.recording);
    let generalised = policy
        .files
        .values()
        .filter(|rule| !rule.generalised.is_empty())
        .count();
    eprintln!(
        "leastpriv: apparmor profile {} for {}: {} recorded paths, {} covered by abstractions ({}), {} file rules ({} generalised), {} network rules, {} capabilities",
        policy.name,
        args.recording.display(),
        policy.recorded_paths,
        policy.covered_by_abstractions(),
        policy.abstractions.keys().copied().collect::<Vec<_>>().join(", "),
        policy.files.len(),
        generalised,
        policy.network.len(),
        policy.capabilities.len(),
    );
    emit(&text, args.output.as_deref())
}

pub fn capabilities(args: &GenerateCapabilitiesArgs) -> anyhow::Result<Exit> {
    let (recording, _) = read_recording(&args.recording, args.container.as_deref())?;
    let policy = capability_policy::decide(&recording).with_context(|| {
        format!(
            "cannot derive capabilities from {}",
            args.recording.display()
        )
    })?;
    let text = match args.format {
        CapabilityFormat::List => capability_profile::render_list(&policy),
        CapabilityFormat::K8s => capability_profile::render_k8s(&policy),
        CapabilityFormat::Docker => capability_profile::render_docker(&policy),
        CapabilityFormat::Systemd => capability_profile::render_systemd(&policy),
    };
    warn_if_incomplete(&recording, &args.recording);
    let added: Vec<&str> = policy.short_names();
    eprintln!(
        "leastpriv: capabilities for {}: {}{}",
        args.recording.display(),
        if added.is_empty() {
            "none needed".to_owned()
        } else {
            format!("add {}", added.join(", "))
        },
        if policy.not_needed.is_empty() {
            String::new()
        } else {
            format!(
                " (checked but not needed: {})",
                policy
                    .not_needed
                    .iter()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        },
    );
    emit(&text, args.output.as_deref())
}

pub fn k8s(args: &GenerateK8sArgs) -> anyhow::Result<Exit> {
    let (recording, container) = read_recording(&args.recording, args.container.as_deref())?;
    let capabilities = capability_policy::decide(&recording).with_context(|| {
        format!(
            "cannot derive capabilities from {}",
            args.recording.display()
        )
    })?;
    let name = args.name.clone().or(container);
    let name = profile::kubernetes_name(name.as_deref().unwrap_or(&default_name(&recording)));
    let seccomp = seccomp::decide(
        &recording,
        SeccompOptions {
            runtime: args.runtime,
            allow_vdso: true,
            arguments: true,
        },
    );
    let seccomp_crd = profile::render_crd(&seccomp, &name);
    // AppArmor only when the recording holds files; named like the other profiles.
    let apparmor = match recording.files.is_some() {
        true => {
            let options = AppArmorOptions {
                name: Some(name.clone()),
                mode: AppArmorMode::Enforce,
                glob_threshold: DEFAULT_GLOB_THRESHOLD,
            };
            let policy = apparmor_policy::decide(&recording, &options).with_context(|| {
                format!(
                    "cannot derive an AppArmor profile from {}",
                    args.recording.display()
                )
            })?;
            Some(apparmor_profile::render(&policy))
        }
        false => None,
    };
    let policy = k8s_policy::decide(&recording, &capabilities);
    warn_if_incomplete(&recording, &args.recording);
    eprintln!(
        "leastpriv: kubernetes securityContext for {}: meets Pod Security Standards {}",
        args.recording.display(),
        policy.level.as_str()
    );
    emit(
        &k8s_profile::render(&policy, &name, &seccomp_crd, apparmor.as_deref()),
        args.output.as_deref(),
    )
}

pub fn systemd(args: &GenerateSystemdArgs) -> anyhow::Result<Exit> {
    let (recording, _) = read_recording(&args.recording, args.container.as_deref())?;
    let seccomp = seccomp::decide(&recording, SeccompOptions::default());
    let capabilities = capability_policy::decide(&recording).ok();
    if capabilities.is_none() {
        eprintln!(
            "leastpriv: warning: {} holds no capability checks; the drop-in leaves capabilities alone",
            args.recording.display()
        );
    }
    warn_if_incomplete(&recording, &args.recording);
    emit(
        &systemd_profile::render(&recording, &seccomp, capabilities.as_ref()),
        args.output.as_deref(),
    )
}

/// A name for profiles from the recorded command (its program's file name).
fn default_name(recording: &Recording) -> String {
    match &recording.target {
        Target::Command(argv) => argv
            .first()
            .map(|p| p.rsplit('/').next().unwrap_or(p).to_owned())
            .unwrap_or_default(),
        Target::Cgroup(path) => path.rsplit('/').next().unwrap_or(path).to_owned(),
        Target::Merged(_) => "merged".to_owned(),
    }
}

/// Writes to the file atomically, or to standard output.
fn emit(text: &str, output: Option<&Path>) -> anyhow::Result<Exit> {
    match output {
        Some(path) => recording::write_atomically(path, text.as_bytes())
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => std::io::stdout()
            .write_all(text.as_bytes())
            .context("writing the output")?,
    }
    Ok(Exit::Success)
}

/// File rules come from file events: any the recorder could not keep are missing rules.
fn warn_if_files_lost(recording: &Recording, path: &Path) {
    let lost = &recording.lost;
    let counters = [
        (lost.file_events, "file or socket events (ring buffer full)"),
        (lost.file_calls, "file syscalls not noted"),
        (
            lost.file_paths,
            "accesses to paths beyond record --max-paths",
        ),
    ];
    let parts: Vec<String> = counters
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, what)| format!("{n} {what}"))
        .collect();
    if !parts.is_empty() {
        eprintln!(
            "leastpriv: warning: {} lost {}; the profile lacks the rules for them",
            path.display(),
            parts.join(", ")
        );
    }
}

fn warn_if_incomplete(recording: &Recording, path: &Path) {
    if !recording.complete {
        eprintln!(
            "leastpriv: warning: {} is incomplete ({}); the profile may lack permissions",
            path.display(),
            recording
                .incomplete_reason
                .as_deref()
                .unwrap_or("no reason given")
        );
    }
}

pub fn seccomp(args: &GenerateSeccompArgs) -> anyhow::Result<Exit> {
    let (recording, container) = read_recording(&args.recording, args.container.as_deref())?;
    let options = SeccompOptions {
        runtime: args.runtime,
        allow_vdso: !args.no_vdso,
        arguments: !args.no_args,
    };
    let policy = seccomp::decide(&recording, options);
    if let (true, Some(note)) = (options.arguments, &policy.arguments_note) {
        eprintln!("leastpriv: note: no argument conditions: {note}");
    }
    let text = match args.format {
        SeccompFormat::Oci => profile::render_oci(&policy),
        SeccompFormat::Crd => {
            let name = match (args.name.as_ref().or(container.as_ref()), &recording.target) {
                (Some(name), _) => name.clone(),
                (None, Target::Command(argv)) => argv.first().cloned().unwrap_or_default(),
                (None, Target::Cgroup(path)) => path.clone(),
                (None, Target::Merged(_)) => "merged".to_owned(),
            };
            profile::render_crd(&policy, &profile::kubernetes_name(&name))
        }
    };
    for (abi, nr) in &policy.unnamed {
        eprintln!("leastpriv: warning: syscall number {nr} ({abi}) has no name; a profile cannot name it, so it stays denied");
    }
    if !recording.complete {
        eprintln!(
            "leastpriv: warning: {} is incomplete ({}); the profile may lack syscalls",
            args.recording.display(),
            recording
                .incomplete_reason
                .as_deref()
                .unwrap_or("no reason given")
        );
    }
    eprintln!(
        "leastpriv: seccomp profile for {}: {} syscalls allowed ({} recorded), {} probes answered ENOSYS, architectures {}",
        args.recording.display(),
        policy.allow.len(),
        policy.recorded().count(),
        policy.enosys.len(),
        policy.abis.iter().map(|abi| abi.as_str()).collect::<Vec<_>>().join(", "),
    );
    match &args.output {
        Some(path) => recording::write_atomically(path, text.as_bytes())
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => std::io::stdout()
            .write_all(text.as_bytes())
            .context("writing the profile")?,
    }
    Ok(Exit::Success)
}

/// The path with every symbolic link resolved, on this machine (where the recording was
/// made, usually): what the kernel matches a profile's attachment against.
fn resolve_link(path: &[u8]) -> Option<Vec<u8>> {
    use std::os::unix::ffi::{OsStrExt as _, OsStringExt as _};
    std::fs::canonicalize(std::ffi::OsStr::from_bytes(path))
        .ok()
        .map(|p| p.into_os_string().into_vec())
}
