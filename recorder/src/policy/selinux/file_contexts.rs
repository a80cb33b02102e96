//! The file types of a policy: which SELinux type a path gets, as `restorecon` would label it,
//! from the policy's `contexts/files/` specifications.
//!
//! The rules are libselinux's, which `matchpathcon` and `setfiles` apply (and which the tests
//! compare against `matchpathcon`):
//! - `file_contexts`, then `file_contexts.homedirs` and `file_contexts.local` when present,
//!   one list; each line is `REGEX [FILE_TYPE] CONTEXT`, the regular expression anchored at
//!   both ends, the file type (`--` file, `-d` directory, `-l` symlink, `-c`, `-b`, `-s`,
//!   `-p`) limiting it to that kind of file, `<<none>>` for "leave unlabelled";
//! - specifications without regular expression characters are moved after all others, and the
//!   last one that matches wins (so an exact path beats a pattern, and a later pattern an
//!   earlier one);
//! - `file_contexts.subs_dist` and `file_contexts.subs` alias one path prefix to another
//!   (`/lib64` is looked up as `/usr/lib`) before matching.
//!
//! The policy's files are trusted input (they are the policy the module is compiled into); a
//! line whose expression this engine cannot compile is counted and reported, not guessed at.

use std::path::{Path, PathBuf};

use regex::bytes::{Regex, RegexBuilder};

/// The object class of a file, as the policy's permissions and file types name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FileClass {
    File,
    Dir,
    LnkFile,
    ChrFile,
    BlkFile,
    SockFile,
    FifoFile,
}

