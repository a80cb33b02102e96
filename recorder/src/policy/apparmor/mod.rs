//! What an AppArmor profile allows, decided from a Recording.
//!
//! The decisions, each documented in docs/apparmor.md:
//! - every recorded file access becomes the fewest AppArmor permissions that cover it
//!   (`r`, `w`, `a`, `l`, `k`, `m`, `ix`), on the exact path bytes the kernel used;
//! - `owner` is added where the workload itself created the file (and did not chown it);
//! - `abstractions/base` is always included; a few other abstractions are included when the
//!   recording falls under them, and what an included abstraction already grants is not
//!   repeated (the abstractions' file rules, from AppArmor 3.0, are embedded here and matched);
//! - variable parts are generalised by named rules a reviewer can follow: `home`
//!   (`/home/USER`, `/root` → `@{HOME}`), `proc-pid` (`/proc/PID`, `/proc/PID/task/TID` →
//!   `@{pid}`, `@{tid}`), `temp-name` (random parts of names the workload made → one `?` per
//!   character), `library-version` (`libfoo.so.1.2.3` → `libfoo.so*`), `dir-glob` (N files in
//!   one directory with the same access → `dir/*`);
//! - sockets become `network DOMAIN TYPE` rules, the capability add-list `capability` rules;
//! - paths are data: they become [`Pattern`]s of bytes, and only the generalisation rules
//!   above ever put a variable or a glob into one. A byte AppArmor cannot match exactly (NUL)
//!   becomes a single `?` and a [`Note`].
//!
//! This file holds the decision flow ([`decide`]) and the [`AppArmorPolicy`] it returns; the
//! parts live beside it, each importing only the ones below it and `recording`, never this
//! file: `generalise` (names → patterns), `abstractions` (which abstractions cover what),
//! `perms` (permission letters), `note` and `glob` (the one AppArmor glob engine, which
//! review imports too).

mod abstractions;
mod generalise;
pub(crate) mod glob;
mod note;
mod perms;
#[cfg(test)]
mod tests;

use std::{
    borrow::Cow,
    collections::{BTreeMap, BTreeSet},
};

pub(crate) use abstractions::{compiled_abstractions, granted_by, CompiledAbstraction};
use abstractions::{Rules, Trigger, ABSTRACTIONS};
#[cfg(test)]
use generalise::generalise;
use generalise::{drop_redundant_owner_rules, generalise_run, glob_directories};
pub use generalise::{FileKey, FileRule, Generalisation, Generalisations, Pattern, Token, Var};
pub use note::Note;
pub(crate) use perms::perms_for;
pub use perms::Perms;

use crate::{
    policy::capabilities,
    recording::{
        path::BadPathHex, Access, Accesses, ExePath, Executable, FileAccess, Recording, SocketUse,
        Target,
    },
};

/// Default of `--glob-threshold`: this many files with the same access in one directory
/// become `dir/*`.
pub const DEFAULT_GLOB_THRESHOLD: usize = 20;

#[derive(Debug, thiserror::Error)]
pub enum AppArmorPolicyError {
    #[error("the recording holds no file accesses (it was made by a leastpriv from before file recording existed); an AppArmor profile cannot be derived from it: record the workload again")]
    FilesNotRecorded,
    #[error("profile name {name:?} is not usable: use letters, digits, '.', '_' and '-' (at most 64), starting with a letter or a digit")]
    InvalidName { name: String },
    #[error("path_hex {hex:?} of recorded path {path:?} is not an even number of hex digits")]
    BadPathHex { path: String, hex: String },
}

/// Enforce the profile, or only log what it would deny.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Mode {
    /// Deny what the profile does not allow.
    #[default]
    Enforce,
    /// `flags=(complain)`: allow everything, log what the profile lacks.
    Complain,
}

/// Choices the user makes about an AppArmor profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppArmorOptions {
    /// The profile name (default: the executable's file name).
    pub name: Option<String>,
    pub mode: Mode,
    /// Files with the same access in one directory that become `dir/*`; 0 never globs.
    pub glob_threshold: usize,
}

