//! `leastpriv show FILE [--format text|json|markdown]`: a recording, readable by people, by
//! scripts, or in a pull-request comment. All three are rendered from one
//! [`Summary`](leastpriv::recording::summary::Summary), so they say the same things.

use std::fmt::Write as _;

use leastpriv::{
    recording::{
        summary::{Summary, Verdict},
        Recording, Target,
    },
    review::diff::code,
};

use crate::cli::{ShowArgs, ShowFormat};
use crate::exit::Exit;

pub fn run(args: &ShowArgs) -> anyhow::Result<Exit> {
    let recording = Recording::read(&args.file)?;
    let summary = Summary::of(&recording);
    let out = match args.format {
        ShowFormat::Text => text(&summary),
        ShowFormat::Json => {
            let mut json = serde_json::to_string_pretty(&summary)?;
            json.push('\n');
            json
        }
        ShowFormat::Markdown => markdown(&summary, 3),
    };
    print!("{out}");
    Ok(Exit::Success)
}

fn target(target: &Target) -> String {
    match target {
        Target::Command(argv) => format!("command {}", argv.join(" ")),
        Target::Cgroup(path) => format!("cgroup {path}"),
        Target::Merged(n) => format!("{n} merged runs"),
    }
}

fn verdict_words(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Probe => "probe (noaudit), not a need",
        Verdict::Denied => "denied, not a need",
        Verdict::GrantedAuditUnknown => "granted, audit unknown (counted as a need)",
        Verdict::Needed => "granted: NEEDED",
    }
}

