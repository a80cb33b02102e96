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

use std::{
    borrow::Cow,
    collections::{hash_map::Entry, BTreeMap, BTreeSet, HashMap},
    fmt,
};

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

/// A variable from `tunables/global`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Var {
    /// `@{HOME}`: `/home/*/` and `/root/`.
    Home,
    /// `@{pid}`: a process id.
    Pid,
    /// `@{tid}`: a thread id.
    Tid,
}

impl Var {
    /// Every variable, in order (`Var as u8` indexes it).
    const ALL: [Var; 3] = [Var::Home, Var::Pid, Var::Tid];

    /// The name between `@{` and `}`.
    pub fn name(self) -> &'static str {
        match self {
            Var::Home => "HOME",
            Var::Pid => "pid",
            Var::Tid => "tid",
        }
    }
}

/// One element of a path pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Token {
    /// A byte that matches itself only (whatever it is: the renderer escapes it).
    Byte(u8),
    Var(Var),
    /// `?`: one character other than `/`.
    AnyChar,
    /// `*`: any characters other than `/` (at least one as a whole path component).
    AnyRun,
}

impl Token {
    /// Starts the two-byte code of every token but a byte below it. It is the greatest byte,
    /// so the tokens it starts order after the bytes, as the tokens do.
    const ESCAPE: u8 = 0xff;

    /// Appends the token's code: its byte, or [`Self::ESCAPE`] and a byte that orders the
    /// tokens. That second byte is never `/` or the escape itself, so every `/` in a code is a
    /// `/` token and every escape starts a token.
    fn encode(self, code: &mut Codes) {
        match self {
            Token::Byte(b) if b < Self::ESCAPE => code.push(b),
            Token::Byte(_) => code.extend([Self::ESCAPE, 0]),
            Token::Var(var) => code.extend([Self::ESCAPE, 1 + var as u8]),
            Token::AnyChar => code.extend([Self::ESCAPE, 4]),
            Token::AnyRun => code.extend([Self::ESCAPE, 5]),
        }
    }

    /// The first token of a non-empty code, and its length.
    fn decode(code: &[u8]) -> (Token, usize) {
        match code {
            [Self::ESCAPE, 0, ..] => (Token::Byte(Self::ESCAPE), 2),
            [Self::ESCAPE, n @ 1..=3, ..] => (Token::Var(Var::ALL[usize::from(*n - 1)]), 2),
            [Self::ESCAPE, 4, ..] => (Token::AnyChar, 2),
            [Self::ESCAPE, 5, ..] => (Token::AnyRun, 2),
            [Self::ESCAPE, ..] | [] => unreachable!("only `encode` makes codes"),
            [b, ..] => (Token::Byte(*b), 1),
        }
    }

    /// Every token of a code.
    fn decode_all(mut code: &[u8]) -> impl Iterator<Item = Token> + '_ {
        std::iter::from_fn(move || {
            if code.is_empty() {
                return None;
            }
            let (token, len) = Token::decode(code);
            code = &code[len..];
            Some(token)
        })
    }
}

/// A path as AppArmor should match it. Made of literal bytes except where a generalisation
/// rule put a variable or a glob; a trailing `/` means a directory.
///
/// Held as its tokens' codes ([`Token::encode`]), a byte for each byte: comparing, sorting and
/// hashing the patterns of a million paths are then operations on bytes (`memcmp`), not token
/// by token, and order exactly as the tokens do.
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Pattern(Codes);

/// A pattern's codes: those of most paths are held inline, so a million patterns are not a
/// million allocations.
type Codes = smallvec::SmallVec<[u8; 40]>;

impl Pattern {
    /// A pattern that matches exactly these bytes.
    pub fn literal(bytes: &[u8]) -> Pattern {
        let mut pattern = Pattern::with_capacity(bytes.len());
        pattern.push_bytes(bytes);
        pattern
    }

    /// Room for this many tokens that are bytes.
    fn with_capacity(tokens: usize) -> Pattern {
        Pattern(Codes::with_capacity(tokens))
    }

    pub fn push(&mut self, token: Token) {
        token.encode(&mut self.0);
    }

    /// Pushes each byte as a [`Token::Byte`]: copied whole when none needs an escape.
    fn push_bytes(&mut self, bytes: &[u8]) {
        if bytes.contains(&Token::ESCAPE) {
            self.extend(bytes.iter().map(|&b| Token::Byte(b)));
        } else {
            self.0.extend_from_slice(bytes);
        }
    }

    pub fn tokens(&self) -> impl Iterator<Item = Token> + '_ {
        Token::decode_all(&self.0)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn last(&self) -> Option<Token> {
        // A second byte is never the escape: an escape before the last byte starts its token.
        match self.0.as_slice() {
            [.., Token::ESCAPE, _] => Some(Token::decode(&self.0[self.0.len() - 2..]).0),
            [.., b] => Some(Token::Byte(*b)),
            [] => None,
        }
    }

    pub fn is_dir(&self) -> bool {
        self.last() == Some(Token::Byte(b'/'))
    }

    /// Whether the pattern holds no variable or glob.
    pub fn is_literal(&self) -> bool {
        self.tokens().all(|t| matches!(t, Token::Byte(_)))
    }

    /// Split after the last `/`, as codes: (directory part, last component).
    fn split_last(&self) -> (&[u8], &[u8]) {
        let cut = self.0.iter().rposition(|&b| b == b'/').map_or(0, |i| i + 1);
        self.0.split_at(cut)
    }
}

impl Extend<Token> for Pattern {
    fn extend<I: IntoIterator<Item = Token>>(&mut self, tokens: I) {
        for token in tokens {
            self.push(token);
        }
    }
}

impl FromIterator<Token> for Pattern {
    fn from_iter<I: IntoIterator<Item = Token>>(tokens: I) -> Pattern {
        let mut pattern = Pattern::default();
        pattern.extend(tokens);
        pattern
    }
}

impl std::fmt::Debug for Pattern {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.debug_list().entries(self.tokens()).finish()
    }
}

/// File permissions, each the AppArmor letter(s) of the same name.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Perms {
    /// `r`
    pub read: bool,
    /// `w` (which also covers appending, creating, deleting, chmod and chown)
    pub write: bool,
    /// `a`: append only (never together with `w`)
    pub append: bool,
    /// `l`: make a hard link with this name
    pub link: bool,
    /// `k`: lock
    pub lock: bool,
    /// `m`: map executable
    pub mmap: bool,
    /// `ix`: execute, inheriting this profile
    pub exec: bool,
}

impl Perms {
    /// Parses AppArmor letters (`mrix`, `rw`); used for the embedded abstraction rules.
    fn parse(letters: &str) -> Perms {
        let mut p = Perms::default();
        for c in letters.chars() {
            match c {
                'r' => p.read = true,
                'w' => p.write = true,
                'a' => p.append = true,
                'l' => p.link = true,
                'k' => p.lock = true,
                'm' => p.mmap = true,
                'x' => p.exec = true,
                'i' => {}
                _ => panic!("unknown permission letter {c:?} in an embedded rule"),
            }
        }
        p
    }

    pub fn is_empty(self) -> bool {
        self == Perms::default()
    }

    /// Both sets; `w` absorbs `a` (they cannot be written together, and `w` allows appending).
    pub fn union(self, other: Perms) -> Perms {
        let write = self.write || other.write;
        Perms {
            read: self.read || other.read,
            write,
            append: !write && (self.append || other.append),
            link: self.link || other.link,
            lock: self.lock || other.lock,
            mmap: self.mmap || other.mmap,
            exec: self.exec || other.exec,
        }
    }

    /// What `self` needs that `granted` does not give.
    pub fn minus(self, granted: Perms) -> Perms {
        Perms {
            read: self.read && !granted.read,
            write: self.write && !granted.write,
            append: self.append && !granted.append && !granted.write,
            link: self.link && !granted.link,
            lock: self.lock && !granted.lock,
            mmap: self.mmap && !granted.mmap,
            exec: self.exec && !granted.exec,
        }
    }

    /// Whether nothing but reading, mapping, executing and locking is asked.
    fn is_read_only(self) -> bool {
        !(self.write || self.append || self.link)
    }
}

/// A generalisation rule, named in the profile next to each rule it made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Generalisation {
    /// `/home/USER/…` and `/root/…` → `@{HOME}/…`.
    Home,
    /// `/proc/PID/…` → `/proc/@{pid}/…`, `…/task/TID/…` → `…/task/@{tid}/…`.
    ProcPid,
    /// The random part of a name the workload made → one `?` per character.
    TempName,
    /// `libfoo.so.1.2.3` → `libfoo.so*`.
    LibraryVersion,
    /// Many files in one directory with the same access → `dir/*`.
    DirGlob,
}

impl Generalisation {
    /// Every rule, in order (`Generalisation as u8` indexes it).
    const ALL: [Generalisation; 5] = [
        Generalisation::Home,
        Generalisation::ProcPid,
        Generalisation::TempName,
        Generalisation::LibraryVersion,
        Generalisation::DirGlob,
    ];

    /// The name used in the profile's comments and in docs/apparmor.md.
    pub fn name(self) -> &'static str {
        match self {
            Generalisation::Home => "home",
            Generalisation::ProcPid => "proc-pid",
            Generalisation::TempName => "temp-name",
            Generalisation::LibraryVersion => "library-version",
            Generalisation::DirGlob => "dir-glob",
        }
    }
}

/// A set of generalisation rules, as bits: a million file rules each carry one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Generalisations(u8);

impl Generalisations {
    pub fn insert(&mut self, rule: Generalisation) {
        self.0 |= 1 << rule as u8;
    }

    pub fn contains(self, rule: Generalisation) -> bool {
        self.0 & (1 << rule as u8) != 0
    }

