//! `leastpriv generate ...`: Recording → Policy → profile text.

use std::io::Write as _;

use anyhow::Context as _;
use leastpriv::{
    policy::seccomp::{self, SeccompOptions},
    profile::seccomp as profile,
    recording::{self, Recording, Target},
};

use crate::cli::{GenerateSeccompArgs, SeccompFormat};

pub fn seccomp(args: &GenerateSeccompArgs) -> anyhow::Result<u8> {
    let recording = Recording::read(&args.recording)?;
    let options = SeccompOptions {
        runtime: args.runtime,
        allow_vdso: !args.no_vdso,
    };
    let policy = seccomp::decide(&recording, options);
    let text = match args.format {
        SeccompFormat::Oci => profile::render_oci(&policy),
        SeccompFormat::Crd => {
            let name = match (&args.name, &recording.target) {
                (Some(name), _) => name.clone(),
                (None, Target::Command(argv)) => argv.first().cloned().unwrap_or_default(),
                (None, Target::Cgroup(path)) => path.clone(),
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
    Ok(0)
}
