//! Tests of reading AppArmor profiles and checking recordings against them.

use std::{
    collections::{BTreeMap, BTreeSet},
    path::{Path, PathBuf},
};

use super::*;
use crate::{
    policy::apparmor::{self as policy, decide, AppArmorOptions},
    profile::apparmor::render,
    recording::{Access, Accesses, Recording},
    review::permission::Permission,
};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn fixture(name: &str) -> Recording {
    let path = workspace().join(format!("tests/fixtures/{name}.recording.json"));
    Recording::read(&path).unwrap()
}

/// Every AppArmor profile among the golden files.
fn golden_profiles() -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = std::fs::read_dir(workspace().join("tests/golden"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.extension()
                .is_some_and(|e| e == "profile" || e == "apparmor")
        })
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read_to_string(&p).unwrap(),
            )
        })
        .collect();
    out.sort();
    assert!(
        out.len() >= 6,
        "golden profiles: {:?}",
        out.iter().map(|(n, _)| n).collect::<Vec<_>>()
    );
    out
}

fn file(path: &str, access: &str) -> Permission {
    Permission::File {
        path: path.into(),
        access: access.into(),
    }
}

/// Each rule line of a generated profile, read independently of the parser (the generator
/// writes one rule per line), is exactly one or more permissions, and there are no others.
#[test]
fn every_rule_line_of_the_golden_profiles_becomes_permissions() {
    for (name, text) in golden_profiles() {
        let permissions = parse_permissions(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        let mut expected = BTreeSet::new();
        let body = text.split_once(" {\n").unwrap().1;
        for line in body
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && *l != "}")
        {
            if let Some(rest) = line.strip_prefix("include <abstractions/") {
                let name = rest.split('>').next().unwrap();
                expected.insert(Permission::Abstraction { name: name.into() });
            } else if let Some(rest) = line.strip_prefix("capability ") {
                let cap = rest.trim_end_matches(',');
                expected.insert(Permission::Capability {
                    name: format!("CAP_{}", cap.to_ascii_uppercase()),
                });
            } else if let Some(rest) = line.strip_prefix("network ") {
                let (family, kind) = rest.trim_end_matches(',').split_once(' ').unwrap();
                expected.insert(Permission::Network {
                    family: format!("AF_{}", family.to_ascii_uppercase()),
                    kind: format!("SOCK_{}", kind.to_ascii_uppercase()),
                });
            } else {
                let owner = line.starts_with("owner ");
                let (start, end) = (line.find('"').unwrap(), line.rfind('"').unwrap());
                let path = &line[start + 1..end];
                let letters = line[end + 1..].trim_start().split(',').next().unwrap();
                let mut words = Vec::new();
                let mut chars = letters.chars().peekable();
                while let Some(c) = chars.next() {
                    words.push(match c {
                        'm' => "mmap_exec",
                        'r' => "read",
                        'w' => "write",
                        'a' => "append",
                        'l' => "link",
                        'k' => "lock",
                        'i' => {
                            assert_eq!(chars.next(), Some('x'), "{name}: {line}");
                            "exec"
                        }
                        c => panic!("{name}: letter {c} in {line}"),
                    });
                }
                assert!(!words.is_empty(), "{name}: {line}");
                for word in words {
                    let access = if owner {
                        format!("owner {word}")
                    } else {
                        word.to_owned()
                    };
                    expected.insert(file(path, &access));
                }
            }
        }
        if text.contains("flags=(complain)") {
            expected.insert(Permission::Rule {
                text: "flags=(complain)".into(),
            });
        }
        let parsed: BTreeSet<Permission> = permissions.into_keys().collect();
        assert_eq!(parsed, expected, "{name}");
    }
}