impl Default for AppArmorOptions {
    fn default() -> Self {
        AppArmorOptions {
            name: None,
            mode: Mode::Enforce,
            glob_threshold: DEFAULT_GLOB_THRESHOLD,
        }
    }
}

/// Why an abstraction is included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inclusion {
    /// `base`: always.
    Always,
    /// A file that shows the abstraction's subsystem in use was read (`nameservice`:
    /// `/etc/nsswitch.conf`).
    Trigger(&'static str),
    /// It covers recorded accesses that `base` does not.
    Covers,
}

/// An included abstraction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AbstractionUse {
    pub why: Inclusion,
    /// Recorded paths whose access it covers completely (their rules are left out).
    pub covered: usize,
}

/// The decided AppArmor policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppArmorPolicy {
    pub name: String,
    /// The executable the profile attaches to (exact bytes).
    pub attachment: Option<Pattern>,
    pub mode: Mode,
    /// Included abstractions by name (`base`, `nameservice`, ...).
    pub abstractions: BTreeMap<&'static str, AbstractionUse>,
    /// Lowercase names without `CAP_` → the executables that needed them.
    pub capabilities: BTreeMap<String, BTreeSet<ExePath>>,
    /// (domain, type) such as (`inet`, `stream`) → the executables that created them.
    pub network: BTreeMap<(&'static str, &'static str), BTreeSet<ExePath>>,
    pub files: BTreeMap<FileKey, FileRule>,
    /// How many recorded paths were turned into rules or left to abstractions.
    pub recorded_paths: usize,
    pub notes: BTreeSet<Note>,
}

impl AppArmorPolicy {
    /// Recorded paths whose access the included abstractions cover completely.
    pub fn covered_by_abstractions(&self) -> usize {
        self.abstractions.values().map(|a| a.covered).sum()
    }
}

/// Decides the AppArmor policy for a recording.
pub fn decide(
    recording: &Recording,
    options: &AppArmorOptions,
) -> Result<AppArmorPolicy, AppArmorPolicyError> {
    let files = recording
        .files
        .as_ref()
        .ok_or(AppArmorPolicyError::FilesNotRecorded)?;
    let mut notes = BTreeSet::new();
    let mut recorded = recorded_paths(files, &recording.executables, &mut notes)?;
    let recorded_count = recorded.len();

    let attachment = attachment(recording, files, &mut notes);
    let name = match &options.name {
        Some(name) if valid_name(name) => name.clone(),
        Some(name) => return Err(AppArmorPolicyError::InvalidName { name: name.clone() }),
        None => default_name(attachment.as_deref(), &recording.target),
    };

    // A directory is matched with its trailing slash from here on.
    let directories = directories(&recorded);
    for (rec, is_dir) in recorded.iter_mut().zip(directories) {
        if is_dir && *rec.path != *b"/" {
            rec.path.to_mut().push(b'/');
        }
    }

    let abstractions = include_abstractions(&mut recorded);

    let (made, transient) = run_names(recorded.iter().map(|rec| (&*rec.path, rec.access)));
    let pieces = in_parallel(&recorded, |_, recorded| {
        let mut notes = BTreeSet::new();
        let mut rules = Vec::with_capacity(recorded.len());
        for rec in recorded.iter().filter(|rec| !rec.perms.is_empty()) {
            let (pattern, generalised) =
                generalise_run(&rec.path, rec.perms, &made, &transient, &mut notes);
            let key = FileKey {
                pattern,
                owner: rec.is_owned(),
            };
            let rule = FileRule {
                perms: rec.perms,
                generalised,
                paths: 1,
            };
            rules.push((key, rule));
        }
        (rules, notes)
    });
    drop(made);
    drop(transient);
    drop(recorded);
    let mut files_out = Vec::new();
    for (rules, piece_notes) in pieces {
        concatenate(&mut files_out, rules);
        notes.extend(piece_notes);
    }
    // Paths that generalise to one pattern become one rule. The paths come sorted and most
    // patterns are literal, so this sort has little to do.
    files_out.sort_by(|a, b| a.0.cmp(&b.0));
    files_out.dedup_by(|later, kept| {
        let same = later.0 == kept.0;
        if same {
            kept.1.absorb(std::mem::take(&mut later.1));
        }
        same
    });
    let mut files_out = glob_directories(files_out, options.glob_threshold);
    drop_redundant_owner_rules(&mut files_out);

    let capabilities = capability_rules(recording, &mut notes);
    let network = network_rules(recording.sockets.as_deref(), &mut notes);

    Ok(AppArmorPolicy {
        name,
        attachment: attachment.map(|bytes| Pattern::literal(&bytes)),
        mode: options.mode,
        abstractions,
        capabilities,
        network,
        files: files_out,
        recorded_paths: recorded_count,
        notes,
    })
}

