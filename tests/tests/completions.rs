//! `leastpriv completions SHELL` and the man pages: the scripts load in their shells, and every
//! command's `--help` and man page says its exit statuses and what bad input does. None of
//! this needs root or BPF.

use std::{fs, process::Command};

use leastpriv_tests::{bin, describe, engines::require_tool, leastpriv, run, tempdir};

/// The visible commands, as paths below leastpriv (groups such as `generate` excluded).
fn commands() -> Vec<Vec<String>> {
    let mut out = vec![vec![]];
    for name in subcommands(&[]) {
        let sub = subcommands(&[name.as_str()]);
        if sub.is_empty() {
            out.push(vec![name]);
        } else {
            out.extend(sub.into_iter().map(|s| vec![name.clone(), s]));
        }
    }
    out
}

/// The subcommands `leastpriv PATH... --help` lists (without `help`).
fn subcommands(path: &[&str]) -> Vec<String> {
    let mut cmd = leastpriv();
    cmd.args(path).arg("--help");
    let output = run(cmd);
    assert!(output.status.success(), "{}", describe(&output));
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let Some((_, list)) = text.split_once("Commands:\n") else {
        return Vec::new();
    };
    list.lines()
        .take_while(|line| !line.trim().is_empty())
        .filter(|line| line.starts_with("  ") && !line.starts_with("   "))
        .filter_map(|line| line.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_owned)
        .collect()
}

fn completion_script(shell: &str) -> String {
    let mut cmd = leastpriv();
    cmd.args(["completions", shell]);
    let output = run(cmd);
    assert!(output.status.success(), "{}", describe(&output));
    String::from_utf8(output.stdout).expect("the script is UTF-8")
}