    pub fn union(self, other: Generalisations) -> Generalisations {
        Generalisations(self.0 | other.0)
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The rules in order.
    pub fn iter(self) -> impl Iterator<Item = Generalisation> {
        Generalisation::ALL
            .into_iter()
            .filter(move |&rule| self.contains(rule))
    }
}

impl FromIterator<Generalisation> for Generalisations {
    fn from_iter<I: IntoIterator<Item = Generalisation>>(rules: I) -> Generalisations {
        let mut set = Generalisations::default();
        for rule in rules {
            set.insert(rule);
        }
        set
    }
}

/// One file rule and the evidence for it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileRule {
    pub perms: Perms,
    /// The generalisation rules that made the pattern (empty: the recorded path itself).
    pub generalised: Generalisations,
    /// How many recorded paths the rule stands for.
    pub paths: usize,
}

impl FileRule {
    /// Takes in another rule for the same pattern: AppArmor unions the permissions of every
    /// rule that matches anyway.
    fn absorb(&mut self, other: FileRule) {
        self.perms = self.perms.union(other.perms);
        self.generalised = self.generalised.union(other.generalised);
        self.paths += other.paths;
    }
}

/// Where a file rule applies: its pattern, and whether only to files the task owns.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FileKey {
    pub pattern: Pattern,
    /// `owner`: only files whose owner is the task's fsuid.
    pub owner: bool,
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

/// Something the user should know about the profile: a name that could not be matched
/// exactly, a recorded socket or capability that cannot be written, missing data.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Note {
    /// A path holds a byte AppArmor cannot match (NUL): it is matched by a single `?`.
    Inexact { path: Vec<u8> },
    /// A recorded path that is not a canonical absolute path (`.`/`..` or empty components,
    /// or relative): no rule names it.
    NotAPath { path: Vec<u8> },
    /// The executable could not be told from the recording: the profile has no attachment
    /// and applies only when asked for by name.
    NoAttachment { why: String },
    /// A socket family or type without an AppArmor name: not allowed.
    Socket { family: String, kind: String },
    /// A capability AppArmor does not know: not allowed.
    Capability { name: String },
    /// The recording has no capability checks: the profile allows no capability.
    CapabilitiesNotRecorded,
    /// The recording has no sockets: the profile allows no network access.
    SocketsNotRecorded,
}