/// `work` on consecutive pieces of `items` (given with the index of the piece's first item),
/// one piece per core, results in order. The paths of a large recording are independent of
/// each other; a small one stays on this thread, as does the last piece of a large one.
fn in_parallel<'a, T: Sync, R: Send>(
    items: &'a [T],
    work: impl Fn(usize, &'a [T]) -> R + Sync,
) -> Vec<R> {
    const SMALLEST_PIECE: usize = 50_000;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let pieces = cores.min(items.len() / SMALLEST_PIECE);
    if pieces <= 1 {
        return vec![work(0, items)];
    }
    let size = items.len().div_ceil(pieces);
    let (others, last) = items.split_at(size * (pieces - 1));
    let work = &work;
    std::thread::scope(|scope| {
        let handles: Vec<_> = others
            .chunks(size)
            .enumerate()
            .map(|(n, piece)| scope.spawn(move || work(n * size, piece)))
            .collect();
        let last = work(others.len(), last);
        let mut results: Vec<R> = handles
            .into_iter()
            .map(|handle| {
                handle
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect();
        results.push(last);
        results
    })
}

/// Appends `piece` to `whole`; the first piece is taken as it is, so a million items are not
/// moved twice.
fn concatenate<T>(whole: &mut Vec<T>, piece: Vec<T>) {
    if whole.is_empty() {
        *whole = piece;
    } else {
        whole.extend(piece);
    }
}

/// Accesses that make (or remove) a name: the workload's own files.
const MAKES_NAME: Accesses = Accesses::of(&[
    Access::Create,
    Access::Mkdir,
    Access::Rmdir,
    Access::Unlink,
    Access::RenameFrom,
    Access::RenameTo,
    Access::Link,
    Access::Symlink,
]);

/// Accesses that create the file: the workload owns it (unless it chowned it).
const CREATES: Accesses = Accesses::of(&[
    Access::Create,
    Access::Mkdir,
    Access::RenameTo,
    Access::Symlink,
]);

/// Accesses that make or remove a directory.
const DIRECTORY_OPS: Accesses = Accesses::of(&[Access::Mkdir, Access::Rmdir]);

/// Everything recorded about one path, and what it needs.
#[derive(Debug)]
struct Recorded<'r> {
    /// Exact bytes, canonical; once [`decide`] has found the directories, a directory's with
    /// a trailing `/`.
    path: Cow<'r, [u8]>,
    access: Accesses,
    /// The fewest permissions that cover `access`, less (once the abstractions are chosen)
    /// what they grant.
    perms: Perms,
}

impl Recorded<'_> {
    /// Created by the workload (and not given away by a chown): an `owner` rule.
    fn is_owned(&self) -> bool {
        self.access.intersects(CREATES) && !self.access.contains(Access::Chown)
    }
}

