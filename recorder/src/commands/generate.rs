//! `leastpriv generate ...`: Recording → Policy → profile text.

use std::{io::Write as _, mem::ManuallyDrop, path::Path};

use anyhow::Context as _;
use leastpriv::{
    policy::{
        apparmor::{
            self as apparmor_policy, AppArmorOptions, Mode as AppArmorMode, DEFAULT_GLOB_THRESHOLD,
        },
        capabilities as capability_policy, k8s as k8s_policy, landlock as landlock_policy,
        seccomp::{self, SeccompOptions},
        selinux as selinux_policy,
    },
    profile::{
        apparmor as apparmor_profile, capabilities as capability_profile, k8s as k8s_profile,
        landlock as landlock_profile, seccomp as profile, selinux as selinux_profile,
        systemd as systemd_profile,
    },
    recording::{self, Recording, Target},
};

use crate::cli::{
    CapabilityFormat, GenerateApparmorArgs, GenerateCapabilitiesArgs, GenerateK8sArgs,
    GenerateLandlockArgs, GenerateSeccompArgs, GenerateSelinuxArgs, GenerateSystemdArgs, K8sFormat,
    LandlockFormat, SeccompFormat, SelinuxFormat,
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
    read_recording_keeping(path, container, false).map(|(recording, name, _)| (recording, name))
}