#[test]
fn bash_completion_loads_and_completes_subcommands() {
    // As the issue asks: the script sourced from the binary registers a completion.
    let script = format!(
        "source <({} completions bash) && complete -p leastpriv",
        bin().display()
    );
    let output = run({
        let mut cmd = Command::new("bash");
        cmd.args(["-c", &script]);
        cmd
    });
    assert!(output.status.success(), "{}", describe(&output));
    let registered = String::from_utf8_lossy(&output.stdout);
    assert!(
        registered.contains("-F _leastpriv leastpriv"),
        "no completion function registered:\n{registered}"
    );

    // And it completes: the words offered after `leastpriv gen` and `leastpriv generate `.
    let complete = |line: &str| {
        let words: Vec<&str> = line.split(' ').collect();
        let script = format!(
            "source <({bin} completions bash)\nCOMP_WORDS=({words})\nCOMP_CWORD={cword}\n\
             COMP_LINE='{line}'\nCOMP_POINT={point}\n_leastpriv leastpriv '{cur}' '{prev}'\n\
             printf '%s\\n' \"${{COMPREPLY[@]}}\"",
            bin = bin().display(),
            words = words
                .iter()
                .map(|w| format!("'{w}'"))
                .collect::<Vec<_>>()
                .join(" "),
            cword = words.len() - 1,
            point = line.len(),
            cur = words[words.len() - 1],
            prev = words[words.len() - 2],
        );
        let mut cmd = Command::new("bash");
        cmd.args(["-c", &script]);
        let output = run(cmd);
        assert!(output.status.success(), "{}", describe(&output));
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    let offered = complete("leastpriv gen");
    assert_eq!(offered.trim(), "generate", "after `leastpriv gen`");
    let offered = complete("leastpriv generate ");
    for format in ["seccomp", "capabilities", "apparmor", "k8s", "systemd"] {
        assert!(
            offered.lines().any(|w| w == format),
            "`leastpriv generate ` does not offer {format}:\n{offered}"
        );
    }
    // Hidden commands are not offered.
    let offered = complete("leastpriv ");
    assert!(offered.lines().any(|w| w == "record"), "{offered}");
    assert!(
        !offered.contains("man-pages") && !offered.contains("bench-floor"),
        "hidden commands offered:\n{offered}"
    );
    // Negative control: a word that is no command completes to nothing.
    assert_eq!(complete("leastpriv zzz").trim(), "");
}

#[test]
fn zsh_and_fish_completions_parse() {
    for (shell, file, check) in [
        ("zsh", "_leastpriv", vec!["-n"]),
        ("fish", "leastpriv.fish", vec!["--no-execute"]),
    ] {
        let script = completion_script(shell);
        assert!(
            script.contains("generate") && script.contains("max-paths"),
            "the {shell} script misses commands or flags:\n{script}"
        );
        if !require_tool("zsh_and_fish_completions_parse", shell) {
            continue;
        }
        let dir = tempdir();
        let path = dir.path().join(file);
        fs::write(&path, &script).unwrap();
        let output = run({
            let mut cmd = Command::new(shell);
            cmd.args(&check).arg(&path);
            cmd
        });
        assert!(
            output.status.success() && output.stderr.is_empty(),
            "{shell} {check:?} rejects the script:\n{}",
            describe(&output)
        );
    }
    // Negative control: a shell clap does not know is bad input, exit 2, nothing printed.
    let output = run({
        let mut cmd = leastpriv();
        cmd.args(["completions", "tcsh"]);
        cmd
    });
    assert_eq!(output.status.code(), Some(2), "{}", describe(&output));
    assert!(output.stdout.is_empty());
}

#[test]
fn every_help_says_the_exit_statuses() {
    for path in commands() {
        let mut cmd = leastpriv();
        cmd.args(&path).arg("--help");
        let output = run(cmd);
        assert!(output.status.success(), "{}", describe(&output));
        let help = String::from_utf8_lossy(&output.stdout);
        let (_, statuses) = help.split_once("Exit status:\n").unwrap_or_else(|| {
            panic!("`leastpriv {} --help` has no exit statuses", path.join(" "))
        });
        assert!(
            statuses.contains("  2 ") && statuses.contains("Bad input (a malformed"),
            "`leastpriv {} --help` does not say what bad input does:\n{statuses}",
            path.join(" ")
        );
        let wraps = ["record", "run", "check"].contains(&path.join(" ").as_str());
        if path.is_empty() {
            // leastpriv's own page lists every status.
            continue;
        }
        for status in ["125", "126", "127"] {
            assert_eq!(
                statuses.contains(&format!("  {status} ")),
                wraps,
                "`leastpriv {} --help`, status {status}:\n{statuses}",
                path.join(" ")
            );
        }
    }
}

#[test]
fn man_pages_cover_every_command_with_exit_statuses() {
    let dir = tempdir();
    let output = run({
        let mut cmd = leastpriv();
        cmd.arg("man-pages").arg(dir.path());
        cmd
    });
    assert!(output.status.success(), "{}", describe(&output));
    let commands = commands();
    assert!(commands.len() >= 10, "too few commands found: {commands:?}");
    for path in commands {
        let name = std::iter::once("leastpriv")
            .chain(path.iter().map(String::as_str))
            .collect::<Vec<_>>()
            .join("-");
        let page = dir.path().join(format!("{name}.1"));
        let source = fs::read_to_string(&page)
            .unwrap_or_else(|e| panic!("no man page {}: {e}", page.display()));
        assert!(
            source.contains(".SH \"EXIT STATUS\"") && source.contains("Bad input (a malformed"),
            "{name}.1 has no EXIT STATUS section with the bad-input behaviour:\n{source}"
        );
        // groff reads it without a warning (-ww: all warnings; -z: no output).
        let groff = run({
            let mut cmd = Command::new("groff");
            cmd.args(["-man", "-Tutf8", "-ww", "-z"]).arg(&page);
            cmd
        });
        assert!(
            groff.status.success() && groff.stderr.is_empty(),
            "groff warns about {name}.1:\n{}",
            describe(&groff)
        );
    }
    // Hidden commands get no page.
    assert!(!dir.path().join("leastpriv-man-pages.1").exists());
    assert!(!dir.path().join("leastpriv-bench-floor.1").exists());
}