/// Every recorded path (exact bytes) once, sorted, with all its accesses: the files, and
/// the programs executed by the names they were executed as (for a script that is the only
/// record of its execution: the executed file the kernel reports is its interpreter).
fn recorded_paths<'r>(
    files: &'r [FileAccess],
    executables: &'r [Executable],
    notes: &mut BTreeSet<Note>,
) -> Result<Vec<Recorded<'r>>, AppArmorPolicyError> {
    let pieces = in_parallel(files, |_, files| {
        let mut recorded = Vec::with_capacity(files.len());
        let mut not_paths = Vec::new();
        for file in files {
            let path = exact_bytes(file)?;
            if !is_canonical(&path) {
                not_paths.push(path.into_owned());
                continue;
            }
            recorded.push(Recorded {
                path,
                access: file.access,
                perms: perms_for(file.access),
            });
        }
        Ok((recorded, not_paths))
    });
    let mut recorded = Vec::new();
    // Pieces in order: the first bad file is the one reported.
    for piece in pieces {
        let (piece, not_paths) = piece?;
        notes.extend(not_paths.into_iter().map(|path| Note::NotAPath { path }));
        concatenate(&mut recorded, piece);
    }
    recorded.reserve(executables.len());
    for executable in executables {
        let path = executable.path.as_bytes();
        // Names that are not UTF-8 are not exact here; the executed file is in `files`.
        if executable.path.contains('\u{fffd}') || !is_canonical(path) {
            continue;
        }
        recorded.push(Recorded {
            path: Cow::Borrowed(path),
            access: Accesses::of(&[Access::Exec]),
            perms: perms_for(Accesses::of(&[Access::Exec])),
        });
    }
    // Recordings list their files sorted: the sort mostly confirms the order.
    recorded.sort_by(|a, b| a.path.cmp(&b.path));
    recorded.dedup_by(|later, kept| {
        let same = later.path == kept.path;
        if same {
            kept.access = kept.access.union(later.access);
            kept.perms = kept.perms.union(later.perms);
        }
        same
    });
    Ok(recorded)
}

/// The pattern AppArmor's generalisation makes of one recorded path (a directory's with its
/// trailing `/`), given the canonical paths the workload made and those it both made and
/// removed (without trailing `/`, see [`run_names`]), and the rules that shaped it. For other
/// outputs (Landlock) that must vary exactly where AppArmor does; they call this rather than
/// repeat the rules.
pub(crate) fn generalise_path(
    path: &[u8],
    access: Accesses,
    made: &BTreeSet<&[u8]>,
    transient: &BTreeSet<&[u8]>,
) -> (Pattern, Generalisations) {
    let mut notes = BTreeSet::new();
    generalise_run(path, perms_for(access), made, transient, &mut notes)
}

/// The names a run made (created, made as directories or links, or renamed to), and those it
/// both made and removed, from (path, accesses) pairs: what [`generalise_path`] takes.
pub(crate) fn run_names<'p>(
    files: impl Iterator<Item = (&'p [u8], Accesses)> + Clone,
) -> (BTreeSet<&'p [u8]>, BTreeSet<&'p [u8]>) {
    const MADE: Accesses = Accesses::of(&[Access::Create, Access::Mkdir, Access::Symlink]);
    const REMOVED: Accesses = Accesses::of(&[Access::Unlink, Access::Rmdir, Access::RenameFrom]);
    let strip = |path: &'p [u8]| path.strip_suffix(b"/").unwrap_or(path);
    let made = files
        .clone()
        .filter(|(_, access)| access.intersects(MAKES_NAME))
        .map(|(path, _)| strip(path))
        .collect();
    let transient = files
        .filter(|(_, access)| access.intersects(MADE) && access.intersects(REMOVED))
        .map(|(path, _)| strip(path))
        .collect();
    (made, transient)
}

/// The path's exact bytes ([`FileAccess::exact_bytes`]), a bad encoding as this module's
/// error.
pub(crate) fn exact_bytes(file: &FileAccess) -> Result<Cow<'_, [u8]>, AppArmorPolicyError> {
    file.exact_bytes()
        .map_err(|BadPathHex { path, hex }| AppArmorPolicyError::BadPathHex { path, hex })
}

/// Absolute, without empty, `.` or `..` components (a trailing `/` is allowed): the form the
/// kernel gives and AppArmor matches. Anything else cannot name a file AppArmor checks.
pub(crate) fn is_canonical(path: &[u8]) -> bool {
    let Some(rest) = path.strip_prefix(b"/") else {
        return false;
    };
    if rest.is_empty() {
        return true;
    }
    let rest = rest.strip_suffix(b"/").unwrap_or(rest);
    rest.split(|&b| b == b'/')
        .all(|c| !c.is_empty() && c != b"." && c != b"..")
}