impl FileClass {
    /// The class's name in policy (`file`, `dir`, `lnk_file`, ...).
    pub fn name(self) -> &'static str {
        match self {
            FileClass::File => "file",
            FileClass::Dir => "dir",
            FileClass::LnkFile => "lnk_file",
            FileClass::ChrFile => "chr_file",
            FileClass::BlkFile => "blk_file",
            FileClass::SockFile => "sock_file",
            FileClass::FifoFile => "fifo_file",
        }
    }

    fn from_flag(flag: &str) -> Option<FileClass> {
        Some(match flag {
            "--" => FileClass::File,
            "-d" => FileClass::Dir,
            "-l" => FileClass::LnkFile,
            "-c" => FileClass::ChrFile,
            "-b" => FileClass::BlkFile,
            "-s" => FileClass::SockFile,
            "-p" => FileClass::FifoFile,
            _ => return None,
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum FileContextsError {
    #[error("cannot read the policy's file contexts {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}:{line}: {what}")]
    Syntax {
        path: PathBuf,
        line: usize,
        what: String,
    },
}

/// One specification line.
#[derive(Debug)]
struct Spec {
    regex: Regex,
    class: Option<FileClass>,
    /// The type of its context; None for `<<none>>`.
    file_type: Option<String>,
    /// Where it came from, for the module's comments (`file_contexts:173`).
    origin: String,
}

/// What a path is labelled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Label {
    /// This type, from the specification at `origin`.
    Typed { file_type: String, origin: String },
    /// A specification says to leave it unlabelled (`<<none>>`): on a real system it keeps
    /// whatever label it was created with, which the module cannot know.
    NotLabelled { origin: String },
    /// No specification matches.
    Unmatched,
}

/// A policy's file specifications, ready to look paths up.
#[derive(Debug)]
pub struct FileContexts {
    /// In the order of lookup's precedence: the last that matches wins.
    specs: Vec<Spec>,
    /// (from, to) path prefix aliases.
    substitutions: Vec<(Vec<u8>, Vec<u8>)>,
    /// Lines whose expression could not be compiled, for the module's notes.
    pub skipped: Vec<String>,
}

impl FileContexts {
    /// Reads the specifications of the policy rooted at `root` (`/etc/selinux/default`).
    pub fn load(root: &Path) -> Result<FileContexts, FileContextsError> {
        let dir = root.join("contexts/files");
        let main = dir.join("file_contexts");
        let mut sources = vec![(main.clone(), read(&main)?)];
        for extra in ["file_contexts.homedirs", "file_contexts.local"] {
            let path = dir.join(extra);
            if path.exists() {
                let text = read(&path)?;
                sources.push((path, text));
            }
        }
        let mut substitutions = String::new();
        for subs in ["file_contexts.subs_dist", "file_contexts.subs"] {
            let path = dir.join(subs);
            if path.exists() {
                substitutions.push_str(&read(&path)?);
                substitutions.push('\n');
            }
        }
        let sources: Vec<(&Path, &str)> = sources
            .iter()
            .map(|(p, t)| (p.as_path(), t.as_str()))
            .collect();
        FileContexts::parse(&sources, &substitutions)
    }

    /// Parses specification files (each `(path, text)`, in the order libselinux reads them)
    /// and substitution lines.
    pub fn parse(
        sources: &[(&Path, &str)],
        substitutions: &str,
    ) -> Result<FileContexts, FileContextsError> {
        let mut patterns = Vec::new();
        let mut exact = Vec::new();
        let mut skipped = Vec::new();
        for (path, text) in sources {
            let name = path.file_name().map_or_else(
                || path.display().to_string(),
                |n| n.to_string_lossy().into_owned(),
            );
            for (index, line) in text.lines().enumerate() {
                let line_no = index + 1;
                let line = line.trim();
                if line.is_empty() || line.starts_with('#') {
                    continue;
                }
                let fields: Vec<&str> = line.split_whitespace().collect();
                let (expression, flag, context) = match fields.as_slice() {
                    [expression, context] => (*expression, None, *context),
                    [expression, flag, context] => (*expression, Some(*flag), *context),
                    _ => {
                        return Err(FileContextsError::Syntax {
                            path: path.to_path_buf(),
                            line: line_no,
                            what: format!("expected `REGEX [TYPE] CONTEXT`, found {line:?}"),
                        })
                    }
                };
                let class = match flag {
                    None => None,
                    Some(flag) => Some(FileClass::from_flag(flag).ok_or_else(|| {
                        FileContextsError::Syntax {
                            path: path.to_path_buf(),
                            line: line_no,
                            what: format!("unknown file type {flag:?}"),
                        }
                    })?),
                };
                let file_type = if context == "<<none>>" {
                    None
                } else {
                    // user:role:type[:level]
                    let file_type =
                        context
                            .split(':')
                            .nth(2)
                            .ok_or_else(|| FileContextsError::Syntax {
                                path: path.to_path_buf(),
                                line: line_no,
                                what: format!("context {context:?} has no type"),
                            })?;
                    Some(file_type.to_owned())
                };
                let origin = format!("{name}:{line_no}");
                // Byte-wise, as libselinux's PCRE2 matches (no UTF mode): `.` is any byte but a
                // line feed, so a path that is not UTF-8 still matches its patterns.
                let Ok(regex) = RegexBuilder::new(&format!("^(?:{expression})$"))
                    .unicode(false)
                    .build()
                else {
                    skipped.push(format!("{origin} ({expression})"));
                    continue;
                };
                let spec = Spec {
                    regex,
                    class,
                    file_type,
                    origin,
                };
                if has_meta(expression) {
                    patterns.push(spec);
                } else {
                    exact.push(spec);
                }
            }
        }
        patterns.extend(exact);
        let substitutions = substitutions
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .filter_map(|l| {
                let mut words = l.split_whitespace();
                Some((
                    words.next()?.as_bytes().to_vec(),
                    words.next()?.as_bytes().to_vec(),
                ))
            })
            .collect();
        Ok(FileContexts {
            specs: patterns,
            substitutions,
            skipped,
        })
    }

    /// The label `path` (exact bytes) gets as a file of `class`.
    pub fn lookup(&self, path: &[u8], class: FileClass) -> Label {
        let path = self.substitute(path);
        let found = self
            .specs
            .iter()
            .rev()
            .find(|spec| spec.class.is_none_or(|c| c == class) && spec.regex.is_match(&path));
        match found {
            Some(Spec {
                file_type: Some(file_type),
                origin,
                ..
            }) => Label::Typed {
                file_type: file_type.clone(),
                origin: origin.clone(),
            },
            Some(Spec { origin, .. }) => Label::NotLabelled {
                origin: origin.clone(),
            },
            None => Label::Unmatched,
        }
    }

    /// `path` with the first alias whose prefix it has (a whole component) replaced.
    fn substitute(&self, path: &[u8]) -> Vec<u8> {
        for (from, to) in &self.substitutions {
            if let Some(rest) = path.strip_prefix(from.as_slice()) {
                if rest.is_empty() || rest.starts_with(b"/") {
                    let mut out = to.clone();
                    out.extend_from_slice(rest);
                    return out;
                }
            }
        }
        path.to_vec()
    }
}

fn read(path: &Path) -> Result<String, FileContextsError> {
    std::fs::read_to_string(path).map_err(|source| FileContextsError::Read {
        path: path.to_path_buf(),
        source,
    })
}

/// Whether an expression has regular expression characters (libselinux's test).
fn has_meta(expression: &str) -> bool {
    expression.chars().any(|c| {
        matches!(
            c,
            '.' | '^' | '$' | '?' | '*' | '+' | '|' | '[' | '(' | '{' | '\\'
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contexts(text: &str) -> FileContexts {
        FileContexts::parse(
            &[(Path::new("file_contexts"), text)],
            "/lib64 /usr/lib\n/var/run /run\n",
        )
        .unwrap()
    }

    const SAMPLE: &str = "\
/.*\tsystem_u:object_r:default_t:s0
/tmp\t-d\tsystem_u:object_r:tmp_t:s0
/tmp/.*\t<<none>>
/usr(/.*)?\tsystem_u:object_r:usr_t:s0
/usr/lib(/.*)?\tsystem_u:object_r:lib_t:s0
/usr/bin(/.*)?\tsystem_u:object_r:bin_t:s0
/usr/bin/ping\t--\tsystem_u:object_r:ping_exec_t:s0
/run(/.*)?\tsystem_u:object_r:var_run_t:s0
";

    fn typed(label: Label) -> String {
        match label {
            Label::Typed { file_type, .. } => file_type,
            other => panic!("not typed: {other:?}"),
        }
    }

    #[test]
    fn the_last_matching_specification_wins_and_exact_paths_come_last() {
        let fc = contexts(SAMPLE);
        assert_eq!(typed(fc.lookup(b"/usr/bin/ls", FileClass::File)), "bin_t");
        assert_eq!(typed(fc.lookup(b"/usr/share/x", FileClass::File)), "usr_t");
        assert_eq!(
            typed(fc.lookup(b"/usr/bin/ping", FileClass::File)),
            "ping_exec_t"
        );
        // The exact ping line is for plain files only.
        assert_eq!(typed(fc.lookup(b"/usr/bin/ping", FileClass::Dir)), "bin_t");
        assert_eq!(
            typed(fc.lookup(b"/etc/passwd", FileClass::File)),
            "default_t"
        );
    }

    #[test]
    fn file_types_none_and_aliases_are_honoured() {
        let fc = contexts(SAMPLE);
        assert_eq!(typed(fc.lookup(b"/tmp", FileClass::Dir)), "tmp_t");
        assert!(matches!(
            fc.lookup(b"/tmp/x", FileClass::File),
            Label::NotLabelled { origin } if origin == "file_contexts:3"
        ));
        assert_eq!(typed(fc.lookup(b"/lib64/ld.so", FileClass::File)), "lib_t");
        assert_eq!(
            typed(fc.lookup(b"/var/run/x.pid", FileClass::File)),
            "var_run_t"
        );
        // Only a whole component is an alias's prefix.
        assert_eq!(typed(fc.lookup(b"/lib64x", FileClass::File)), "default_t");
    }

    #[test]
    fn a_path_that_is_not_utf8_is_looked_up_by_its_bytes() {
        let fc = contexts(SAMPLE);
        assert_eq!(
            typed(fc.lookup(b"/usr/bin/\xff\xfe", FileClass::File)),
            "bin_t"
        );
        assert!(matches!(
            fc.lookup(b"relative", FileClass::File),
            Label::Unmatched
        ));
    }

    /// The lookup gives what libselinux's own (`matchpathcon`) gives, with this machine's
    /// policy, for real files of every class across the tree. Skipped (failed in CI, where
    /// `cargo xtask test` installs both) without the policy or matchpathcon.
    #[test]
    fn lookups_agree_with_matchpathcon() {
        let root = Path::new("/etc/selinux/default");
        let available = root.join("contexts/files/file_contexts").exists()
            && std::process::Command::new("matchpathcon")
                .arg("-V")
                .output()
                .is_ok();
        if !available {
            assert!(
                std::env::var_os("LEASTPRIV_REQUIRE_BPF").is_none_or(|v| v != "1"),
                "needs selinux-policy-default and matchpathcon (cargo xtask test installs them)"
            );
            eprintln!("SKIP lookups_agree_with_matchpathcon: no reference policy or matchpathcon");
            return;
        }
        let fc = FileContexts::load(root).unwrap();
        let mut by_class: std::collections::BTreeMap<FileClass, Vec<PathBuf>> = Default::default();
        let dirs = [
            "/",
            "/usr/bin",
            "/usr/sbin",
            "/etc",
            "/usr/lib/x86_64-linux-gnu",
            "/dev",
            "/var/lib",
            "/var/log",
            "/run",
            "/usr/share/doc",
            "/var/cache",
            "/usr/libexec",
            "/home",
            "/root",
            "/opt",
            "/srv",
            "/boot",
            "/lib64",
            "/usr/lib/python3",
            "/var/spool",
        ];
        for dir in dirs {
            let Ok(entries) = std::fs::read_dir(dir) else {
                continue;
            };
            let mut entries: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
            entries.sort();
            entries.truncate(150);
            entries.push(PathBuf::from(dir));
            for path in entries {
                let Ok(meta) = std::fs::symlink_metadata(&path) else {
                    continue;
                };
                use std::os::unix::fs::FileTypeExt as _;
                let kind = meta.file_type();
                let class = if kind.is_dir() {
                    FileClass::Dir
                } else if kind.is_symlink() {
                    FileClass::LnkFile
                } else if kind.is_char_device() {
                    FileClass::ChrFile
                } else if kind.is_block_device() {
                    FileClass::BlkFile
                } else if kind.is_socket() {
                    FileClass::SockFile
                } else if kind.is_fifo() {
                    FileClass::FifoFile
                } else {
                    FileClass::File
                };
                by_class.entry(class).or_default().push(path);
            }
        }
        let mut compared = 0;
        let mut differ = Vec::new();
        for (class, paths) in &by_class {
            let out = std::process::Command::new("matchpathcon")
                .args(["-m", class.name()])
                .args(paths)
                .output()
                .unwrap();
            let text = String::from_utf8_lossy(&out.stdout);
            for (path, line) in paths.iter().zip(text.lines()) {
                let theirs = line.rsplit('\t').next().unwrap_or("");
                let theirs = theirs.split(':').nth(2).unwrap_or(theirs);
                use std::os::unix::ffi::OsStrExt as _;
                let ours = match fc.lookup(path.as_os_str().as_bytes(), *class) {
                    Label::Typed { file_type, .. } => file_type,
                    Label::NotLabelled { .. } => "<<none>>".into(),
                    Label::Unmatched => "(none)".into(),
                };
                compared += 1;
                if ours != theirs {
                    differ.push(format!(
                        "{} ({}): ours {ours}, matchpathcon {theirs}",
                        path.display(),
                        class.name()
                    ));
                }
            }
        }
        assert!(compared > 300, "only {compared} paths compared");
        assert!(
            differ.is_empty(),
            "{} of {compared} differ:\n{}",
            differ.len(),
            differ.join("\n")
        );
    }

    #[test]
    fn malformed_lines_are_errors_that_name_the_line() {
        let err = FileContexts::parse(&[(Path::new("fc"), "/a -x system_u:object_r:a_t\n")], "")
            .unwrap_err();
        assert_eq!(err.to_string(), "fc:1: unknown file type \"-x\"");
        let err = FileContexts::parse(&[(Path::new("fc"), "/a\n")], "").unwrap_err();
        assert!(err.to_string().starts_with("fc:1: expected"));
    }
}