/// The summary text; the recorded names are printed escaped, as data.
pub fn text(s: &Summary) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "recording of {}", escape(&target(&s.target)));
    let _ = writeln!(
        out,
        "  {} {} on {} (kernel {}), {} to {}",
        s.tool.name, s.tool.version, s.arch, s.kernel, s.started_at, s.finished_at,
    );
    if let Some(status) = s.exit_status {
        let _ = writeln!(out, "  exit status {status}");
    }
    if s.started_late {
        let _ = writeln!(
            out,
            "  started late: the target was already running; what it did before is not recorded"
        );
    }
    if let Some(reason) = &s.incomplete_reason {
        let _ = writeln!(out, "  INCOMPLETE: {reason}");
    }
    let _ = writeln!(
        out,
        "syscalls: {} distinct, {} calls",
        s.syscalls.distinct, s.syscalls.calls
    );
    for (abi, names) in &s.syscalls.by_abi {
        let _ = writeln!(out, "  {abi} ({}):", names.len());
        for line in wrap(names, 96) {
            let _ = writeln!(out, "    {line}");
        }
    }
    let _ = writeln!(out, "executables: {}", s.executables.len());
    for exe in &s.executables {
        let times = if exe.execs == 1 {
            "once".to_string()
        } else {
            format!("{} times", exe.execs)
        };
        let _ = writeln!(out, "  {} ({times})", escape(&exe.path));
    }
    if let Some(files) = s.files {
        let _ = writeln!(out, "files: {files} distinct paths");
    }
    if let Some(sockets) = s.sockets {
        let _ = writeln!(out, "sockets: {sockets}");
    }
    if let Some(arguments) = &s.arguments {
        let _ = writeln!(out, "argument values:");
        for item in arguments {
            let values: Vec<String> = item.values.iter().map(|v| v.join(" ")).collect();
            let _ = writeln!(
                out,
                "  {} {} ({}): {}",
                item.abi,
                item.syscall,
                item.arguments.join(", "),
                values.join("; ")
            );
        }
    }
    match &s.capabilities {
        None => {
            let _ = writeln!(out, "capability checks: not recorded");
        }
        Some(checks) => {
            let _ = writeln!(out, "capability checks: {}", checks.len());
            for check in checks {
                let _ = writeln!(
                    out,
                    "  {} {}: {} times, via {} in {} by {}",
                    check.capability,
                    verdict_words(check.verdict),
                    check.count,
                    check.via.join(", "),
                    check.syscalls.join(", "),
                    escape(&check.by.join(", ")),
                );
            }
        }
    }
    match &s.ports {
        None => {
            let _ = writeln!(out, "ports: not recorded");
        }
        Some(ports) => {
            let _ = writeln!(out, "ports: {}", ports.len());
            for port in ports {
                let _ = writeln!(
                    out,
                    "  {} {} {} ({}{}) by {}",
                    port.protocol,
                    port.op,
                    port.port,
                    port.family,
                    if port.loopback { ", loopback" } else { "" },
                    escape(&port.by.join(", ")),
                );
            }
        }
    }
    if !s.left_running.is_empty() {
        let _ = writeln!(out, "left running after the grace period (killed):");
        for p in &s.left_running {
            let _ = writeln!(out, "  {} {}", p.pid, escape(&p.comm));
        }
    }
    if !s.moved_out.is_empty() {
        let _ = writeln!(out, "moved out of the recording (not recorded there):");
        for m in &s.moved_out {
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
    let _ = writeln!(
        out,
        "{}: {}",
        if s.lost.nothing { "lost" } else { "LOST" },
        s.lost.counters.describe()
    );
    for container in &s.containers {
        let _ = writeln!(
            out,
            "\n{} container {} (id {}{}), from its entrypoint on:",
            container.engine,
            escape(&container.label),
            &container.id,
            container
                .image
                .as_deref()
                .map(|i| format!(", image {}", escape(i)))
                .unwrap_or_default()
        );
        for line in text(&container.summary).lines() {
            let _ = writeln!(out, "  {line}");
        }
    }
    out
}

/// Markdown for a pull-request comment: a table of the facts, the syscall lists folded away,
/// then tables of executables and capability checks. Every recorded name is a code span that
/// it cannot break out of ([`code`]); `level` is the heading level to start at.
pub fn markdown(s: &Summary, level: usize) -> String {
    let h = "#".repeat(level.min(6));
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{h} leastpriv: recording of {}\n",
        code(&target(&s.target))
    );
    let _ = writeln!(out, "| | |\n| --- | --- |");
    let mut row = |key: &str, value: String| {
        let _ = writeln!(out, "| {key} | {value} |");
    };
    row(
        "recorded by",
        format!(
            "{} {} on {}, kernel {}",
            plain(&s.tool.name),
            plain(&s.tool.version),
            plain(&s.arch),
            code(&s.kernel)
        ),
    );
    row(
        "time",
        format!("{} to {}", plain(&s.started_at), plain(&s.finished_at)),
    );
    if let Some(status) = s.exit_status {
        row("exit status", status.to_string());
    }
    if s.started_late {
        row(
            "started late",
            "the target was already running; what it did before is not recorded".into(),
        );
    }
    row(
        "complete",
        match &s.incomplete_reason {
            None => "yes".into(),
            Some(reason) => format!("**no**: {}", code(reason)),
        },
    );
    row(
        "syscalls",
        format!(
            "{} distinct, {} calls",
            s.syscalls.distinct, s.syscalls.calls
        ),
    );
    row("executables", s.executables.len().to_string());
    if let Some(files) = s.files {
        row("files", format!("{files} distinct paths"));
    }
    if let Some(sockets) = s.sockets {
        row("sockets", sockets.to_string());
    }
    if let Some(ports) = &s.ports {
        let listed: Vec<String> = ports
            .iter()
            .map(|p| code(&format!("{} {} {}", p.protocol, p.op, p.port)))
            .collect();
        row(
            "ports",
            if listed.is_empty() {
                "none".into()
            } else {
                listed.join(" ")
            },
        );
    }
    if let Some(checks) = &s.capabilities {
        let needed: Vec<String> = checks
            .iter()
            .filter(|c| matches!(c.verdict, Verdict::Needed | Verdict::GrantedAuditUnknown))
            .map(|c| code(&c.capability))
            .collect();
        row(
            "capabilities needed",
            if needed.is_empty() {
                "none".into()
            } else {
                needed.join(" ")
            },
        );
    }
    row(
        "lost",
        if s.lost.nothing {
            "nothing".into()
        } else {
            format!("**{}**", s.lost.counters.describe())
        },
    );
    for (abi, names) in &s.syscalls.by_abi {
        let list: Vec<String> = names.iter().map(|n| code(n)).collect();
        let _ = writeln!(
            out,
            "\n<details><summary>{abi} syscalls ({})</summary>\n\n{}\n\n</details>",
            names.len(),
            list.join(" ")
        );
    }
    if !s.executables.is_empty() {
        let _ = writeln!(out, "\n| executable | executions |\n| --- | --- |");
        for exe in &s.executables {
            let _ = writeln!(out, "| {} | {} |", code(&exe.path), exe.execs);
        }
    }
    if let Some(arguments) = s.arguments.as_ref().filter(|a| !a.is_empty()) {
        let _ = writeln!(
            out,
            "\n| syscall | arguments | values |\n| --- | --- | --- |"
        );
        for item in arguments {
            let values: Vec<String> = item.values.iter().map(|v| code(&v.join(" "))).collect();
            let _ = writeln!(
                out,
                "| {} {} | {} | {} |",
                item.abi,
                code(&item.syscall),
                code(&item.arguments.join(", ")),
                values.join(", ")
            );
        }
    }
    if let Some(checks) = s.capabilities.as_ref().filter(|c| !c.is_empty()) {
        let _ = writeln!(
            out,
            "\n| capability | verdict | checks | in | by |\n| --- | --- | --- | --- | --- |"
        );
        for check in checks {
            let by: Vec<String> = check.by.iter().map(|b| code(b)).collect();
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} |",
                code(&check.capability),
                verdict_words(check.verdict),
                check.count,
                code(&check.syscalls.join(", ")),
                by.join(", ")
            );
        }
    }
    if !s.left_running.is_empty() {
        let list: Vec<String> = s
            .left_running
            .iter()
            .map(|p| format!("{} {}", p.pid, code(&p.comm)))
            .collect();
        let _ = writeln!(
            out,
            "\nLeft running after the grace period (killed): {}",
            list.join(", ")
        );
    }
    if !s.moved_out.is_empty() {
        let list: Vec<String> = s
            .moved_out
            .iter()
            .map(|m| {
                format!(
                    "{} {} into {}",
                    m.pid,
                    code(m.executable.as_deref().unwrap_or("?")),
                    code(&m.cgroup)
                )
            })
            .collect();
        let _ = writeln!(
            out,
            "\nMoved out of the recording (not recorded there): {}",
            list.join(", ")
        );
    }
    for container in &s.containers {
        let _ = writeln!(
            out,
            "\n{h}# {} container {} (id {})\n",
            container.engine,
            code(&container.label),
            code(&container.id)
        );
        out.push_str(&markdown(&container.summary, level + 2));
    }
    out
}

/// Words that leastpriv wrote (a version, a time) but that a file could have changed: only
/// characters without meaning in markdown are kept.
fn plain(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || " .:+-".contains(c) {
                c
            } else {
                '?'
            }
        })
        .collect()
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