/// Which recorded paths (sorted, as from [`recorded_paths`]) are directories: made or
/// removed as one, or with recorded paths below.
fn directories(recorded: &[Recorded<'_>]) -> Vec<bool> {
    let mut is_dir = vec![false; recorded.len()];
    // Files of one directory come together: their ancestors are looked up once.
    let mut ancestors_done: &[u8] = b"";
    for (i, rec) in recorded.iter().enumerate() {
        let path = &*rec.path;
        if path.ends_with(b"/") {
            // Recorded with a trailing slash: the slash is kept as it is.
            continue;
        }
        if rec.access.intersects(DIRECTORY_OPS) {
            is_dir[i] = true;
        }
        let parent = &path[..path.iter().rposition(|&b| b == b'/').unwrap_or(0)];
        if parent == ancestors_done {
            continue;
        }
        ancestors_done = parent;
        // Every proper ancestor of a recorded path is a directory.
        for (end, &b) in path.iter().enumerate().skip(1) {
            if b == b'/' {
                let ancestor = &path[..end];
                if let Ok(at) = recorded.binary_search_by(|r| (*r.path).cmp(ancestor)) {
                    is_dir[at] = true;
                }
            }
        }
    }
    is_dir
}

// ---------------------------------------------------------------------------------------
// Attachment and name

/// The recorded command's executable as AppArmor attaches to it: the path the kernel
/// executed, symlinks resolved, in exact bytes. The command's argv[0] is found in the
/// executables list (the names as executed); the executed files (`exec` accesses, resolved by
/// the kernel) give its resolved path: the same text, or else, for a symlink, the one
/// executed file no name matches. A merged recording has no argv[0]: its one executed file,
/// if it has only one.
fn attachment(
    recording: &Recording,
    files: &[FileAccess],
    notes: &mut BTreeSet<Note>,
) -> Option<Vec<u8>> {
    // A NUL cannot be matched (docs/apparmor.md); such a name is no attachment.
    let executed: Vec<(&FileAccess, Vec<u8>)> = files
        .iter()
        .filter(|f| f.access.contains(Access::Exec))
        .filter_map(|f| exact_bytes(f).ok().map(|bytes| (f, bytes.into_owned())))
        .filter(|(_, bytes)| is_canonical(bytes) && !bytes.contains(&0))
        .collect();
    let names: Vec<&str> = recording
        .executables
        .iter()
        .map(|e| e.path.as_str())
        .filter(|p| is_canonical(p.as_bytes()) && !p.contains('\0'))
        .collect();
    let no_attachment = |notes: &mut BTreeSet<Note>, why: &str| {
        notes.insert(Note::NoAttachment { why: why.into() });
        None
    };
    let argv0 = match &recording.target {
        Target::Command(argv) => argv.first()?.as_str(),
        Target::Cgroup(_) => return no_attachment(notes, "a cgroup was recorded, not a command"),
        Target::Merged(_) => {
            if let [(_, bytes)] = executed.as_slice() {
                return Some(bytes.clone());
            }
            match merged_argv0(recording, &names) {
                Some(argv0) => argv0,
                None => {
                    return no_attachment(
                        notes,
                        "a merged recording of different commands, with several executed programs",
                    )
                }
            }
        }
    };
    let found: Vec<&str> = if argv0.starts_with('/') {
        names.iter().copied().filter(|p| *p == argv0).collect()
    } else {
        let tail = format!("/{}", argv0.trim_start_matches("./"));
        names
            .iter()
            .copied()
            .filter(|p| p.ends_with(&tail))
            .collect()
    };
    let name = match found.as_slice() {
        [one] => *one,
        [] => {
            return no_attachment(
                notes,
                "the command's executable is not among the recorded executables",
            )
        }
        _ => {
            return no_attachment(
                notes,
                "several recorded executables match the command's name",
            )
        }
    };
    if let Some((_, bytes)) = executed.iter().find(|(f, _)| f.path == name) {
        return Some(bytes.clone());
    }
    // A symlink: its name is in the executables list, its target among the executed files.
    let unmatched_files: Vec<&Vec<u8>> = executed
        .iter()
        .filter(|(f, _)| !names.contains(&f.path.as_str()))
        .map(|(_, bytes)| bytes)
        .collect();
    let unmatched_names: Vec<&str> = names
        .iter()
        .copied()
        .filter(|n| !executed.iter().any(|(f, _)| f.path == *n))
        .collect();
    if let ([resolved], [_]) = (unmatched_files.as_slice(), unmatched_names.as_slice()) {
        return Some((*resolved).clone());
    }
    if name.contains('\u{fffd}') {
        return no_attachment(
            notes,
            "the executable's name is not UTF-8 and its exact bytes were not recorded",
        );
    }
    Some(name.as_bytes().to_vec())
}

/// The generalisations that stand for names which differ from one run of an unchanged
/// workload to the next (`home` and `library-version` name what the machine holds, and
/// `dir-glob` how many files there were: those are real changes).
pub const RUN_VARYING: [Generalisation; 4] = [
    Generalisation::ProcPid,
    Generalisation::TempName,
    Generalisation::ContentAddress,
    Generalisation::TmpFile,
];

/// Recorded paths whose names vary from run to run, each with the pattern generation makes
/// of it (by the same rules, with the same evidence of what the workload made and removed),
/// so that comparing two runs compares what they would allow (`diff`), not their temporary
/// names. Paths no run-varying rule touched are not in the map.
pub fn run_varying_patterns(recording: &Recording) -> BTreeMap<Vec<u8>, Pattern> {
    let Some(files) = recording.files.as_ref() else {
        return BTreeMap::new();
    };
    let exact: Vec<(Vec<u8>, Accesses)> = files
        .iter()
        .filter_map(|f| exact_bytes(f).ok().map(|b| (b.into_owned(), f.access)))
        .collect();
    const MADE: Accesses = Accesses::of(&[Access::Create, Access::Mkdir, Access::Symlink]);
    const REMOVED: Accesses = Accesses::of(&[Access::Unlink, Access::Rmdir, Access::RenameFrom]);
    let made: BTreeSet<&[u8]> = exact
        .iter()
        .filter(|(_, a)| a.intersects(MAKES_NAME))
        .map(|(p, _)| p.strip_suffix(b"/").unwrap_or(p))
        .collect();
    let transient: BTreeSet<&[u8]> = exact
        .iter()
        .filter(|(_, a)| a.intersects(MADE) && a.intersects(REMOVED))
        .map(|(p, _)| p.strip_suffix(b"/").unwrap_or(p))
        .collect();
    let mut notes = BTreeSet::new();
    let mut out = BTreeMap::new();
    for (path, _) in &exact {
        let (pattern, rules) =
            generalise_run(path, Perms::default(), &made, &transient, &mut notes);
        if RUN_VARYING.iter().any(|&rule| rules.contains(rule)) {
            out.insert(path.clone(), pattern);
        }
    }
    out
}

/// The program every merged run was started as: the runs' command lines (kept as text, the
/// arguments joined by spaces) are all the same, and exactly one recorded executable's name
/// starts them. `merge` then `generate` of runs of one workload attaches like one run does.
fn merged_argv0<'n>(recording: &Recording, names: &[&'n str]) -> Option<&'n str> {
    let runs = &recording.runs;
    let target = &runs.first()?.target;
    if runs.iter().any(|run| run.target != *target) {
        return None;
    }
    let starts = |name: &&&str| {
        target
            .strip_prefix(**name)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with(' '))
    };
    match names.iter().filter(starts).collect::<Vec<_>>().as_slice() {
        [one] => Some(**one),
        _ => None,
    }
}

