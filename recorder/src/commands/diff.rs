//! `leastpriv diff OLD NEW`: what a change adds to or removes from a policy.

use std::path::Path;

use anyhow::Context as _;
use leastpriv::{
    enforce::capabilities::ExactCapabilities,
    recording::Recording,
    review::{
        diff,
        parse::{apparmor, landlock, seccomp},
        permission::{self, Permissions, APPARMOR},
    },
};

use crate::{
    cli::{DiffArgs, DiffFormat, FailOn},
    exit::{BadInput, Exit},
};

pub fn run(args: &DiffArgs) -> anyhow::Result<Exit> {
    let (old_kind, old) = load(&args.old)?;
    let (new_kind, new) = load(&args.new)?;
    if old_kind != new_kind {
        return Err(BadInput::new(format!(
            "{} is a {old_kind} but {} is a {new_kind}: diff compares two of the same kind",
            args.old.display(),
            args.new.display()
        ))
        .into());
    }
    let result = diff::diff(old_kind, &old, &new);
    let text = match args.format {
        DiffFormat::Text => diff::render_text(&result),
        DiffFormat::Markdown => diff::render_markdown(&result),
        DiffFormat::Json => diff::render_json(&result),
    };
    print!("{text}");
    Ok(if result.widened() && args.fail_on == Some(FailOn::Widen) {
        Exit::Findings
    } else {
        Exit::Success
    })
}

/// Reads a recording, a Landlock configuration, a seccomp profile, an AppArmor profile or a
/// capability list, telling them apart by content: JSON with the recording's format name, a
/// LandlockConfig (JSON with `ruleset` or `pathBeneath`, TOML with `[[ruleset]]`), JSON or a
/// SeccompProfile resource, text with `profile ` or `include <tunables/global>`, anything
/// else.
fn load(path: &Path) -> anyhow::Result<(&'static str, Permissions)> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let trimmed = text.trim_start();
    if trimmed.starts_with('{') && text.contains("\"leastpriv-recording\"") {
        return Ok((
            "recording",
            permission::from_recording(&Recording::from_json(path, &text)?),
        ));
    }
    if landlock::looks_like(&text) {
        let config =
            landlock::parse(path, &text).map_err(|err| BadInput::from(anyhow::Error::new(err)))?;
        return Ok(("Landlock configuration", landlock::permissions(&config)));
    }
    if trimmed.starts_with('{') || text.contains("kind: SeccompProfile") {
        return Ok((
            "seccomp profile",
            seccomp::permissions(&seccomp::parse(path, &text)?),
        ));
    }
    if text.contains("profile ") || text.contains("include <tunables/global>") {
        let permissions = apparmor::parse_permissions(&text).map_err(|err| {
            BadInput::new(format!(
                "{}: not a profile diff can read: {err}",
                path.display()
            ))
        })?;
        return Ok((APPARMOR, permissions));
    }
    // A capability list: validate every name the way `run --capabilities` does.
    ExactCapabilities::parse(&path.to_string_lossy())?;
    Ok(("capability list", permission::from_capability_list(&text)))
}