#[test]
fn the_header_is_read() {
    let text =
        std::fs::read_to_string(workspace().join("tests/golden/apparmor-basic.complain.profile"))
            .unwrap();
    let profile = parse(&text).unwrap();
    assert_eq!(profile.name, "web");
    assert_eq!(profile.attachment.as_deref(), Some("/usr/local/bin/webapp"));
    assert_eq!(profile.flags, ["complain"]);
    assert_eq!(profile.abstractions, ["base", "nameservice"]);
}

/// Hostile names come back as the same escaped text, and each compiled rule matches
/// exactly the recorded bytes.
#[test]
fn hostile_names_parse_back_to_their_escaped_text_and_match_only_themselves() {
    let text =
        std::fs::read_to_string(workspace().join("tests/golden/apparmor-hostile.profile")).unwrap();
    let profile = parse(&text).unwrap();
    let patterns: BTreeSet<&str> = profile.files.iter().map(|r| r.pattern.as_str()).collect();
    for written in [
        r#"/srv/odd/x\", /\*\* rwlkmix,\012/etc/shadow r"#,
        r"/srv/hostile/@\{HOME\}",
        r"/srv/odd/\\012literal",
        r"/srv/hostile/bad\377byte",
        r"/srv/odd/\303\251t\303\251",
        r#"/opt/evil dir/run\"me\{\*\}"#,
        "/srv/hostile/#hash",
        "/srv/hostile/a,b",
    ] {
        assert!(
            patterns.contains(written),
            "{written} not among {patterns:#?}"
        );
    }
    assert_eq!(
        profile.attachment.as_deref(),
        Some(r#"/opt/evil dir/run\"me\{\*\}"#)
    );
    let compiled =
        |text: &str| PathPattern::compile(text, &BTreeMap::new(), UnknownVariables::Error).unwrap();
    let injection = compiled(r#"/srv/odd/x\", /\*\* rwlkmix,\012/etc/shadow r"#);
    assert!(injection.is_exact());
    assert!(injection.matches(b"/srv/odd/x\", /** rwlkmix,\n/etc/shadow r"));
    assert!(!injection.matches(b"/etc/shadow"));
    assert!(compiled(r"/srv/hostile/@\{HOME\}").matches(b"/srv/hostile/@{HOME}"));
    assert!(!compiled(r"/srv/hostile/@\{HOME\}").matches(b"/srv/hostile/root"));
    assert!(compiled(r"/srv/hostile/bad\377byte").matches(b"/srv/hostile/bad\xffbyte"));
    assert!(compiled(r"/srv/odd/\\012literal").matches(br"/srv/odd/\012literal"));
    assert!(compiled(r"/srv/hostile/star\*").matches(b"/srv/hostile/star*"));
    assert!(!compiled(r"/srv/hostile/star\*").matches(b"/srv/hostile/starry"));
    // Every literal rule of the hostile profile is exact.
    for rule in profile.files.iter().filter(|r| !r.pattern.contains("@{")) {
        let p = compiled(&rule.pattern);
        assert!(
            p.is_exact() || rule.pattern.contains("nul?byte"),
            "{}",
            rule.pattern
        );
    }
}

#[test]
fn patterns_match_like_apparmor() {
    let vars = BTreeMap::from([(
        "app".to_owned(),
        vec!["/opt/app/".to_owned(), "/srv/app/".to_owned()],
    )]);
    let m = |pattern: &str, path: &str| {
        PathPattern::compile(pattern, &vars, UnknownVariables::Error)
            .unwrap()
            .matches(path.as_bytes())
    };
    assert!(m("@{HOME}/.cfg", "/home/alice/.cfg"));
    assert!(m("@{HOME}/.cfg", "/root/.cfg"));
    assert!(!m("@{HOME}/.cfg", "/home/.cfg"));
    assert!(!m("@{HOME}/.cfg", "/home/a/b/.cfg"));
    assert!(m("@{HOME}/", "/home/alice/"));
    assert!(m("/proc/@{pid}/task/@{tid}/stat", "/proc/12/task/13/stat"));
    assert!(!m("/proc/@{pid}/stat", "/proc/self/stat"));
    assert!(!m("/proc/@{pid}/stat", "/proc/012/stat"));
    assert!(m("@{PROC}/@{pid}/maps", "/proc/1/maps"));
    assert!(m("/tmp/*", "/tmp/a"));
    assert!(!m("/tmp/*", "/tmp/"));
    assert!(!m("/tmp/*", "/tmp/a/b"));
    assert!(m("/tmp/**", "/tmp/a/b"));
    assert!(!m("/tmp/**", "/tmp/"));
    assert!(m("/tmp/{,**}", "/tmp/"));
    assert!(m("/tmp/tmp??????", "/tmp/tmpAb12Cd"));
    assert!(!m("/tmp/tmp??????", "/tmp/tmpAb12C/"));
    assert!(m("/lib/libx.so*", "/lib/libx.so.1.2"));
    assert!(m("/dev/pts/[0-9]*", "/dev/pts/3"));
    assert!(!m("/dev/pts/[^0-9]*", "/dev/pts/3"));
    assert!(m("/dev/pts/[^0-9]*", "/dev/pts/x"));
    assert!(m("/{usr/,}lib{,32,64}/x", "/usr/lib64/x"));
    assert!(m("/{usr/,}lib{,32,64}/x", "/lib/x"));
    assert!(m("@{app}conf", "/srv/app/conf"));
    assert!(m("/a\\x41\\d066\\103", "/aABC"));
    assert!(m("/sp\\ ace", "/sp ace"));
    assert!(m("/a//b", "/a/b"));
    let err =
        |pattern: &str| PathPattern::compile(pattern, &vars, UnknownVariables::Error).unwrap_err();
    assert_eq!(
        err("/x/@{nope}"),
        PatternError::UnknownVariable("nope".into())
    );
    assert!(matches!(err("/x/{a,b"), PatternError::Malformed(_)));
    assert!(matches!(err("/x/[ab"), PatternError::Malformed(_)));
    assert!(matches!(err("/x/a}"), PatternError::Malformed(_)));
    assert!(matches!(err("/x\\"), PatternError::Malformed(_)));
}

#[test]
fn hand_edits_are_read() {
    let text = r#"
# comment with "quotes" and { braces
#include <tunables/global>
@{APP} = /opt/app /srv/app
@{APP} += /usr/local/app

/usr/bin/app flags=(complain, attach_disconnected) {
  #include <abstractions/base>
  include if exists <local/usr.bin.app>
  capability chown dac_override,
  capability,
  network inet,
  network inet6 tcp,
  network raw,
  network,
  /etc/app.conf r,   # trailing comment
  owner @{APP}/data/** rwk,
  audit "/var/log/app.log" a,
  rw /srv/perms-first,
  /usr/bin/helper Px -> helper_profile,
  /usr/bin/other
  rix,
  signal (send) peer=unconfined,
  dbus send bus=session
   path=/org/x member={Hello,Bye}
   peer=(name=org.freedesktop.DBus, label=unconfined),
  owner @{HOME}/.config/#[0-9]* rwl -> @{HOME}/.config/#[0-9]*,
  file,
}
"#;
    let profile = parse(text).unwrap();
    assert_eq!(profile.name, "/usr/bin/app");
    assert_eq!(profile.flags, ["complain", "attach_disconnected"]);
    assert_eq!(profile.abstractions, ["base"]);
    assert_eq!(profile.includes, ["include if exists <local/usr.bin.app>"]);
    assert_eq!(
        profile.variables["APP"],
        ["/opt/app", "/srv/app", "/usr/local/app"]
    );
    let permissions = permissions(&profile).unwrap();
    for p in [
        file("/etc/app.conf", "read"),
        file("@{APP}/data/**", "owner lock"),
        file("/var/log/app.log", "append"),
        file("/srv/perms-first", "write"),
        file("/usr/bin/helper", "exec_Px->helper_profile"),
        file("/usr/bin/other", "exec"),
        file("/usr/bin/other", "read"),
        file("@{HOME}/.config/#[0-9]*", "owner link->@{HOME}/.config/#[0-9]*"),
        file("/{,**}", "write"),
        Permission::Capability { name: "CAP_DAC_OVERRIDE".into() },
        Permission::Capability { name: "*".into() },
        Permission::Network { family: "AF_INET".into(), kind: "*".into() },
        Permission::Network { family: "AF_INET6".into(), kind: "SOCK_STREAM".into() },
        Permission::Network { family: "*".into(), kind: "SOCK_RAW".into() },
        Permission::Network { family: "*".into(), kind: "*".into() },
        Permission::Rule { text: "signal (send) peer=unconfined".into() },
        Permission::Rule {
            text: "dbus send bus=session path=/org/x member={Hello,Bye} peer=(name=org.freedesktop.DBus, label=unconfined)"
                .into(),
        },
        Permission::Rule { text: "flags=(attach_disconnected)".into() },
        Permission::Rule { text: "include if exists <local/usr.bin.app>".into() },
        Permission::Rule { text: "@{APP} = /opt/app /srv/app /usr/local/app".into() },
        Permission::Abstraction { name: "base".into() },
    ] {
        assert!(permissions.contains_key(&p), "{p:?} missing from {permissions:#?}");
    }
    let checker = profile.checker();
    assert!(checker.file(b"/srv/app/data/x/y").0.lock);
    assert!(checker.file(b"/usr/local/app/data/z").0.write);
    assert!(checker.network("inet", "raw"));
    assert!(checker.capability("sys_admin"));
    assert_eq!(checker.warnings.len(), 1, "{:?}", checker.warnings);
}

#[test]
fn malformed_profiles_name_the_line() {
    let err = |text: &str| parse(text).unwrap_err();
    let header = "profile p {\n";
    assert_eq!(
        err("").message,
        "no profile (`profile NAME {` or `/path/to/program {`) found"
    );
    assert_eq!(err(&format!("{header}  \"/etc/x r,\n}}\n")).line, 2);
    assert_eq!(err(&format!("{header}  /etc/x rz,\n}}\n")).line, 2);
    assert_eq!(err(&format!("{header}  /etc/x x,\n}}\n")).line, 2);
    assert_eq!(err(&format!("{header}  /etc/x r\n}}\n")).line, 2);
    assert_eq!(err(&format!("{header}  /etc/{{a,b r,\n}}\n")).line, 2);
    assert_eq!(
        err(&format!("{header}  /etc/x r,\n")).message,
        "the profile opened on line 1 is not closed by `}`"
    );
    assert!(err(&format!("{header}  profile child {{\n  }}\n}}\n"))
        .message
        .contains("child profiles"));
    assert!(err(&format!("{header}}}\n{header}}}\n"))
        .message
        .contains("more than one profile"));
    assert!(err(&format!("{header}  frobnicate,\n}}\n"))
        .message
        .contains("unrecognised rule"));
    assert!(err("/etc/x r,\n").message.contains("outside a profile"));
    assert!(err(&format!("{header}  capability CHOWN,\n}}\n"))
        .message
        .contains("capability name"));
    // diff refuses deny rules: removing one would widen without an added permission.
    let deny = parse(&format!(
        "{header}  /etc/** r,\n  deny /etc/shadow r,\n}}\n"
    ))
    .unwrap();
    assert_eq!(permissions(&deny).unwrap_err().line, 3);
    // check honours them.
    assert!(deny.checker().file(b"/etc/passwd").1.is_empty());
    assert!(deny.checker().file(b"/etc/shadow").1.read);
    let deny_x = parse(&format!("{header}  deny /usr/bin/apt-cache x,\n}}\n")).unwrap();
    assert!(deny_x.checker().file(b"/usr/bin/apt-cache").1.exec);
}

/// Every generated profile allows everything in the recording it came from, and taking one
/// rule out of it makes exactly that rule's accesses missing.
#[test]
fn generated_profiles_allow_their_own_recordings() {
    for name in [
        "apparmor-basic",
        "apparmor-glob",
        "apparmor-hostile",
        "bind_and_chown",
    ] {
        let recording = fixture(name);
        let text = render(&decide(&recording, &AppArmorOptions::default()).unwrap());
        let report = parse(&text).unwrap().checker().check(&recording);
        // The hostile recording's unnamed socket family and unknown capability have no
        // rule (the generator refuses them), so they are missing; nothing else is.
        let expected: Vec<Permission> = if name == "apparmor-hostile" {
            vec![
                Permission::Capability {
                    name: "CAP_X\n/** rwlkmix".into(),
                },
                Permission::Network {
                    family: "AF_INET\n, /** rw".into(),
                    kind: "SOCK_STREAM".into(),
                },
            ]
        } else {
            vec![]
        };
        assert_eq!(
            report.missing.into_keys().collect::<Vec<_>>(),
            expected,
            "{name}:\n{text}"
        );
    }
    let recording = fixture("apparmor-basic");
    let text = render(&decide(&recording, &AppArmorOptions::default()).unwrap());
    let without: String = text
        .lines()
        .filter(|l| !l.contains("webapp.conf"))
        .map(|l| format!("{l}\n"))
        .collect();
    let report = parse(&without).unwrap().checker().check(&recording);
    let missing: Vec<String> = report.missing.keys().map(Permission::describe).collect();
    assert_eq!(missing, ["file /etc/webapp/webapp.conf read"]);
    // `network inet stream` is also granted by nameservice; `unix stream` only by its rule.
    for (rule, needed) in [
        ("network inet stream", None),
        ("network unix stream", Some("network AF_UNIX SOCK_STREAM")),
    ] {
        let without: String = text
            .lines()
            .filter(|l| !l.contains(rule))
            .map(|l| format!("{l}\n"))
            .collect();
        let report = parse(&without).unwrap().checker().check(&recording);
        let missing: Vec<String> = report.missing.keys().map(Permission::describe).collect();
        assert_eq!(
            missing,
            Vec::from_iter(needed.map(str::to_owned)),
            "without {rule}"
        );
    }
    // Without nameservice, what it gave is missing (its network rules too).
    let without: String = text
        .lines()
        .filter(|l| !l.contains("abstractions/nameservice"))
        .map(|l| format!("{l}\n"))
        .collect();
    let report = parse(&without).unwrap().checker().check(&recording);
    assert!(
        report
            .missing
            .keys()
            .any(|p| p.describe() == "file /etc/nsswitch.conf read"),
        "{:?}",
        report.missing
    );
}

#[test]
fn access_kinds_need_the_generators_letters() {
    let profile =
        parse("profile p {\n  /a r,\n  /b w,\n  /c a,\n  /d Px,\n  /e/ r,\n  /f l,\n}\n").unwrap();
    let checker = profile.checker();
    let ok = |path: &[u8], access: Access| {
        policy::perms_for(Accesses::of(&[access]))
            .minus(checker.file(path).0)
            .is_empty()
    };
    assert!(ok(b"/a", Access::Read));
    assert!(!ok(b"/a", Access::Write));
    assert!(ok(b"/b", Access::Append));
    assert!(ok(b"/b", Access::Chown));
    assert!(ok(b"/b", Access::Unlink));
    assert!(!ok(b"/b", Access::RenameFrom));
    assert!(ok(b"/c", Access::Append));
    assert!(!ok(b"/c", Access::Write));
    assert!(ok(b"/d", Access::Exec));
    assert!(!ok(b"/d", Access::MmapExec));
    assert!(ok(b"/e/", Access::Read));
    assert!(!ok(b"/e", Access::Read));
    assert!(ok(b"/f", Access::Link));
}