/// Where the attachment is a symbolic link (`/bin/sh`, a `python3` beside `python3.11`): the
/// kernel attaches a profile by the path of the file it executes, every link resolved, so a
/// profile attached to the link's name would confine nothing (seen in the VM tests). The
/// caller resolves (this wing does not read the filesystem); the resolved path is taken only
/// when the recording shows that very file executed, so what the machine holds now cannot
/// widen the profile. Returns whether the attachment changed.
pub fn resolve_attachment(
    policy: &mut AppArmorPolicy,
    recording: &Recording,
    resolve: impl Fn(&[u8]) -> Option<Vec<u8>>,
) -> bool {
    let Some(current) = policy.attachment.as_ref().filter(|p| p.is_literal()) else {
        return false;
    };
    let bytes: Vec<u8> = current
        .tokens()
        .map(|t| match t {
            Token::Byte(b) => b,
            _ => unreachable!("a literal pattern holds bytes only"),
        })
        .collect();
    let Some(resolved) = resolve(&bytes).filter(|r| *r != bytes) else {
        return false;
    };
    let executed = recording.files.iter().flatten().any(|f| {
        f.access.contains(Access::Exec)
            && exact_bytes(f).is_ok_and(|b| *b == *resolved && is_canonical(&b))
    });
    if executed {
        policy.attachment = Some(Pattern::literal(&resolved));
    }
    executed
}