impl fmt::Display for Note {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Note::Inexact { path } => write!(
                f,
                "path \"{}\" holds a NUL byte, which AppArmor cannot match; each is matched by a single `?`",
                path.escape_ascii()
            ),
            Note::NotAPath { path } => write!(
                f,
                "recorded path \"{}\" is not a canonical absolute path; no rule names it",
                path.escape_ascii()
            ),
            Note::NoAttachment { why } => write!(
                f,
                "the profile has no attachment ({why}); it applies only when selected by name"
            ),
            Note::Socket { family, kind } => write!(
                f,
                "socket {} {} has no AppArmor network rule; it is not allowed",
                family.escape_debug(),
                kind.escape_debug()
            ),
            Note::Capability { name } => write!(
                f,
                "capability {} is unknown to AppArmor; it is not allowed",
                name.escape_debug()
            ),
            Note::CapabilitiesNotRecorded => write!(
                f,
                "the recording holds no capability checks; the profile allows no capability"
            ),
            Note::SocketsNotRecorded => write!(
                f,
                "the recording holds no sockets; the profile allows no network access"
            ),
        }
    }
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

    let made = made_paths(&recorded);
    let pieces = in_parallel(&recorded, |_, recorded| {
        let mut notes = BTreeSet::new();
        let mut rules = Vec::with_capacity(recorded.len());
        for rec in recorded.iter().filter(|rec| !rec.perms.is_empty()) {
            let (pattern, generalised) = generalise(&rec.path, rec.perms, &made, &mut notes);
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

/// Paths whose names the workload made or removed.
fn made_paths<'r>(recorded: &'r [Recorded<'_>]) -> BTreeSet<&'r [u8]> {
    recorded
        .iter()
        .filter(|rec| rec.access.intersects(MAKES_NAME))
        .map(|rec| rec.path.strip_suffix(b"/").unwrap_or(&rec.path))
        .collect()
}

/// The fewest permissions that cover the recorded accesses (AppArmor's own mapping: creating,
/// deleting, renaming, chmod and chown are `w`; the old name of a rename also needs `r`).
pub(crate) fn perms_for(access: Accesses) -> Perms {
    let mut p = Perms::default();
    for a in access.iter() {
        match a {
            Access::Read => p.read = true,
            Access::Append => p.append = true,
            Access::Exec => p.exec = true,
            Access::MmapExec => p.mmap = true,
            Access::Write
            | Access::Create
            | Access::Unlink
            | Access::RenameTo
            | Access::Mkdir
            | Access::Rmdir
            | Access::Symlink
            | Access::Chmod
            | Access::Chown => p.write = true,
            Access::RenameFrom => {
                p.read = true;
                p.write = true;
            }
            Access::Link => p.link = true,
            Access::Lock => p.lock = true,
        }
    }
    Perms::default().union(p)
}

// ---------------------------------------------------------------------------------------
// Generalisation

/// The pattern for one recorded path, and the rules that shaped it.
fn generalise(
    path: &[u8],
    perms: Perms,
    made: &BTreeSet<&[u8]>,
    notes: &mut BTreeSet<Note>,
) -> (Pattern, Generalisations) {
    let mut rules = Generalisations::default();
    let is_dir = path.len() > 1 && path.ends_with(b"/");
    let body = if is_dir {
        &path[..path.len() - 1]
    } else {
        path
    };
    // Components after the leading '/'.
    let comps: Vec<&[u8]> = if body == b"/" {
        vec![]
    } else {
        body[1..].split(|&b| b == b'/').collect()
    };
    let mut tokens = Pattern::with_capacity(path.len() + 1);
    let mut i = 0;
    // `home`: /home/USER and /root are @{HOME} (which ends in '/').
    match comps.as_slice() {
        [b"home", user, ..] if !user.is_empty() => {
            tokens.push(Token::Var(Var::Home));
            rules.insert(Generalisation::Home);
            i = 2;
        }
        [b"root", ..] => {
            tokens.push(Token::Var(Var::Home));
            rules.insert(Generalisation::Home);
            i = 1;
        }
        // `proc-pid`: /proc/PID and /proc/PID/task/TID (self and thread-self stay).
        [b"proc", pid, rest @ ..] if is_pid(pid) => {
            tokens.extend(b"/proc/".iter().map(|&b| Token::Byte(b)));
            tokens.push(Token::Var(Var::Pid));
            rules.insert(Generalisation::ProcPid);
            i = 2;
            if let [b"task", tid, ..] = rest {
                if is_pid(tid) {
                    tokens.extend(b"/task/".iter().map(|&b| Token::Byte(b)));
                    tokens.push(Token::Var(Var::Tid));
                    i = 4;
                }
            }
        }
        _ => {}
    }
    let mut inexact = false;
    // Where the component after the leading `/` ends in `body`.
    let mut end = comps[..i].iter().map(|c| c.len() + 1).sum::<usize>();
    for (n, comp) in comps.iter().enumerate().skip(i) {
        tokens.push(Token::Byte(b'/'));
        let last = n + 1 == comps.len();
        end += comp.len() + 1;
        // The path up to and including this component, to ask whether the workload made it.
        let prefix = &body[..end];
        // Only a name the workload made itself: a random-looking directory it merely worked
        // in (a checkout in /tmp/ab12cd, say) stays literal, or the rule would widen to
        // every directory of that shape.
        let made_here = made.contains(prefix);
        if let Some(random) = made_here.then(|| temp_name_random_part(comp)).flatten() {
            literal(&comp[..random.start], &mut tokens, &mut inexact);
            tokens.extend(std::iter::repeat_n(Token::AnyChar, random.len()));
            literal(&comp[random.end..], &mut tokens, &mut inexact);
            rules.insert(Generalisation::TempName);
        } else if let Some(stem) =
            library_stem(comp).filter(|_| last && !is_dir && perms.is_read_only())
        {
            literal(stem, &mut tokens, &mut inexact);
            tokens.push(Token::AnyRun);
            rules.insert(Generalisation::LibraryVersion);
        } else {
            literal(comp, &mut tokens, &mut inexact);
        }
    }
    if is_dir || tokens.is_empty() || tokens.last() == Some(Token::Var(Var::Home)) {
        // A directory (also the root, and a home directory itself) ends in a slash.
        tokens.push(Token::Byte(b'/'));
    }
    if inexact {
        notes.insert(Note::Inexact {
            path: path.to_vec(),
        });
    }
    (tokens, rules)
}

/// Literal bytes; NUL, which AppArmor cannot match, becomes one `?` (which never matches a
/// NUL either: the narrowest pattern there is).
fn literal(bytes: &[u8], tokens: &mut Pattern, inexact: &mut bool) {
    for (n, run) in bytes.split(|&b| b == 0).enumerate() {
        if n > 0 {
            *inexact = true;
            tokens.push(Token::AnyChar);
        }
        tokens.push_bytes(run);
    }
}

/// A process or thread id as `@{pid}` matches it: 1 to 7 digits, no leading zero, at most
/// 4999999.
pub(crate) fn is_pid(s: &[u8]) -> bool {
    !s.is_empty()
        && s.len() <= 7
        && s.iter().all(u8::is_ascii_digit)
        && s[0] != b'0'
        && (s.len() < 7 || s[0] <= b'4')
}

/// The random part of a temporary name, as a byte range of the component:
/// - `tmp`/`temp` (any case), an optional `.`, `-` or `_`, then 6 or more of `[A-Za-z0-9_]`
///   (mkstemp, mktemp, Python's tempfile);
/// - or a name ending (before an optional extension) in a random-looking run after `.`, `-`
///   or `_` of 6 to 32 of `[A-Za-z0-9]`, or, without a separator, in 6 such characters
///   (mkstemp's `XXXXXX`): random-looking means letters and digits mixed, or both cases.
///
/// An optional extension (`.` and 1 to 8 letters or digits) stays literal.
fn temp_name_random_part(comp: &[u8]) -> Option<std::ops::Range<usize>> {
    let alnum = |b: &u8| b.is_ascii_alphanumeric();
    // The name before an extension first, then the whole name.
    let mut candidates = [None, Some(comp.len())];
    if let Some(dot) = comp.iter().rposition(|&b| b == b'.') {
        let ext = &comp[dot + 1..];
        if (1..=8).contains(&ext.len()) && ext.iter().all(alnum) {
            candidates[0] = Some(dot);
        }
    }
    for end in candidates.into_iter().flatten() {
        let stem = &comp[..end];
        // tmp / temp prefix, in any case.
        for prefix in [&b"temp"[..], b"tmp"] {
            let rest = (stem.len() >= prefix.len()
                && stem[..prefix.len()].eq_ignore_ascii_case(prefix))
            .then(|| &stem[prefix.len()..]);
            if let Some(rest) = rest {
                let sep = usize::from(matches!(rest.first(), Some(b'.' | b'-' | b'_')));
                let random = &rest[sep..];
                if random.len() >= 6 && random.iter().all(|b| alnum(b) || *b == b'_') {
                    let start = prefix.len() + sep;
                    return Some(start..end);
                }
            }
        }
        // A random-looking run after a separator.
        let run_start = stem.iter().rposition(|b| !alnum(b)).map_or(0, |i| i + 1);
        let run = &stem[run_start..];
        if run_start > 0
            && matches!(stem[run_start - 1], b'.' | b'-' | b'_')
            && (6..=32).contains(&run.len())
            && looks_random(run)
        {
            return Some(run_start..end);
        }
        // mkstemp's six characters after a lowercase word (`sedXXXXXX`, `ccXXXXXX`).
        let (word, tail) = run.split_at(run.len().saturating_sub(6));
        if run_start == 0
            && word.len() >= 2
            && word.iter().all(u8::is_ascii_lowercase)
            && looks_random(tail)
        {
            return Some(end - 6..end);
        }
        // A name that is all random-looking (Python's tempfile probes: `5vxlull0`).
        if run_start == 0 && (6..=32).contains(&run.len()) && looks_random(run) {
            return Some(0..end);
        }
    }
    None
}

/// Letters and digits mixed, or lower and upper case mixed.
fn looks_random(run: &[u8]) -> bool {
    let digit = run.iter().any(u8::is_ascii_digit);
    let lower = run.iter().any(u8::is_ascii_lowercase);
    let upper = run.iter().any(u8::is_ascii_uppercase);
    (digit && (lower || upper)) || (lower && upper)
}

/// `libfoo.so.1.2.3` → `libfoo.so` (a shared object name with a numeric version suffix).
fn library_stem(comp: &[u8]) -> Option<&[u8]> {
    let at = comp.windows(4).rposition(|w| w == b".so.")?;
    let version = &comp[at + 4..];
    let numeric = version
        .split(|&b| b == b'.')
        .all(|part| !part.is_empty() && part.iter().all(u8::is_ascii_digit));
    (at > 0 && numeric).then(|| &comp[..at + 3])
}

/// Replaces `threshold` or more files in one directory with the same permissions (and
/// `owner`) by one `dir/*` rule. Directories and names holding a variable are not counted.
/// `files` holds each pattern once.
fn glob_directories(
    mut files: Vec<(FileKey, FileRule)>,
    threshold: usize,
) -> BTreeMap<FileKey, FileRule> {
    if threshold == 0 {
        return files.into_iter().collect();
    }
    type Group<'k> = (&'k [u8], bool, Perms);
    type Groups<'k> = HashMap<Group<'k>, Vec<usize>, foldhash::fast::FixedState>;
    let mut groups: Groups = HashMap::default();
    /// A run's files by permissions (a directory's files have few sets of them).
    type ByPerms = Vec<(Perms, Vec<usize>)>;
    fn gather<'k>(groups: &mut Groups<'k>, (dir, owner): (&'k [u8], bool), run: ByPerms) {
        for (perms, members) in run {
            match groups.entry((dir, owner, perms)) {
                Entry::Vacant(entry) => {
                    entry.insert(members);
                }
                Entry::Occupied(entry) => entry.into_mut().extend(members),
            }
        }
    }
    // Rules come sorted, so a directory's files mostly follow one another: a run of them is
    // gathered before its directory is hashed, once for each set of permissions.
    let mut run: Option<((&[u8], bool), ByPerms)> = None;
    for (i, (key, rule)) in files.iter().enumerate() {
        let (dir, name) = key.pattern.split_last();
        if key.pattern.is_dir()
            || name.is_empty()
            || (name.contains(&Token::ESCAPE)
                && Token::decode_all(name).any(|token| matches!(token, Token::Var(_))))
        {
            continue;
        }
        let place = (dir, key.owner);
        match &mut run {
            Some((run_place, by_perms)) if *run_place == place => {
                match by_perms.iter_mut().find(|(perms, _)| *perms == rule.perms) {
                    Some((_, members)) => members.push(i),
                    None => by_perms.push((rule.perms, vec![i])),
                }
            }
            _ => {
                if let Some((run_place, by_perms)) =
                    run.replace((place, vec![(rule.perms, vec![i])]))
                {
                    gather(&mut groups, run_place, by_perms);
                }
            }
        }
    }
    if let Some((run_place, by_perms)) = run {
        gather(&mut groups, run_place, by_perms);
    }
    let globs: Vec<(FileKey, Vec<usize>)> = groups
        .into_iter()
        .filter(|(_, members)| members.len() >= threshold)
        .map(|((dir, owner, _), members)| {
            let mut tokens = Pattern(Codes::from_slice(dir));
            tokens.push(Token::AnyRun);
            let key = FileKey {
                pattern: tokens,
                owner,
            };
            (key, members)
        })
        .collect();
    let mut globbed = vec![false; files.len()];
    let mut glob_rules = Vec::with_capacity(globs.len());
    for (key, members) in globs {
        let mut rule = FileRule::default();
        for i in members {
            rule.absorb(std::mem::take(&mut files[i].1));
            globbed[i] = true;
        }
        rule.generalised.insert(Generalisation::DirGlob);
        glob_rules.push((key, rule));
    }
    let mut out: BTreeMap<FileKey, FileRule> = files
        .into_iter()
        .zip(globbed)
        .filter_map(|(file, globbed)| (!globbed).then_some(file))
        .collect();
    // Two globs of one directory (different access sets) are one rule. Absorbing is
    // commutative, so the order the groups come in does not change the result.
    for (key, rule) in glob_rules {
        out.entry(key).or_default().absorb(rule);
    }
    out
}

/// An `owner` rule whose permissions the rule without `owner` already gives is left out; one
/// that adds some keeps only those.
fn drop_redundant_owner_rules(files: &mut BTreeMap<FileKey, FileRule>) {
    let owned: Vec<FileKey> = files.keys().filter(|k| k.owner).cloned().collect();
    for key in owned {
        let plain = FileKey {
            pattern: key.pattern.clone(),
            owner: false,
        };
        let Some(granted) = files.get(&plain).map(|r| r.perms) else {
            continue;
        };
        let rule = files.get_mut(&key).expect("listed above");
        rule.perms = rule.perms.minus(granted);
        if rule.perms.is_empty() {
            let rule = files.remove(&key).expect("listed above");
            let plain = files.get_mut(&plain).expect("checked above");
            plain.generalised = plain.generalised.union(rule.generalised);
            plain.paths += rule.paths;
        }
    }
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
        Target::Command(argv) => argv.first()?,
        Target::Cgroup(_) => return no_attachment(notes, "a cgroup was recorded, not a command"),
        Target::Merged(_) => {
            return match executed.as_slice() {
                [(_, bytes)] => Some(bytes.clone()),
                _ => no_attachment(notes, "a merged recording with several executed programs"),
            };
        }
    };
    let found: Vec<&str> = if argv0.starts_with('/') {
        names.iter().copied().filter(|p| p == argv0).collect()
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

// ---------------------------------------------------------------------------------------
// Abstractions

/// When an abstraction other than `base` is included.
pub(crate) enum Trigger {
    /// `base`.
    Always,
    /// When this file was read (the subsystem is in use; what else it touches depends on the
    /// host's configuration, which the abstraction covers).
    Read(&'static str),
    /// When it covers a recorded access that `base` does not.
    Covers,
}

pub(crate) struct Abstraction {
    pub(crate) name: &'static str,
    pub(crate) trigger: Trigger,
    /// File rules (a subset of the abstraction's, variables expanded by hand), as
    /// (AppArmor glob, permission letters). A subset is safe: a path it covers, the real
    /// abstraction covers too.
    pub(crate) rules: &'static [(&'static str, &'static str)],
}

/// From AppArmor 3.0.8 (`/etc/apparmor.d/abstractions/`), with `@{etc_ro}` = `/{etc,usr/etc}`,
/// `@{run}` = `/{run,var/run}`, `@{PROC}` = `/proc`, `@{sys}` = `/sys`, `@{multiarch}` =
/// `*-linux-gnu*`. Rules with `owner` are left out.
pub(crate) const ABSTRACTIONS: &[Abstraction] = &[
    Abstraction {
        name: "base",
        trigger: Trigger::Always,
        rules: &[
            ("/dev/log", "w"),
            ("/dev/random", "r"),
            ("/dev/urandom", "r"),
            ("/{run,var/run}/uuidd/request", "r"),
            ("/{etc,usr/etc}/locale/**", "r"),
            ("/{etc,usr/etc}/locale.alias", "r"),
            ("/{etc,usr/etc}/localtime", "r"),
            ("/etc/writable/localtime", "r"),
            ("/usr/share/locale-bundle/**", "r"),
            ("/usr/share/locale-langpack/**", "r"),
            ("/usr/share/locale/**", "r"),
            ("/usr/share/**/locale/**", "r"),
            ("/usr/share/zoneinfo/", "r"),
            ("/usr/share/zoneinfo/**", "r"),
            ("/usr/share/X11/locale/**", "r"),
            ("/{run,var/run}/systemd/journal/dev-log", "w"),
            ("/{run,var/run}/systemd/journal/socket", "w"),
            ("/{run,var/run}/systemd/journal/stdout", "rw"),
            ("/usr/lib{,32,64}/locale/**", "mr"),
            ("/usr/lib{,32,64}/gconv/*.so", "mr"),
            ("/usr/lib{,32,64}/gconv/gconv-modules*", "mr"),
            ("/usr/lib/*-linux-gnu*/gconv/*.so", "mr"),
            ("/usr/lib/*-linux-gnu*/gconv/gconv-modules*", "mr"),
            ("/{etc,usr/etc}/bindresvport.blacklist", "r"),
            ("/{etc,usr/etc}/ld.so.cache", "mr"),
            ("/{etc,usr/etc}/ld.so.conf", "r"),
            ("/{etc,usr/etc}/ld.so.conf.d/{,*.conf}", "r"),
            ("/{etc,usr/etc}/ld.so.preload", "r"),
            ("/{usr/,}lib{,32,64}/ld{,32,64}-*.so", "mr"),
            ("/{usr/,}lib/*-linux-gnu*/ld{,32,64}-*.so", "mr"),
            ("/{usr/,}lib{,32,64}/**", "r"),
            ("/{usr/,}lib{,32,64}/**.so*", "mr"),
            ("/{usr/,}lib/*-linux-gnu*/**", "r"),
            ("/{usr/,}lib/*-linux-gnu*/**.so*", "mr"),
            ("/{usr/,}lib{,32,64}/.lib*.so*.hmac", "r"),
            ("/{usr/,}lib/*-linux-gnu*/.lib*.so*.hmac", "r"),
            ("/dev/null", "rw"),
            ("/dev/zero", "rw"),
            ("/dev/full", "rw"),
            ("/proc/sys/kernel/version", "r"),
            ("/proc/sys/kernel/ngroups_max", "r"),
            ("/proc/meminfo", "r"),
            ("/proc/stat", "r"),
            ("/proc/cpuinfo", "r"),
            ("/sys/devices/system/cpu/", "r"),
            ("/sys/devices/system/cpu/online", "r"),
            ("/sys/devices/system/cpu/possible", "r"),
            ("/proc/@{pid}/{maps,auxv,status}", "r"),
            ("/proc/sys/crypto/*", "r"),
            ("/usr/share/common-licenses/**", "r"),
            ("/proc/filesystems", "r"),
            ("/proc/sys/vm/overcommit_memory", "r"),
            ("/proc/sys/kernel/cap_last_cap", "r"),
            // abstractions/crypto, which base includes.
            ("/{etc,usr/etc}/gcrypt/hwf.deny", "r"),
            ("/{etc,usr/etc}/gcrypt/random.conf", "r"),
            ("/proc/sys/crypto/fips_enabled", "r"),
            ("/etc/crypto-policies/*/*.txt", "r"),
            ("/usr/share/crypto-policies/*/*.txt", "r"),
        ],
    },
    Abstraction {
        name: "consoles",
        trigger: Trigger::Covers,
        rules: &[
            ("/dev/console", "rw"),
            ("/dev/tty", "rw"),
            ("/dev/pts/[0-9]*", "rw"),
            ("/dev/pts/", "r"),
        ],
    },
    Abstraction {
        name: "nameservice",
        trigger: Trigger::Read("/etc/nsswitch.conf"),
        rules: &[
            ("/{etc,usr/etc}/group", "r"),
            ("/{etc,usr/etc}/host.conf", "r"),
            ("/{etc,usr/etc}/hosts", "r"),
            ("/{etc,usr/etc}/nsswitch.conf", "r"),
            ("/{etc,usr/etc}/gai.conf", "r"),
            ("/{etc,usr/etc}/passwd", "r"),
            ("/{etc,usr/etc}/protocols", "r"),
            ("/{etc,usr/etc}/netconfig", "r"),
            ("/var/lib/extrausers/group", "r"),
            ("/var/lib/extrausers/passwd", "r"),
            ("/var/lib/sss/mc/group", "r"),
            ("/var/lib/sss/mc/initgroups", "r"),
            ("/var/lib/sss/mc/passwd", "r"),
            ("/var/lib/sss/pipes/nss", "rw"),
            ("/{etc,usr/etc}/resolv.conf", "r"),
            (
                "/{run,var/run}/{resolvconf,NetworkManager,systemd/resolve,connman,netconfig}/resolv.conf",
                "r",
            ),
            ("/{etc,usr/etc}/resolvconf/run/resolv.conf", "r"),
            ("/{run,var/run}/systemd/resolve/stub-resolv.conf", "r"),
            ("/mnt/wsl/resolv.conf", "r"),
            ("/{etc,usr/etc}/samba/lmhosts", "r"),
            ("/{etc,usr/etc}/services", "r"),
            ("/var/lib/misc/*.db", "r"),
            ("/{run,var/run}/.nscd_socket", "rw"),
            ("/{run,var/run}/nscd/socket", "rw"),
            (
                "/{var/db,var/cache,var/lib,var/run,run}/nscd/{passwd,group,services,hosts}",
                "r",
            ),
            ("/{run,var/run}/nscd/db*", "rmix"),
            ("/{usr/,}lib{,32,64}/libnss_*.so*", "mr"),
            ("/{usr/,}lib/*-linux-gnu*/libnss_*.so*", "mr"),
            ("/{etc,usr/etc}/default/nss", "r"),
            ("/{run,var/run}/avahi-daemon/socket", "rw"),
            ("/proc/@{pid}/net/psched", "r"),
            ("/{etc,usr/etc}/libnl-*/classid", "r"),
            ("/proc/@{pid}/net/route", "r"),
            // abstractions/nss-systemd, which nameservice includes.
            ("/{run,var/run}/systemd/userdb/", "r"),
            (
                "/{run,var/run}/systemd/userdb/io.systemd.{Multiplexer,DynamicUser,Home,NameServiceSwitch,Machine}",
                "rw",
            ),
            ("/proc/sys/kernel/random/boot_id", "r"),
        ],
    },
    Abstraction {
        name: "openssl",
        trigger: Trigger::Covers,
        rules: &[
            ("/etc/ssl/openssl.cnf", "r"),
            ("/etc/ssl/{engdef,engines}.d/", "r"),
            ("/etc/ssl/{engdef,engines}.d/*.cnf", "r"),
            ("/usr/share/ssl/openssl.cnf", "r"),
            ("/proc/sys/crypto/fips_enabled", "r"),
        ],
    },
    Abstraction {
        name: "perl",
        trigger: Trigger::Covers,
        rules: &[
            ("/usr/bin/perl", "rmix"),
            ("/usr/bin/perl[0-9].[0-9].[0-9]", "rmix"),
            ("/usr/lib{,32,64}/perl5/**", "r"),
            ("/usr/lib{,32,64}/perl{,5}/**.so*", "mr"),
            ("/usr/lib/*-linux-gnu*/perl{,5,-base}/**", "r"),
            ("/usr/lib/*-linux-gnu*/perl{,5,-base}/[0-9]*/**.so*", "mr"),
            ("/usr/share/perl/**", "r"),
            ("/usr/share/perl5/**", "r"),
            ("/etc/perl/**", "r"),
        ],
    },
    Abstraction {
        name: "python",
        trigger: Trigger::Covers,
        rules: &[
            (
                "/usr/{local/,}lib{,32,64}/python{2.[4-7],3,3.[0-9],3.1[0-9]}/**.{pyc,so,so.*[0-9]}",
                "mr",
            ),
            (
                "/usr/{local/,}lib{,32,64}/python{2.[4-7],3,3.[0-9],3.1[0-9]}/**.{egg,py,pth}",
                "r",
            ),
            (
                "/usr/{local/,}lib{,32,64}/python{2.[4-7],3,3.[0-9],3.1[0-9]}/{site,dist}-packages/",
                "r",
            ),
            (
                "/usr/{local/,}lib{,32,64}/python{2.[4-7],3,3.[0-9],3.1[0-9]}/{site,dist}-packages/**/",
                "r",
            ),
            (
                "/usr/{local/,}lib{,32,64}/python{2.[4-7],3,3.[0-9],3.1[0-9]}/{site,dist}-packages/*.dist-info/{METADATA,namespace_packages.txt}",
                "r",
            ),
            (
                "/usr/{local/,}lib{,32,64}/python{2.[4-7],3,3.[0-9],3.1[0-9]}/{site,dist}-packages/*.VERSION",
                "r",
            ),
            (
                "/usr/{local/,}lib{,32,64}/python{2.[4-7],3,3.[0-9],3.1[0-9]}/{site,dist}-packages/*.egg-info/PKG-INFO",
                "r",
            ),
            ("/usr/{local/,}lib{,32,64}/python3.{1,}[0-9]/lib-dynload/*.so", "mr"),
            ("/etc/python{2.[4-7],3.[0-9],3.1[0-9]}/**", "r"),
            ("/usr/share/{pyshared,pycentral,python-support}/**", "r"),
            ("/{var,usr}/lib/{pyshared,pycentral,python-support}/**", "r"),
            ("/usr/lib/{pyshared,pycentral,python-support}/**.so", "mr"),
            ("/var/lib/{pyshared,pycentral,python-support}/**.pyc", "mr"),
            ("/usr/lib/python3/dist-packages/**.so", "mr"),
            ("/usr/lib/wx/python/*.pth", "r"),
            ("/usr/include/python{2.[4-7],3.[0-9],3.1[0-9]}*/pyconfig.h", "r"),
        ],
    },
    Abstraction {
        name: "ssl_certs",
        trigger: Trigger::Covers,
        rules: &[
            ("/etc/ca-certificates/{,**}", "r"),
            ("/etc/{,libre}ssl/", "r"),
            ("/etc/{,libre}ssl/cert.pem", "r"),
            ("/etc/{,libre}ssl/certs/{,**}", "r"),
            ("/usr/share/ca-certificates/{,**}", "r"),
            ("/usr/share/ssl/certs/ca-bundle.crt", "r"),
            ("/usr/local/share/ca-certificates/{,**}", "r"),
            ("/var/lib/ca-certificates/{,**}", "r"),
            ("/etc/crypto-policies/*/*.txt", "r"),
            ("/usr/share/crypto-policies/*/*.txt", "r"),
        ],
    },
];

/// What the abstraction's rules grant on this exact path.
pub(crate) fn granted_by(abstraction: &CompiledAbstraction, path: &[u8]) -> Perms {
    abstraction.rules.granted(path)
}

pub(crate) struct CompiledAbstraction {
    pub(crate) name: &'static str,
    pub(crate) rules: glob::Rules,
}

pub(crate) fn compiled_abstractions() -> Vec<CompiledAbstraction> {
    ABSTRACTIONS
        .iter()
        .map(|a| CompiledAbstraction {
            name: a.name,
            rules: glob::Rules::new([a.rules]),
        })
        .collect()
}

/// Chooses the abstractions and takes what they grant out of each path's permissions.
fn include_abstractions(needs: &mut [Recorded<'_>]) -> BTreeMap<&'static str, AbstractionUse> {
    // Each path is matched once against every abstraction's rules. Most paths of a large
    // recording match none: only the others are listed, by index.
    let rules = glob::Rules::new(ABSTRACTIONS.iter().map(|a| a.rules));
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

/// AppArmor globs as the embedded abstraction rules use them, matched against exact paths.
pub(crate) mod glob {
    use super::Perms;

    /// One element of a glob, alternations already expanded.
    #[derive(Debug, Clone, PartialEq, Eq)]
    enum Item {
        Byte(u8),
        /// `?`
        One,
        /// `*` (`min_one`: right after a `/`, where AppArmor wants at least one character)
        Star {
            min_one: bool,
        },
        /// `**`
        StarStar {
            min_one: bool,
        },
        /// `[...]`
        Class {
            set: Box<[bool; 256]>,
            negated: bool,
        },
        /// `@{pid}`
        Pid,
    }

    /// One alternative of a glob: a flat sequence, and the literal bytes it starts with (a
    /// cheap test that rules out most paths before matching).
    #[derive(Debug, Clone)]
    struct Alternative {
        literal: Vec<u8>,
        items: Vec<Item>,
    }

    impl Alternative {
        fn new(text: &[u8]) -> Alternative {
            let items = items(text);
            let literal = items
                .iter()
                .map_while(|item| match item {
                    Item::Byte(b) => Some(*b),
                    _ => None,
                })
                .collect();
            Alternative { literal, items }
        }

        fn matches(&self, path: &[u8]) -> bool {
            path.starts_with(&self.literal) && match_items(&self.items, path)
        }

        /// The first path component, when the literal start spells all of it (`usr` of
        /// `/usr/lib/...`): only paths under that directory can match.
        fn root(&self) -> Option<&[u8]> {
            root(&self.literal)
        }
    }

    /// The first component of an absolute path that has a second one.
    fn root(path: &[u8]) -> Option<&[u8]> {
        let rest = path.strip_prefix(b"/")?;
        rest.iter().position(|&b| b == b'/').map(|end| &rest[..end])
    }

    /// A glob as the alternatives of its `{a,b}` groups.
    #[derive(Debug, Clone)]
    pub struct Glob(Vec<Alternative>);

    impl Glob {
        /// Parses an embedded rule (trusted text: panics on a malformed one).
        pub fn parse(text: &str) -> Glob {
            // `@{pid}` is a variable, not an alternation: a placeholder byte until `items`.
            let text = text.replace("@{pid}", "\u{1}");
            let expanded = expand(text.as_bytes());
            Glob(expanded.iter().map(|alt| Alternative::new(alt)).collect())
        }

        #[cfg(test)]
        pub fn matches(&self, path: &[u8]) -> bool {
            self.0.iter().any(|alt| alt.matches(path))
        }
    }

    /// Rules from one or more sources (abstractions), indexed by the first path component
    /// each alternative names: a path is matched only against the alternatives under its
    /// own first directory (and the few that do not name one). A million paths outside
    /// every abstraction then cost one lookup each, not a match against every rule.
    pub struct Rules {
        rules: Vec<Rule>,
        sources: usize,
        /// First component → the rules under it, sorted by component.
        by_root: Vec<(Vec<u8>, Vec<usize>)>,
        /// Rules whose first component is not literal: tried on every path.
        anywhere: Vec<usize>,
    }

    struct Rule {
        alternative: Alternative,
        perms: Perms,
        /// Which source it came from.
        source: usize,
    }

    impl Rules {
        /// Compiles embedded (glob, permission letters) rules, source by source.
        pub fn new<'a>(sources: impl IntoIterator<Item = &'a [(&'a str, &'a str)]>) -> Rules {
            let mut rules = Vec::new();
            let mut count = 0;
            for (source, source_rules) in sources.into_iter().enumerate() {
                count = source + 1;
                for (glob, letters) in source_rules {
                    let perms = Perms::parse(letters);
                    rules.extend(Glob::parse(glob).0.into_iter().map(|alternative| Rule {
                        alternative,
                        perms,
                        source,
                    }));
                }
            }
            let mut by_root: Vec<(Vec<u8>, Vec<usize>)> = Vec::new();
            let mut anywhere = Vec::new();
            for (i, rule) in rules.iter().enumerate() {
                let Some(root) = rule.alternative.root() else {
                    anywhere.push(i);
                    continue;
                };
                match by_root.binary_search_by(|(r, _)| r.as_slice().cmp(root)) {
                    Ok(at) => by_root[at].1.push(i),
                    Err(at) => by_root.insert(at, (root.to_vec(), vec![i])),
                }
            }
            Rules {
                rules,
                sources: count,
                by_root,
                anywhere,
            }
        }

        /// The rules that match this exact path.
        fn matching<'s>(&'s self, path: &'s [u8]) -> impl Iterator<Item = &'s Rule> + 's {
            let under_root = root(path)
                .and_then(|root| {
                    self.by_root
                        .binary_search_by(|(r, _)| r.as_slice().cmp(root))
                        .ok()
                })
                .map_or(&[][..], |at| &self.by_root[at].1);
            under_root
                .iter()
                .chain(&self.anywhere)
                .map(|&i| &self.rules[i])
                .filter(move |rule| rule.alternative.matches(path))
        }

        /// What the rules of every source grant on this exact path.
        pub fn granted(&self, path: &[u8]) -> Perms {
            self.matching(path)
                .fold(Perms::default(), |acc, rule| acc.union(rule.perms))
        }

        /// What each source's rules grant on this exact path, by source; `None` when no
        /// rule matches it.
        pub fn granted_by_source(&self, path: &[u8]) -> Option<Box<[Perms]>> {
            let mut granted: Option<Box<[Perms]>> = None;
            for rule in self.matching(path) {
                let by_source =
                    granted.get_or_insert_with(|| vec![Perms::default(); self.sources].into());
                by_source[rule.source] = by_source[rule.source].union(rule.perms);
            }
            granted
        }
    }

    /// Expands `{a,b}` alternations (nested) into plain alternatives.
    fn expand(text: &[u8]) -> Vec<Vec<u8>> {
        let Some(open) = text.iter().position(|&b| b == b'{') else {
            return vec![text.to_vec()];
        };
        // Find the matching close brace and the top-level commas.
        let mut depth = 0;
        let mut commas = Vec::new();
        let mut close = None;
        for (i, &b) in text.iter().enumerate().skip(open) {
            match b {
                b'{' => depth += 1,
                b'}' => {
                    depth -= 1;
                    if depth == 0 {
                        close = Some(i);
                        break;
                    }
                }
                b',' if depth == 1 => commas.push(i),
                _ => {}
            }
        }
        let close = close.expect("balanced braces in an embedded rule");
        let mut bounds = vec![open];
        bounds.extend(&commas);
        bounds.push(close);
        let mut out = Vec::new();
        for pair in bounds.windows(2) {
            let mut alt = text[..open].to_vec();
            alt.extend_from_slice(&text[pair[0] + 1..pair[1]]);
            alt.extend_from_slice(&text[close + 1..]);
            out.extend(expand(&alt));
        }
        out
    }

    fn items(text: &[u8]) -> Vec<Item> {
        let mut items = Vec::new();
        let mut i = 0;
        while i < text.len() {
            let after_slash = items.last() == Some(&Item::Byte(b'/'));
            match text[i] {
                b'*' if text.get(i + 1) == Some(&b'*') => {
                    items.push(Item::StarStar {
                        min_one: after_slash,
                    });
                    i += 2;
                }
                b'*' => {
                    items.push(Item::Star {
                        min_one: after_slash,
                    });
                    i += 1;
                }
                b'?' => {
                    items.push(Item::One);
                    i += 1;
                }
                b'[' => {
                    let close = i + text[i..]
                        .iter()
                        .position(|&b| b == b']')
                        .expect("closed class in an embedded rule");
                    let mut body = &text[i + 1..close];
                    let negated = body.first() == Some(&b'^');
                    if negated {
                        body = &body[1..];
                    }
                    let mut set = Box::new([false; 256]);
                    let mut j = 0;
                    while j < body.len() {
                        if j + 2 < body.len() && body[j + 1] == b'-' {
                            for c in body[j]..=body[j + 2] {
                                set[usize::from(c)] = true;
                            }
                            j += 3;
                        } else {
                            set[usize::from(body[j])] = true;
                            j += 1;
                        }
                    }
                    items.push(Item::Class { set, negated });
                    i = close + 1;
                }
                1 => {
                    items.push(Item::Pid);
                    i += 1;
                }
                b => {
                    items.push(Item::Byte(b));
                    i += 1;
                }
            }
        }
        items
    }

    fn match_items(items: &[Item], s: &[u8]) -> bool {
        let Some((first, rest)) = items.split_first() else {
            return s.is_empty();
        };
        match first {
            Item::Byte(b) => s.first() == Some(b) && match_items(rest, &s[1..]),
            Item::One => {
                s.first().is_some_and(|&c| c != b'/' && c != 0) && match_items(rest, &s[1..])
            }
            Item::Class { set, negated } => {
                s.first().is_some_and(|&c| {
                    c != 0 && (set[usize::from(c)] != *negated) && (!*negated || c != b'/')
                }) && match_items(rest, &s[1..])
            }
            Item::Star { min_one } => {
                let limit = s
                    .iter()
                    .position(|&c| c == b'/' || c == 0)
                    .unwrap_or(s.len());
                (usize::from(*min_one)..=limit).any(|k| match_items(rest, &s[k..]))
            }
            Item::StarStar { min_one } => {
                if *min_one && s.first().is_none_or(|&c| c == b'/' || c == 0) {
                    return false;
                }
                let limit = s.iter().position(|&c| c == 0).unwrap_or(s.len());
                (usize::from(*min_one)..=limit).any(|k| match_items(rest, &s[k..]))
            }
            Item::Pid => {
                let digits = s.iter().take_while(|c| c.is_ascii_digit()).count();
                (1..=digits.min(7)).any(|k| super::is_pid(&s[..k]) && match_items(rest, &s[k..]))
            }
        }
    }

    #[cfg(test)]
    mod tests {
        use super::{Glob, Perms, Rules};

        #[test]
        fn globs_match_like_apparmor() {
            let g = Glob::parse("/{usr/,}lib{,32,64}/**.so*");
            assert!(g.matches(b"/usr/lib/x86_64-linux-gnu/libc.so.6"));
            assert!(g.matches(b"/lib64/ld.so"));
            assert!(!g.matches(b"/usr/local/lib/libc.so.6"));
            let g = Glob::parse("/usr/lib/*-linux-gnu*/gconv/*.so");
            assert!(g.matches(b"/usr/lib/x86_64-linux-gnu/gconv/UTF-16.so"));
            assert!(!g.matches(b"/usr/lib/x86_64-linux-gnu/gconv/sub/UTF-16.so"));
            let g = Glob::parse("/proc/@{pid}/{maps,auxv,status}");
            assert!(g.matches(b"/proc/1234/status"));
            assert!(!g.matches(b"/proc/self/status"));
            assert!(!g.matches(b"/proc/0123/status"));
            let g = Glob::parse("/dev/pts/[0-9]*");
            assert!(g.matches(b"/dev/pts/3"));
            assert!(!g.matches(b"/dev/pts/x"));
            let g = Glob::parse("/etc/{,libre}ssl/certs/{,**}");
            assert!(g.matches(b"/etc/ssl/certs/"));
            assert!(g.matches(b"/etc/ssl/certs/ca-certificates.crt"));
            assert!(!g.matches(b"/etc/ssl/private/key"));
            let g = Glob::parse("/usr/{local/,}lib{,32,64}/python3.{1,}[0-9]/lib-dynload/*.so");
            assert!(g.matches(b"/usr/lib/python3.11/lib-dynload/_ssl.so"));
            // `*` right after `/` needs a character, as in AppArmor.
            let g = Glob::parse("/tmp/*");
            assert!(!g.matches(b"/tmp/"));
            assert!(g.matches(b"/tmp/a"));
            let g = Glob::parse("/usr/share/**/locale/**");
            assert!(g.matches(b"/usr/share/foo/bar/locale/de/x.mo"));
        }

        /// The index by first directory finds exactly what matching every rule finds, also
        /// for rules that name no first directory and for paths that have none.
        #[test]
        fn indexed_rules_grant_what_every_rule_grants() {
            let sources: [&[(&str, &str)]; 2] = [
                &[
                    ("/{usr/,}lib{,32,64}/**.so*", "mr"),
                    ("/etc/ld.so.cache", "r"),
                    ("/{,var/}run/*.pid", "w"),
                    ("/**/", "r"),
                    ("/*", "k"),
                ],
                &[("/usr/share/**", "r"), ("/proc/@{pid}/maps", "r")],
            ];
            let rules = Rules::new(sources);
            let paths: [&[u8]; 11] = [
                b"/usr/lib/x86_64-linux-gnu/libc.so.6",
                b"/lib64/ld.so",
                b"/etc/ld.so.cache",
                b"/etc/ld.so.cache2",
                b"/run/a.pid",
                b"/var/run/a.pid",
                b"/srv/data/",
                b"/top",
                b"/usr/share/doc/x",
                b"/proc/42/maps",
                b"relative/path",
            ];
            for path in paths {
                let mut by_source = vec![Perms::default(); sources.len()];
                for (source, source_rules) in sources.iter().enumerate() {
                    for (glob, letters) in source_rules.iter() {
                        if Glob::parse(glob).matches(path) {
                            by_source[source] = by_source[source].union(Perms::parse(letters));
                        }
                    }
                }
                let all = by_source.iter().fold(Perms::default(), |a, p| a.union(*p));
                let shown = path.escape_ascii();
                assert_eq!(rules.granted(path), all, "{shown}");
                let expected = (!all.is_empty()).then(|| by_source.into_boxed_slice());
                assert_eq!(rules.granted_by_source(path), expected, "{shown}");
            }
            assert_eq!(rules.granted(b"/srv/data/"), Perms::parse("r"));
            assert_eq!(rules.granted(b"/top"), Perms::parse("k"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn file(path: &str, access: &[Access]) -> FileAccess {
        serde_json::from_value(json!({
            "path": path,
            "access": access,
            "by": ["/usr/bin/app"],
        }))
        .unwrap()
    }

    /// A recording of `app` (executed as /usr/bin/app) with these files.
    fn recording(files: Option<Vec<FileAccess>>) -> Recording {
        let mut r: Recording = serde_json::from_value(json!({
            "format": crate::recording::FORMAT,
            "version": crate::recording::VERSION,
            "tool": {"name": "leastpriv", "version": "0"},
            "host": {"kernel": "6.18", "arch": "x86_64"},
            "target": {"command": ["app"]},
            "started_at": "",
            "finished_at": "",
            "complete": true,
            "syscalls": {},
            "executables": [{"path": "/usr/bin/app", "execs": 1}],
            "sockets": [],
            "capabilities": [],
            "lost": {"exec_events": 0, "syscall_numbers": 0},
        }))
        .unwrap();
        r.files = files;
        r
    }

    /// The file rules, without `/usr/bin/app ix` (the executed program, in every test).
    fn rules(policy: &AppArmorPolicy) -> Vec<(Pattern, bool, Perms)> {
        policy
            .files
            .iter()
            .filter(|(k, _)| k.pattern != p("/usr/bin/app"))
            .map(|(k, r)| (k.pattern.clone(), k.owner, r.perms))
            .collect()
    }

    fn p(s: &str) -> Pattern {
        Pattern::literal(s.as_bytes())
    }

    #[test]
    fn patterns_order_compare_and_split_as_their_tokens_do() {
        let byte = |b: u8| Token::Byte(b);
        let alphabet = [
            byte(0),
            byte(1),
            byte(5),
            byte(b'/'),
            byte(b'a'),
            byte(0xfe),
            byte(0xff),
            Token::Var(Var::Home),
            Token::Var(Var::Pid),
            Token::Var(Var::Tid),
            Token::AnyChar,
            Token::AnyRun,
        ];
        // Every sequence of up to two tokens, and some longer ones.
        let mut sequences: Vec<Vec<Token>> = vec![vec![]];
        for &a in &alphabet {
            sequences.push(vec![a]);
            for &b in &alphabet {
                sequences.push(vec![a, b]);
                sequences.push(vec![byte(b'/'), a, byte(b'/'), b]);
            }
        }
        for x in &sequences {
            let px: Pattern = x.iter().copied().collect();
            assert_eq!(px.tokens().collect::<Vec<_>>(), *x);
            assert_eq!(px.is_dir(), x.last() == Some(&byte(b'/')), "{x:?}");
            let (dir, name) = px.split_last();
            let cut = x
                .iter()
                .rposition(|&t| t == byte(b'/'))
                .map_or(0, |i| i + 1);
            assert_eq!(
                (
                    Token::decode_all(dir).collect::<Vec<_>>(),
                    Token::decode_all(name).collect::<Vec<_>>()
                ),
                (x[..cut].to_vec(), x[cut..].to_vec()),
                "{x:?}"
            );
            for y in &sequences {
                let py: Pattern = y.iter().copied().collect();
                assert_eq!(px.cmp(&py), x.cmp(y), "{x:?} against {y:?}");
            }
        }
    }

    #[test]
    fn a_recording_without_files_is_an_error() {
        let err = decide(&recording(None), &AppArmorOptions::default()).unwrap_err();
        assert!(matches!(err, AppArmorPolicyError::FilesNotRecorded));
        assert!(
            err.to_string().contains("before file recording existed"),
            "{err}"
        );
    }

    #[test]
    fn accesses_become_the_fewest_permissions() {
        let perms = |a: &[Access]| perms_for(Accesses::of(a));
        assert_eq!(perms(&[Access::Read]), Perms::parse("r"));
        assert_eq!(perms(&[Access::Append]), Perms::parse("a"));
        assert_eq!(perms(&[Access::Append, Access::Create]), Perms::parse("w"));
        assert_eq!(
            perms(&[Access::Read, Access::Write, Access::Lock]),
            Perms::parse("rwk")
        );
        assert_eq!(
            perms(&[Access::Exec, Access::MmapExec]),
            Perms::parse("mix")
        );
        assert_eq!(perms(&[Access::RenameFrom]), Perms::parse("rw"));
        assert_eq!(perms(&[Access::Link]), Perms::parse("l"));
        assert_eq!(perms(&[Access::Chmod]), Perms::parse("w"));
    }

    #[test]
    fn base_covers_the_loader_and_libraries_and_is_not_repeated() {
        let rec = recording(Some(vec![
            file("/etc/ld.so.cache", &[Access::Read, Access::MmapExec]),
            file(
                "/usr/lib/x86_64-linux-gnu/libc.so.6",
                &[Access::Read, Access::MmapExec],
            ),
            file("/dev/null", &[Access::Read, Access::Write]),
            file("/proc/4242/status", &[Access::Read]),
            file("/etc/app.conf", &[Access::Read]),
        ]));
        let policy = decide(&rec, &AppArmorOptions::default()).unwrap();
        assert_eq!(
            rules(&policy),
            [(p("/etc/app.conf"), false, Perms::parse("r"))]
        );
        assert_eq!(
            policy.abstractions.keys().copied().collect::<Vec<_>>(),
            ["base"]
        );
        assert_eq!(policy.abstractions["base"].covered, 4);
        assert_eq!(policy.attachment, Some(p("/usr/bin/app")));
        assert_eq!(policy.name, "app");
    }

    #[test]
    fn nameservice_only_when_nss_is_in_use() {
        let passwd = file("/etc/passwd", &[Access::Read]);
        let policy = decide(
            &recording(Some(vec![passwd.clone()])),
            &AppArmorOptions::default(),
        )
        .unwrap();
        assert!(!policy.abstractions.contains_key("nameservice"));
        assert_eq!(
            rules(&policy),
            [(p("/etc/passwd"), false, Perms::parse("r"))]
        );
        let policy = decide(
            &recording(Some(vec![
                passwd,
                file("/etc/nsswitch.conf", &[Access::Read]),
            ])),
            &AppArmorOptions::default(),
        )
        .unwrap();
        assert_eq!(policy.abstractions["nameservice"].covered, 2);
        assert!(rules(&policy).is_empty());
    }

    #[test]
    fn partial_coverage_keeps_what_the_abstraction_lacks() {
        let policy = decide(
            &recording(Some(vec![file(
                "/dev/urandom",
                &[Access::Read, Access::Write],
            )])),
            &AppArmorOptions::default(),
        )
        .unwrap();
        assert_eq!(
            rules(&policy),
            [(p("/dev/urandom"), false, Perms::parse("w"))]
        );
    }

    #[test]
    fn generalisation_rules() {
        let made = BTreeSet::from([
            &b"/tmp/tmpab12CD"[..],
            b"/tmp/dir.Xy12zw",
            b"/tmp/ab12cd/work/made.txt",
        ]);
        let notes = std::cell::RefCell::new(BTreeSet::new());
        let gen = |path: &str, perms: &str| {
            let (pattern, rules) = generalise(
                path.as_bytes(),
                Perms::parse(perms),
                &made,
                &mut notes.borrow_mut(),
            );
            let text: String = pattern
                .tokens()
                .map(|t| match t {
                    Token::Byte(b) => char::from(b).to_string(),
                    Token::Var(v) => format!("@{{{}}}", v.name()),
                    Token::AnyChar => "?".into(),
                    Token::AnyRun => "*".into(),
                })
                .collect();
            (
                text,
                rules.iter().map(Generalisation::name).collect::<Vec<_>>(),
            )
        };
        assert_eq!(
            gen("/proc/1234/stat", "r"),
            ("/proc/@{pid}/stat".into(), vec!["proc-pid"])
        );
        assert_eq!(
            gen("/proc/1234/task/1240/comm", "r"),
            ("/proc/@{pid}/task/@{tid}/comm".into(), vec!["proc-pid"])
        );
        assert_eq!(
            gen("/proc/self/status", "r"),
            ("/proc/self/status".into(), vec![])
        );
        assert_eq!(
            gen("/proc/0123/status", "r"),
            ("/proc/0123/status".into(), vec![])
        );
        assert_eq!(
            gen("/home/alice/.app/x", "r"),
            ("@{HOME}/.app/x".into(), vec!["home"])
        );
        assert_eq!(
            gen("/root/.app/x", "r"),
            ("@{HOME}/.app/x".into(), vec!["home"])
        );
        assert_eq!(gen("/home/alice/", "r"), ("@{HOME}/".into(), vec!["home"]));
        assert_eq!(
            gen("/tmp/tmpab12CD", "rw"),
            ("/tmp/tmp??????".into(), vec!["temp-name"])
        );
        // Not made by the workload: literal.
        assert_eq!(
            gen("/tmp/tmpzz99ZZ", "r"),
            ("/tmp/tmpzz99ZZ".into(), vec![])
        );
        assert_eq!(
            gen("/tmp/dir.Xy12zw/out.txt", "w"),
            ("/tmp/dir.??????/out.txt".into(), vec!["temp-name"])
        );
        // A random-looking directory the workload only made something in (a checkout in
        // /tmp/ab12cd): literal, or the rule would allow every directory of that shape.
        assert_eq!(
            gen("/tmp/ab12cd/work/made.txt", "w"),
            ("/tmp/ab12cd/work/made.txt".into(), vec![])
        );
        assert_eq!(
            gen("/opt/app/lib/libfoo.so.1.2.3", "mr"),
            ("/opt/app/lib/libfoo.so*".into(), vec!["library-version"])
        );
        // A library the workload writes keeps its exact name.
        assert_eq!(
            gen("/opt/app/lib/libfoo.so.1", "w"),
            ("/opt/app/lib/libfoo.so.1".into(), vec![])
        );
        assert_eq!(gen("/", "r"), ("/".into(), vec![]));
        assert!(notes.borrow().is_empty());
        assert_eq!(gen("/tmp/a\0b", "r"), ("/tmp/a?b".into(), vec![]));
        assert_eq!(notes.borrow().len(), 1);
    }

    #[test]
    fn temporary_names() {
        let t = |s: &str| temp_name_random_part(s.as_bytes()).map(|r| (r.start, r.end));
        assert_eq!(t("tmpa1b2c3"), Some((3, 9)));
        assert_eq!(t("tmp.AbCdEfGhIj"), Some((4, 14)));
        assert_eq!(t("tmp_k2j3h4g5.json"), Some((4, 12)));
        assert_eq!(t(".out.txt.Ab12Cd"), Some((9, 15)));
        assert_eq!(t("sedAb12Cd"), Some((3, 9)));
        assert_eq!(t("5vxlull0"), Some((0, 8)));
        assert_eq!(t(".goutputstream-Q2X7KZ"), Some((15, 21)));
        assert_eq!(t("passwd"), None);
        assert_eq!(t("config.yaml"), None);
        assert_eq!(t("output-final"), None);
        assert_eq!(t(".#notes.txt"), None);
        assert_eq!(t("libfoo.so.1.2.3"), None);
    }

    #[test]
    fn owner_for_created_files_and_directories_from_descendants() {
        let rec = recording(Some(vec![
            file("/srv/data", &[Access::Read]),
            file("/srv/data/in", &[Access::Read]),
            file("/srv/out", &[Access::Create, Access::Write]),
            file("/srv/chowned", &[Access::Create, Access::Chown]),
            file("/srv/newdir", &[Access::Mkdir]),
        ]));
        let policy = decide(&rec, &AppArmorOptions::default()).unwrap();
        assert_eq!(
            rules(&policy),
            [
                (p("/srv/chowned"), false, Perms::parse("w")),
                (p("/srv/data/"), false, Perms::parse("r")),
                (p("/srv/data/in"), false, Perms::parse("r")),
                (p("/srv/newdir/"), true, Perms::parse("w")),
                (p("/srv/out"), true, Perms::parse("w")),
            ]
        );
    }

    #[test]
    fn many_siblings_with_the_same_access_become_a_directory_glob() {
        let mut files: Vec<FileAccess> = (0..5)
            .map(|i| file(&format!("/srv/www/page{i}.html"), &[Access::Read]))
            .collect();
        files.push(file("/srv/www/upload", &[Access::Read, Access::Write]));
        let rec = recording(Some(files));
        let options = |n| AppArmorOptions {
            glob_threshold: n,
            ..AppArmorOptions::default()
        };
        let policy = decide(&rec, &options(5)).unwrap();
        let key = FileKey {
            pattern: p("/srv/www/").tokens().chain([Token::AnyRun]).collect(),
            owner: false,
        };
        assert_eq!(rules(&policy).len(), 2);
        assert_eq!(policy.files[&key].paths, 5);
        assert_eq!(policy.files[&key].perms, Perms::parse("r"));
        assert!(policy.files[&key]
            .generalised
            .contains(Generalisation::DirGlob));
        assert_eq!(rules(&decide(&rec, &options(6)).unwrap()).len(), 6);
        assert_eq!(rules(&decide(&rec, &options(0)).unwrap()).len(), 6);
    }

    #[test]
    fn nul_becomes_one_any_char_and_other_bytes_stay_exact() {
        let made = BTreeSet::new();
        let mut notes = BTreeSet::new();
        let path = b"/srv/a\0b\0\0/\xffc\xff";
        let (pattern, rules) = generalise(path, Perms::parse("r"), &made, &mut notes);
        let byte = |b: u8| Token::Byte(b);
        let expected: Vec<Token> = b"/srv/a"
            .iter()
            .map(|&b| byte(b))
            .chain([Token::AnyChar, byte(b'b'), Token::AnyChar, Token::AnyChar])
            .chain([byte(b'/'), byte(0xff), byte(b'c'), byte(0xff)])
            .collect();
        assert_eq!(pattern.tokens().collect::<Vec<_>>(), expected);
        assert!(rules.is_empty());
        assert_eq!(
            notes.into_iter().collect::<Vec<_>>(),
            vec![Note::Inexact {
                path: path.to_vec()
            }]
        );
        let literal = Pattern::literal(b"/a\xff/b");
        assert_eq!(
            literal.tokens().collect::<Vec<_>>(),
            [b'/', b'a', 0xff, b'/', b'b'].map(byte)
        );
        assert_eq!(literal.split_last().1, b"b");
    }

    #[test]
    fn a_directory_glob_counts_its_files_across_interleaved_accesses_and_subdirectories() {
        let mut files: Vec<FileAccess> = (0..10)
            .map(|i| {
                let access: &[Access] = if i % 2 == 0 {
                    &[Access::Read]
                } else {
                    &[Access::Read, Access::Write]
                };
                file(&format!("/srv/d/f{i:02}"), access)
            })
            .collect();
        files.push(file("/srv/d/m/x", &[Access::Read]));
        files.extend((0..3).map(|i| file(&format!("/srv/d/z{i}"), &[Access::Read])));
        let rec = recording(Some(files));
        let options = AppArmorOptions {
            glob_threshold: 6,
            ..AppArmorOptions::default()
        };
        let policy = decide(&rec, &options).unwrap();
        let glob = FileKey {
            pattern: p("/srv/d/").tokens().chain([Token::AnyRun]).collect(),
            owner: false,
        };
        // Eight read-only files (five before the subdirectory's, three after) are one glob; the
        // five written ones stay below the threshold, each a rule.
        assert_eq!(policy.files[&glob].paths, 8);
        assert_eq!(policy.files[&glob].perms, Perms::parse("r"));
        assert_eq!(rules(&policy).len(), 1 + 5 + 1);
        assert!(policy.files.keys().any(|k| k.pattern == p("/srv/d/m/x")));
    }

    #[test]
    fn exact_bytes_come_from_path_hex() {
        let mut f = file("/tmp/a\u{fffd}", &[Access::Read]);
        f.path_hex = Some("2f746d702f61ff".into());
        assert_eq!(*exact_bytes(&f).unwrap(), *b"/tmp/a\xff");
        f.path_hex = Some("2f7".into());
        assert!(matches!(
            exact_bytes(&f),
            Err(AppArmorPolicyError::BadPathHex { .. })
        ));
        f.path_hex = Some("zz".into());
        assert!(exact_bytes(&f).is_err());
        f.path_hex = Some("+f".into());
        assert!(exact_bytes(&f).is_err());
    }

    #[test]
    fn non_canonical_paths_are_noted_not_ruled() {
        assert!(is_canonical(b"/"));
        assert!(is_canonical(b"/a/..b/c.."));
        assert!(!is_canonical(b"/a/../b"));
        assert!(!is_canonical(b"/a//b"));
        assert!(!is_canonical(b"relative"));
        assert!(!is_canonical(b"/a/./b"));
        let policy = decide(
            &recording(Some(vec![file("/tmp/../etc/shadow", &[Access::Read])])),
            &AppArmorOptions::default(),
        )
        .unwrap();
        assert!(rules(&policy).is_empty());
        assert!(matches!(policy.notes.first(), Some(Note::NotAPath { .. })));
    }

    #[test]
    fn names_are_checked_or_derived() {
        let rec = recording(Some(vec![]));
        let bad = AppArmorOptions {
            name: Some("a b{".into()),
            ..AppArmorOptions::default()
        };
        assert!(matches!(
            decide(&rec, &bad),
            Err(AppArmorPolicyError::InvalidName { .. })
        ));
        assert_eq!(default_name(Some(b"/tmp/x\ny {z}"), &rec.target), "x_y__z_");
        assert_eq!(
            default_name(None, &Target::Cgroup("/sys/fs/cgroup/a.service".into())),
            "a.service"
        );
        assert_eq!(default_name(Some(b"/tmp/.."), &rec.target), "leastpriv");
    }

    #[test]
    fn sockets_and_capabilities() {
        let mut rec = recording(Some(vec![]));
        let socket = |family: &str, kind: &str| -> SocketUse {
            serde_json::from_value(json!({
                "family": family, "type": kind, "protocol": 0, "by": ["/usr/bin/app"],
            }))
            .unwrap()
        };
        rec.sockets = Some(vec![
            socket("AF_INET", "SOCK_STREAM"),
            socket("AF_UNIX", "SOCK_DGRAM"),
            socket("AF_INET", "SOCK_DCCP"),
            socket("99", "SOCK_STREAM"),
        ]);
        rec.capabilities = Some(vec![serde_json::from_value(json!({
            "capability": "CAP_NET_BIND_SERVICE", "number": 10, "audit": "audited",
            "granted": true, "count": 1, "via": [], "syscalls": [], "by": ["/usr/bin/app"],
        }))
        .unwrap()]);
        let policy = decide(&rec, &AppArmorOptions::default()).unwrap();
        assert_eq!(
            policy.network.keys().collect::<Vec<_>>(),
            [&("inet", "stream"), &("unix", "dgram")]
        );
        assert_eq!(
            policy.capabilities.keys().collect::<Vec<_>>(),
            ["net_bind_service"]
        );
        assert_eq!(
            policy
                .notes
                .iter()
                .filter(|n| matches!(n, Note::Socket { .. }))
                .count(),
            2
        );
        rec.sockets = None;
        rec.capabilities = None;
        let policy = decide(&rec, &AppArmorOptions::default()).unwrap();
        assert!(policy.notes.contains(&Note::SocketsNotRecorded));
        assert!(policy.notes.contains(&Note::CapabilitiesNotRecorded));
    }

    #[test]
    fn programs_executed_by_name_get_ix_too() {
        // A script: the kernel reports its interpreter as the executed file; the name it was
        // executed as is in the executables list, and that is what AppArmor checks.
        let mut rec = recording(Some(vec![
            file("/usr/bin/app", &[Access::Exec]),
            file("/usr/bin/bash", &[Access::Exec]),
            file("/opt/app/run.sh", &[Access::Read]),
        ]));
        rec.executables
            .push(serde_json::from_value(json!({"path": "/opt/app/run.sh", "execs": 2})).unwrap());
        let policy = decide(&rec, &AppArmorOptions::default()).unwrap();
        assert_eq!(
            rules(&policy),
            [
                (p("/opt/app/run.sh"), false, Perms::parse("rix")),
                (p("/usr/bin/bash"), false, Perms::parse("ix")),
            ]
        );
    }

    #[test]
    fn a_merged_recording_attaches_to_its_one_program() {
        let mut rec = recording(Some(vec![file("/usr/bin/app", &[Access::Exec])]));
        rec.target = Target::Merged(2);
        let policy = decide(&rec, &AppArmorOptions::default()).unwrap();
        assert_eq!(policy.attachment, Some(p("/usr/bin/app")));
        assert_eq!(policy.name, "app");
    }

    #[test]
    fn the_attachment_is_the_resolved_executable() {
        let exe = |path: &str| file(path, &[Access::Exec]);
        // Same name as executed.
        let policy = decide(
            &recording(Some(vec![exe("/usr/bin/app"), exe("/usr/bin/true")])),
            &AppArmorOptions::default(),
        )
        .unwrap();
        assert_eq!(policy.attachment, Some(p("/usr/bin/app")));
        // Executed through a symlink: the one executed file no name matches.
        let mut rec = recording(Some(vec![exe("/usr/bin/app-1.2"), exe("/usr/bin/true")]));
        rec.executables
            .push(serde_json::from_value(json!({"path": "/usr/bin/true", "execs": 1})).unwrap());
        let policy = decide(&rec, &AppArmorOptions::default()).unwrap();
        assert_eq!(policy.attachment, Some(p("/usr/bin/app-1.2")));
        // Not UTF-8: the exact bytes of the executed file.
        let mut odd = exe("/usr/bin/a\u{fffd}");
        odd.path_hex = Some("2f7573722f62696e2f61ff".into());
        let mut rec = recording(Some(vec![odd]));
        rec.target = Target::Command(vec!["/usr/bin/a\u{fffd}".into()]);
        rec.executables[0].path = "/usr/bin/a\u{fffd}".into();
        let policy = decide(&rec, &AppArmorOptions::default()).unwrap();
        assert_eq!(policy.attachment, Some(Pattern::literal(b"/usr/bin/a\xff")));
        assert_eq!(policy.name, "a_");
        // A cgroup: none.
        rec.target = Target::Cgroup("/sys/fs/cgroup/web.service".into());
        let policy = decide(&rec, &AppArmorOptions::default()).unwrap();
        assert_eq!(policy.attachment, None);
        assert_eq!(policy.name, "web.service");
        assert!(matches!(
            policy.notes.first(),
            Some(Note::NoAttachment { .. })
        ));
    }
}
