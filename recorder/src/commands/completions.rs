//! `leastpriv completions SHELL` and the hidden `leastpriv man-pages DIR`: both made from the
//! one command-line definition ([`crate::cli::command`]), so that a flag added anywhere is
//! completed and documented without another edit.

use std::{fs, io::Write as _, path::Path};

use anyhow::Context as _;

use crate::{
    cli::{self, CompletionsArgs, ManPagesArgs},
    exit::{self, Exit},
};

pub fn completions(args: &CompletionsArgs) -> anyhow::Result<Exit> {
    let mut out = Vec::new();
    clap_complete::generate(
        args.shell,
        &mut without_hidden(&cli::command()),
        "leastpriv",
        &mut out,
    );
    std::io::stdout()
        .write_all(&out)
        .context("cannot write the completion script")?;
    Ok(Exit::Success)
}

/// The command line without its hidden commands (bench-floor, man-pages), which some of
/// clap_complete's shells would offer otherwise. Only leastpriv itself has hidden commands.
fn without_hidden(cmd: &clap::Command) -> clap::Command {
    let mut out = clap::Command::new("leastpriv")
        .version(env!("CARGO_PKG_VERSION"))
        .args(cmd.get_arguments().cloned())
        .subcommands(cmd.get_subcommands().filter(|s| !s.is_hide_set()).cloned());
    if let Some(about) = cmd.get_about() {
        out = out.about(about.clone());
    }
    out
}

pub fn man_pages(args: &ManPagesArgs) -> anyhow::Result<Exit> {
    fs::create_dir_all(&args.dir)
        .with_context(|| format!("cannot create {}", args.dir.display()))?;
    let mut cmd = cli::command().disable_help_subcommand(true);
    cmd.build();
    let mut written = Vec::new();
    write_pages(&cmd, &mut Vec::new(), &args.dir, &mut written)?;
    for file in written {
        println!("{}", file.display());
    }
    Ok(Exit::Success)
}

/// Writes the page of `cmd` (at `path` below leastpriv) and those of its visible subcommands.
fn write_pages(
    cmd: &clap::Command,
    path: &mut Vec<String>,
    dir: &Path,
    written: &mut Vec<std::path::PathBuf>,
) -> anyhow::Result<()> {
    let man = clap_mangen::Man::new(cmd.clone())
        .manual("leastpriv manual")
        .source(format!("leastpriv {}", env!("CARGO_PKG_VERSION")));
    let file = dir.join(man.get_filename());
    let mut page = Vec::new();
    render(&man, cmd, path, &mut page)
        .with_context(|| format!("cannot render {}", file.display()))?;
    fs::write(&file, page).with_context(|| format!("cannot write {}", file.display()))?;
    written.push(file);
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        path.push(sub.get_name().to_owned());
        write_pages(sub, path, dir, written)?;
        path.pop();
    }
    Ok(())
}

/// clap_mangen's sections, except that the text after `--help` becomes an EXIT STATUS
/// section (as man-pages(7) names it) with one tagged paragraph per status.
fn render(
    man: &clap_mangen::Man,
    cmd: &clap::Command,
    path: &[String],
    out: &mut Vec<u8>,
) -> std::io::Result<()> {
    man.render_title(out)?;
    man.render_name_section(out)?;
    man.render_synopsis_section(out)?;
    man.render_description_section(out)?;
    man.render_options_section(out)?;
    if cmd.get_subcommands().any(|s| !s.is_hide_set()) {
        man.render_subcommands_section(out)?;
    }
    let names: Vec<&str> = path.iter().map(String::as_str).collect();
    if path.is_empty() || !cmd.has_subcommands() {
        let mut roff = roff::Roff::new();
        roff.control("SH", ["EXIT STATUS"]);
        for (status, meaning) in exit::statuses(&names) {
            roff.control("TP", [] as [&str; 0]);
            roff.text([roff::bold(status)]);
            roff.text([roff::roman(meaning)]);
        }
        roff.control("PP", [] as [&str; 0]);
        roff.text([roff::roman(exit::BAD_INPUT_BEHAVIOUR)]);
        roff.to_writer(out)?;
    }
    let mut roff = roff::Roff::new();
    roff.control("SH", ["SEE ALSO"]);
    let parent = std::iter::once("leastpriv")
        .chain(names.iter().copied().take(names.len().saturating_sub(1)))
        .collect::<Vec<_>>()
        .join("-");
    let mut see = if path.is_empty() {
        Vec::new()
    } else {
        vec![roff::bold(parent), roff::roman("(1), ")]
    };
    see.push(roff::roman(
        "the documentation in /usr/share/doc/leastpriv/ (README.md, recording-format.md, \
         seccomp.md, apparmor.md, capabilities.md, review.md)",
    ));
    roff.text(see);
    roff.to_writer(out)?;
    if cmd.get_version().is_some() {
        man.render_version_section(out)?;
    }
    Ok(())
}