/// Letters, digits, `.`, `_`, `-`, starting with a letter or digit, at most 64: a name that
/// needs no quoting and reads the same everywhere (`ps -Z`, logs).
fn valid_name(name: &str) -> bool {
    name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

/// The executable's file name (or the cgroup's directory name), made a valid name: other
/// characters become `_`.
fn default_name(attachment: Option<&[u8]>, target: &Target) -> String {
    let source: Vec<u8> = match (attachment, target) {
        (Some(path), _) => path.to_vec(),
        (None, Target::Command(argv)) => argv.first().cloned().unwrap_or_default().into_bytes(),
        (None, Target::Cgroup(path)) => path.clone().into_bytes(),
        (None, Target::Merged(_)) => Vec::new(),
    };
    let file_name = source
        .rsplit(|&b| b == b'/')
        .find(|c| !c.is_empty())
        .unwrap_or_default();
    let mut name: String = file_name
        .iter()
        .map(|&b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-') {
                char::from(b)
            } else {
                '_'
            }
        })
        .collect();
    name = name
        .trim_start_matches(|c: char| !c.is_ascii_alphanumeric())
        .chars()
        .take(64)
        .collect();
    if name.is_empty() {
        "leastpriv".into()
    } else {
        name
    }
}

// ---------------------------------------------------------------------------------------
// Capabilities and network

fn capability_rules(
    recording: &Recording,
    notes: &mut BTreeSet<Note>,
) -> BTreeMap<String, BTreeSet<ExePath>> {
    let Ok(policy) = capabilities::decide(recording) else {
        notes.insert(Note::CapabilitiesNotRecorded);
        return BTreeMap::new();
    };
    let mut rules = BTreeMap::new();
    for (name, by) in policy.add {
        if name.parse::<caps::Capability>().is_err() {
            notes.insert(Note::Capability { name });
            continue;
        }
        let short = name
            .strip_prefix("CAP_")
            .unwrap_or(&name)
            .to_ascii_lowercase();
        rules.insert(short, by);
    }
    rules
}

/// Address families AppArmor 3.0 names in `network` rules.
const DOMAINS: &[&str] = &[
    "unix",
    "inet",
    "ax25",
    "ipx",
    "appletalk",
    "netrom",
    "bridge",
    "atmpvc",
    "x25",
    "inet6",
    "rose",
    "netbeui",
    "security",
    "key",
    "netlink",
    "packet",
    "ash",
    "econet",
    "atmsvc",
    "rds",
    "sna",
    "irda",
    "pppox",
    "wanpipe",
    "llc",
    "ib",
    "mpls",
    "can",
    "tipc",
    "bluetooth",
    "iucv",
    "rxrpc",
    "isdn",
    "phonet",
    "ieee802154",
    "caif",
    "alg",
    "nfc",
    "vsock",
    "kcm",
    "qipcrtr",
    "smc",
    "xdp",
    "mctp",
];
/// Socket types AppArmor names.
const TYPES: &[&str] = &["stream", "dgram", "seqpacket", "rdm", "raw", "packet"];