/// [`read_recording`], keeping files' makers when `keep_file_makers` (the Kubernetes
/// decisions name the program behind each write).
fn read_recording_keeping(
    path: &Path,
    container: Option<&str>,
    keep_file_makers: bool,
) -> anyhow::Result<(ManuallyDrop<Recording>, Option<String>, Option<String>)> {
    let mut recording = match keep_file_makers {
        true => Recording::read(path)?,
        false => Recording::read_without_file_makers(path)?,
    };
    if recording.containers.is_empty() {
        return match container {
            Some(wanted) => Err(BadInput::new(format!(
                "{} holds no container (it was not a recording of a container engine's command); --container {} names none",
                path.display(),
                wanted.escape_debug()
            ))
            .into()),
            None => Ok((ManuallyDrop::new(recording), None, None)),
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
    Ok((
        ManuallyDrop::new(*container.recording),
        Some(name),
        container.image,
    ))
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

pub fn landlock(args: &GenerateLandlockArgs) -> anyhow::Result<Exit> {
    let (recording, _) = read_recording(&args.recording, args.container.as_deref())?;
    let policy = landlock_policy::decide(&recording, args.abi).with_context(|| {
        format!(
            "cannot derive a Landlock configuration from {}",
            args.recording.display()
        )
    })?;
    let text = match args.format {
        LandlockFormat::Json => landlock_profile::render_json(&policy),
        LandlockFormat::Toml => landlock_profile::render_toml(&policy),
    };
    for note in &policy.notes {
        eprintln!("leastpriv: warning: {note}");
    }
    warn_if_incomplete(&recording, &args.recording);
    warn_if_files_lost(&recording, &args.recording);
    let generalised = policy
        .paths
        .values()
        .filter(|rule| !rule.reasons.generalised.is_empty())
        .count();
    eprintln!(
        "leastpriv: landlock configuration (ABI {}) for {}: {} recorded paths, {} path rules ({} generalised), {} port rules, scoped: {}",
        policy.abi,
        args.recording.display(),
        policy.recorded_paths,
        policy.paths.len(),
        generalised,
        policy.ports.len(),
        match policy.scoped.names() {
            names if names.is_empty() => "nothing".to_owned(),
            names => names.join(", "),
        }
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
    let volumes = volumes(&args.volumes)?;
    if let Some(namespace) = &args.namespace {
        if profile::kubernetes_name(namespace) != *namespace || namespace.len() > 63 {
            return Err(BadInput::new(format!(
                "--namespace {}: a namespace name is lowercase letters, digits and '-', at most 63, starting and ending with a letter or digit",
                namespace.escape_debug()
            ))
            .into());
        }
    }
    let (recording, container, image) =
        read_recording_keeping(&args.recording, args.container.as_deref(), true)?;
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
    let policy = k8s_policy::decide(&recording, &capabilities, &volumes);
    warn_if_incomplete(&recording, &args.recording);
    let shown =
        |d: &k8s_policy::Decision<bool>| d.value.map_or("unknown".into(), |v| v.to_string());
    eprintln!(
        "leastpriv: kubernetes settings for {}: meets Pod Security Standards {}; hostUsers {}, runAsNonRoot {}, allowPrivilegeEscalation {}, readOnlyRootFilesystem {} ({} path(s) written outside the volumes)",
        args.recording.display(),
        policy.level.as_str(),
        shown(&policy.host_users),
        shown(&policy.run_as_non_root),
        shown(&policy.allow_privilege_escalation),
        shown(&policy.read_only_root_filesystem),
        policy.written_outside_volumes.len(),
    );
    let image = match (&args.image, image) {
        (Some(image), _) => image.clone(),
        (None, Some(image)) => image,
        (None, None) => "IMAGE".to_owned(),
    };
    let output = k8s_profile::K8sOutput {
        pod_image: args.pod.then_some(image.as_str()),
        namespace: args.namespace.as_deref(),
    };
    let text = match args.format {
        K8sFormat::Yaml => {
            k8s_profile::render(&policy, &name, &seccomp_crd, apparmor.as_deref(), &output)
        }
        K8sFormat::Json => k8s_profile::render_json(&policy, &name, apparmor.is_some(), &output),
    };
    emit(&text, args.output.as_deref())
}

/// The `--volume` paths, checked to be absolute and without `.` or `..` components (a
/// mount path is absolute and is compared with recorded paths by prefix), trailing `/`
/// removed.
fn volumes(paths: &[String]) -> anyhow::Result<Vec<String>> {
    let mut out = Vec::new();
    for path in paths {
        let trimmed = path.trim_end_matches('/');
        let bad = !path.starts_with('/')
            || trimmed.is_empty()
            || trimmed
                .split('/')
                .skip(1)
                .any(|c| c.is_empty() || c == "." || c == "..");
        if bad {
            return Err(BadInput::new(format!(
                "--volume {}: give an absolute path other than / without '.', '..' or '//'",
                path.escape_debug()
            ))
            .into());
        }
        out.push(trimmed.to_owned());
    }
    out.sort();
    out.dedup();
    Ok(out)
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

pub fn selinux(args: &GenerateSelinuxArgs) -> anyhow::Result<Exit> {
    let (recording, container) = read_recording(&args.recording, args.container.as_deref())?;
    let contexts = selinux_policy::file_contexts::FileContexts::load(&args.policy)
        .map_err(|err| BadInput::new(format!("--policy {}: {err}", args.policy.display())))?;
    let options = selinux_policy::SelinuxOptions {
        name: args
            .name
            .clone()
            .or_else(|| container.map(|label| selinux_policy::module_name(&label))),
    };
    let policy = selinux_policy::decide(&recording, &contexts, &options).map_err(|err| {
        BadInput::new(format!(
            "cannot derive an SELinux module from {}: {err}",
            args.recording.display()
        ))
    })?;
    warn_if_incomplete(&recording, &args.recording);
    warn_if_files_lost(&recording, &args.recording);
    eprintln!(
        "leastpriv: selinux module {} (domain {}) for {}: {} recorded paths, {} rules, {} notes on what was left out",
        policy.name,
        policy.domain,
        args.recording.display(),
        policy.recorded_paths,
        policy.allow.len(),
        policy.notes.len(),
    );
    let text = match args.format {
        SelinuxFormat::Cil => selinux_profile::render_cil(&policy),
        SelinuxFormat::Spo => selinux_profile::render_spo(&policy),
    };
    emit(&text, args.output.as_deref())
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
