//! `leastpriv show FILE`: a recording, readable.

use std::fmt::Write as _;

use leastpriv::recording::{capabilities::Audit, Recording, Target};

use crate::cli::ShowArgs;
use crate::exit::Exit;

pub fn run(args: &ShowArgs) -> anyhow::Result<Exit> {
    let recording = Recording::read(&args.file)?;
    print!("{}", summary(&recording));
    Ok(Exit::Success)
}

/// The summary text; the recorded names are printed escaped, as data.
pub fn summary(recording: &Recording) -> String {
    let mut out = String::new();
    let target = match &recording.target {
        Target::Command(argv) => format!("command {}", escape(&argv.join(" "))),
        Target::Cgroup(path) => format!("cgroup {}", escape(path)),
        Target::Merged(n) => format!("{n} merged runs"),
    };
    let _ = writeln!(out, "recording of {target}");
    let _ = writeln!(
        out,
        "  {} on {} (kernel {}), {} to {}",
        format_args!("{} {}", recording.tool.name, recording.tool.version),
        recording.host.arch,
        recording.host.kernel,
        recording.started_at,
        recording.finished_at,
    );
    if let Some(status) = recording.exit_status {
        let _ = writeln!(out, "  exit status {status}");
    }
    if recording.started_late {
        let _ = writeln!(
            out,
            "  started late: the target was already running; what it did before is not recorded"
        );
    }
    match (&recording.complete, &recording.incomplete_reason) {
        (true, _) => {}
        (false, reason) => {
            let _ = writeln!(
                out,
                "  INCOMPLETE: {}",
                reason.as_deref().unwrap_or("no reason given")
            );
        }
    }
    let calls: u64 = recording.syscalls.values().flatten().map(|s| s.count).sum();
    let _ = writeln!(
        out,
        "syscalls: {} distinct, {calls} calls",
        recording.distinct_syscalls()
    );
    for (abi, entries) in &recording.syscalls {
        let names: Vec<String> = entries
            .iter()
            .map(|e| e.name.clone().unwrap_or_else(|| format!("#{}", e.nr)))
            .collect();
        let _ = writeln!(out, "  {abi} ({}):", entries.len());
        for line in wrap(&names, 96) {
            let _ = writeln!(out, "    {line}");
        }
    }
    let _ = writeln!(out, "executables: {}", recording.executables.len());
    for exe in &recording.executables {
        let times = if exe.execs == 1 {
            "once".to_string()
        } else {
            format!("{} times", exe.execs)
        };
        let _ = writeln!(out, "  {} ({times})", escape(&exe.path));
    }
    if let Some(arguments) = &recording.arguments {
        let _ = writeln!(out, "argument values:");
        for (abi, list) in arguments {
            for item in list {
                let values: Vec<String> = item.values.iter().map(|v| v.names.join(" ")).collect();
                let _ = writeln!(
                    out,
                    "  {abi} {} ({}): {}",
                    item.syscall,
                    item.arguments.join(", "),
                    values.join("; ")
                );
            }
        }
    }
    match &recording.capabilities {
        None => {
            let _ = writeln!(out, "capability checks: not recorded");
        }
        Some(checks) => {
            let _ = writeln!(out, "capability checks: {}", checks.len());
            for check in checks {
                let kind = match (check.audit, check.granted) {
                    (Audit::Probe, _) => "probe (noaudit), not a need",
                    (_, false) => "denied, not a need",
                    (Audit::Unknown, true) => "granted, audit unknown (counted as a need)",
                    (Audit::Audited, true) => "granted: NEEDED",
                };
                let _ = writeln!(
                    out,
                    "  {} {kind}: {} times, via {} in {} by {}",
                    check.capability,
                    check.count,
                    check.via.join(", "),
                    check.syscalls.join(", "),
                    escape(&check.by.join(", ")),
                );
            }
        }
    }
    match &recording.ports {
        None => {
            let _ = writeln!(out, "ports: not recorded");
        }
        Some(ports) => {
            let _ = writeln!(out, "ports: {}", ports.len());
            for port in ports {
                let op = match port.op {
                    leastpriv::recording::PortOp::Bind => "bind",
                    leastpriv::recording::PortOp::Connect => "connect",
                };
                let _ = writeln!(
                    out,
                    "  {} {op} {} ({}{}) by {}",
                    port.protocol,
                    port.port,
                    port.family,
                    if port.loopback { ", loopback" } else { "" },
                    escape(&port.by.join(", ")),
                );
            }
        }
    }
    if !recording.left_running.is_empty() {
        let _ = writeln!(out, "left running after the grace period (killed):");
        for p in &recording.left_running {
            let _ = writeln!(out, "  {} {}", p.pid, escape(&p.comm));
        }
    }
    if !recording.moved_out.is_empty() {
        let _ = writeln!(out, "moved out of the recording (not recorded there):");
        for m in &recording.moved_out {
            let _ = writeln!(
                out,
                "  {} {} into {} (moved by {})",
                m.pid,
                escape(m.executable.as_deref().unwrap_or("?")),
                escape(&m.cgroup),
                m.by_pid
            );
        }
    }
    let lost = &recording.lost;
    let _ = writeln!(
        out,
        "{}: {}",
        if lost.is_nothing() { "lost" } else { "LOST" },
        lost.describe()
    );
    for container in &recording.containers {
        let _ = writeln!(
            out,
            "\n{} container {} (id {}{}), from its entrypoint on:",
            container.engine,
            escape(&container.label()),
            &container.id,
            container
                .image
                .as_deref()
                .map(|i| format!(", image {}", escape(i)))
                .unwrap_or_default()
        );
        for line in summary(&container.recording).lines() {
            let _ = writeln!(out, "  {line}");
        }
    }
    out
}

/// Control characters from the workload must not reach the terminal as themselves.
fn escape(text: &str) -> String {
    text.chars()
        .flat_map(char::escape_debug)
        .collect::<String>()
        .replace("\\\"", "\"")
        .replace("\\'", "'")
}

fn wrap(words: &[String], width: usize) -> Vec<String> {
    let mut lines = vec![String::new()];
    for word in words {
        let line = lines.last_mut().expect("never empty");
        if !line.is_empty() && line.len() + 1 + word.len() > width {
            lines.push(word.clone());
        } else {
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
    }
    lines
}