fn network_rules(
    sockets: Option<&[SocketUse]>,
    notes: &mut BTreeSet<Note>,
) -> BTreeMap<(&'static str, &'static str), BTreeSet<ExePath>> {
    let Some(sockets) = sockets else {
        notes.insert(Note::SocketsNotRecorded);
        return BTreeMap::new();
    };
    let mut rules: BTreeMap<_, BTreeSet<ExePath>> = BTreeMap::new();
    for socket in sockets {
        let family = socket
            .family
            .strip_prefix("AF_")
            .map(str::to_ascii_lowercase)
            .map(|f| match f.as_str() {
                "local" | "file" => "unix".to_owned(),
                "route" => "netlink".to_owned(),
                _ => f,
            });
        let domain = family.and_then(|f| DOMAINS.iter().find(|d| **d == f).copied());
        let kind = socket
            .kind
            .strip_prefix("SOCK_")
            .map(str::to_ascii_lowercase)
            .and_then(|k| TYPES.iter().find(|t| **t == k).copied());
        match (domain, kind) {
            (Some(domain), Some(kind)) => {
                rules
                    .entry((domain, kind))
                    .or_default()
                    .extend(socket.by.iter().cloned());
            }
            _ => {
                notes.insert(Note::Socket {
                    family: socket.family.clone(),
                    kind: socket.kind.clone(),
                });
            }
        }
    }
    rules
}

/// Chooses the abstractions and takes what they grant out of each path's permissions.
fn include_abstractions(needs: &mut [Recorded<'_>]) -> BTreeMap<&'static str, AbstractionUse> {
    // Each path is matched once against every abstraction's rules. Most paths of a large
    // recording match none: only the others are listed, by index.
    let rules = Rules::new(ABSTRACTIONS.iter().map(|a| a.rules));
    let grants: Vec<(usize, Box<[Perms]>)> = in_parallel(needs, |start, needs| {
        needs
            .iter()
            .enumerate()
            .filter_map(|(i, need)| Some((start + i, rules.granted_by_source(&need.path)?)))
            .collect::<Vec<_>>()
    })
    .into_iter()
    .flatten()
    .collect();
    let base = 0;
    debug_assert_eq!(ABSTRACTIONS[base].name, "base");
    let mut included = Vec::new();
    for (i, abstraction) in ABSTRACTIONS.iter().enumerate() {
        let why = match abstraction.trigger {
            Trigger::Always => Some(Inclusion::Always),
            Trigger::Read(path) => needs
                .iter()
                .any(|n| n.access.contains(Access::Read) && *n.path == *path.as_bytes())
                .then_some(Inclusion::Trigger(path)),
            Trigger::Covers => grants
                .iter()
                .any(|(at, granted)| {
                    let rest = needs[*at].perms.minus(granted[base]);
                    !rest.is_empty() && rest.minus(granted[i]).is_empty()
                })
                .then_some(Inclusion::Covers),
        };
        if let Some(why) = why {
            included.push((i, abstraction.name, why));
        }
    }
    let mut uses = BTreeMap::new();
    for &(_, name, why) in &included {
        uses.insert(name, AbstractionUse { why, covered: 0 });
    }
    let mut grants = grants.iter().peekable();
    for (at, need) in needs.iter_mut().enumerate() {
        let granted = grants
            .next_if(|(granted_at, _)| *granted_at == at)
            .map(|(_, g)| g);
        let mut covered_by = None;
        if let Some(granted) = granted {
            for &(i, name, _) in &included {
                if granted[i].is_empty() {
                    continue;
                }
                let rest = need.perms.minus(granted[i]);
                if rest != need.perms && covered_by.is_none() && rest.is_empty() {
                    covered_by = Some(name);
                }
                need.perms = rest;
                if need.perms.is_empty() {
                    break;
                }
            }
        }
        if need.perms.is_empty() {
            // Attributed to the abstraction that covered the rest (or all) of it.
            let name = covered_by.unwrap_or("base");
            if let Some(use_) = uses.get_mut(name) {
                use_.covered += 1;
            }
        }
    }
    uses
}
