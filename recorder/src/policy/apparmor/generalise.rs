//! Generalisation: run-varying names become patterns, by named rules a reviewer can follow
//! (`home`, `proc-pid`, `temp-name`, `library-version`, `dir-glob`; docs/apparmor.md), and
//! the patterns and file rules they make.
//!
//! Imports the sibling modules `glob` (what `@{pid}` matches), `perms` and `note`; nothing
//! from `mod.rs` (the decision flow that calls it).

use std::collections::{hash_map::Entry, BTreeMap, BTreeSet, HashMap};

use super::{glob::is_pid, note::Note, perms::Perms};

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
    pub(super) fn decode_all(mut code: &[u8]) -> impl Iterator<Item = Token> + '_ {
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
    pub(super) fn split_last(&self) -> (&[u8], &[u8]) {
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
    /// A content-addressed name the workload made (git's `objects/xx/` directories and the
    /// 38 or 62 hex digits of an object's name, a 40- or 64-digit digest) → one `?` per digit.
    ContentAddress,
    /// The name AppArmor gives an unnamed (`O_TMPFILE`) file, `#` and its inode number →
    /// `#*` (AppArmor cannot say "digits only" of a run of any length).
    TmpFile,
}

impl Generalisation {
    /// Every rule, in order (`Generalisation as u8` indexes it).
    const ALL: [Generalisation; 7] = [
        Generalisation::Home,
        Generalisation::ProcPid,
        Generalisation::TempName,
        Generalisation::LibraryVersion,
        Generalisation::DirGlob,
        Generalisation::ContentAddress,
        Generalisation::TmpFile,
    ];

    /// The name used in the profile's comments and in docs/apparmor.md.
    pub fn name(self) -> &'static str {
        match self {
            Generalisation::Home => "home",
            Generalisation::ProcPid => "proc-pid",
            Generalisation::TempName => "temp-name",
            Generalisation::LibraryVersion => "library-version",
            Generalisation::DirGlob => "dir-glob",
            Generalisation::ContentAddress => "content-address",
            Generalisation::TmpFile => "o-tmpfile",
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
    pub(super) fn absorb(&mut self, other: FileRule) {
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

// ---------------------------------------------------------------------------------------
// Generalisation

/// The pattern for one recorded path, and the rules that shaped it. (Kept for callers of
/// this signature; the decision flow uses [`generalise_run`].)
#[allow(dead_code)]
pub(super) fn generalise(
    path: &[u8],
    perms: Perms,
    made: &BTreeSet<&[u8]>,
    notes: &mut BTreeSet<Note>,
) -> (Pattern, Generalisations) {
    generalise_run(path, perms, made, &BTreeSet::new(), notes)
}

/// As [`generalise`], knowing also the names the workload both made and removed in the run
/// (`transient`): a temporary name there may be all random, of any letters (Python's
/// tempfile names are 8 of `[a-z0-9_]`, all letters in one run out of sixteen).
pub(super) fn generalise_run(
    path: &[u8],
    perms: Perms,
    made: &BTreeSet<&[u8]>,
    transient: &BTreeSet<&[u8]>,
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
        let parent = n.checked_sub(1).map(|p| comps[p]);
        let grandparent = n.checked_sub(2).map(|p| comps[p]);
        if made_here && is_content_address(comp, parent, grandparent) {
            tokens.extend(std::iter::repeat_n(Token::AnyChar, comp.len()));
            rules.insert(Generalisation::ContentAddress);
        } else if last && !is_dir && is_tmpfile_name(comp) {
            tokens.extend([Token::Byte(b'#'), Token::AnyRun]);
            rules.insert(Generalisation::TmpFile);
        } else if let Some(start) = transient
            .contains(prefix)
            .then(|| numeric_suffix_start(comp))
            .flatten()
        {
            literal(&comp[..start], &mut tokens, &mut inexact);
            tokens.push(Token::AnyRun);
            rules.insert(Generalisation::TempName);
        } else if let Some(random) = transient
            .contains(prefix)
            .then(|| transient_random_part(comp))
            .flatten()
            .or_else(|| made_here.then(|| temp_name_random_part(comp)).flatten())
        {
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

/// The random part of a temporary name, as a byte range of the component:
/// - `tmp`/`temp` (any case), an optional `.`, `-` or `_`, then 6 or more of `[A-Za-z0-9_]`
///   (mkstemp, mktemp, Python's tempfile);
/// - or a name ending (before an optional extension) in a random-looking run after `.`, `-`
///   or `_` of 6 to 32 of `[A-Za-z0-9]`, or, without a separator, in 6 such characters
///   (mkstemp's `XXXXXX`): random-looking means letters and digits mixed, or both cases.
///
/// An optional extension (`.` and 1 to 8 letters or digits) stays literal.
pub(super) fn temp_name_random_part(comp: &[u8]) -> Option<std::ops::Range<usize>> {
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

/// A content-addressed name: two hex digits in a directory named `objects` (git's fan-out
/// directories), the 38 or 62 hex digits of a name in such a directory, or a whole name of
/// 40 or 64 hex digits (a SHA-1 or SHA-256 digest).
fn is_content_address(comp: &[u8], parent: Option<&[u8]>, grandparent: Option<&[u8]>) -> bool {
    let hex = comp.iter().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    let fan_out =
        |c: Option<&[u8]>| c.is_some_and(|c| c.len() == 2 && c.iter().all(u8::is_ascii_hexdigit));
    hex && match comp.len() {
        2 => parent == Some(b"objects"),
        38 | 62 => fan_out(parent) && grandparent == Some(b"objects"),
        40 | 64 => true,
        _ => false,
    }
}

/// AppArmor's name for an unnamed file (`O_TMPFILE`): `#` and the inode number.
pub(super) fn is_tmpfile_name(comp: &[u8]) -> bool {
    comp.len() > 1 && comp[0] == b'#' && comp[1..].iter().all(u8::is_ascii_digit)
}

/// The random part of a name the workload made and removed in the same run. Python's
/// tempfile names are 8 of `[a-z0-9_]` after a prefix and before a suffix the caller chose
/// (`tmp`, `.txt`), and any 8 may come out, all letters in one run out of sixteen, so such
/// a name need not look random: it lived only during the run. A name of another length
/// goes to mkstemp's shape (a lowercase word and six characters) or to
/// [`temp_name_random_part`], and a `.lock` stays literal (git's `config.lock`).
pub(super) fn transient_random_part(comp: &[u8]) -> Option<std::ops::Range<usize>> {
    if comp.ends_with(b".lock") {
        return None;
    }
    // Any case: gcc's `ccXXXXXX` is also eight, and must come out the same whichever six
    // characters it drew.
    let python = |b: &u8| b.is_ascii_alphanumeric() || *b == b'_';
    let end = match comp.iter().rposition(|&b| b == b'.') {
        Some(dot) if dot > 0 && (1..=8).contains(&(comp.len() - dot - 1)) => dot,
        _ => comp.len(),
    };
    let stem = &comp[..end];
    // No prefix, `tmp`, or a prefix the caller chose ending in `-` (`pytest-`).
    let dash = stem.iter().rposition(|&b| b == b'-').map_or(0, |i| i + 1);
    for start in [0, 3, dash] {
        let run = &stem[start.min(stem.len())..];
        if (start != 3 || stem.starts_with(b"tmp")) && run.len() == 8 && run.iter().all(python) {
            return Some(start..end);
        }
    }
    // mkstemp's template: a short lowercase word and six of `[A-Za-z0-9]` (git's `tAbC12d`
    // probe, `sedXyZ123`) holding an upper-case letter or a digit: six lower-case letters
    // stay literal, or a pid file `service.pid` would become `s??????.pid` (one name of
    // mkstemp's in two hundred is all lower case, and then differs from run to run).
    let word_len = stem.iter().take_while(|b| b.is_ascii_lowercase()).count();
    let six = &stem[stem.len().saturating_sub(6)..];
    if stem.len() >= 7
        && (1..=8).contains(&(stem.len() - 6))
        && word_len >= stem.len() - 6
        && six.iter().all(u8::is_ascii_alphanumeric)
        && six
            .iter()
            .any(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
    {
        return Some(stem.len() - 6..end);
    }
    temp_name_random_part(comp)
}

/// Python's atomic writes (`path.<id>`, the `.pyc` it writes and renames): a name the
/// workload made and renamed away, ending in `.` and 6 or more digits, the address of an
/// object. Its digits, and how many there are, vary: `.*` from the dot on.
pub(super) fn numeric_suffix_start(comp: &[u8]) -> Option<usize> {
    let dot = comp.iter().rposition(|&b| b == b'.')?;
    let digits = &comp[dot + 1..];
    (dot > 0 && digits.len() >= 6 && digits.iter().all(u8::is_ascii_digit)).then_some(dot + 1)
}

/// Letters and digits mixed, or lower and upper case mixed.
fn looks_random(run: &[u8]) -> bool {
    let digit = run.iter().any(u8::is_ascii_digit);
    let lower = run.iter().any(u8::is_ascii_lowercase);
    let upper = run.iter().any(u8::is_ascii_uppercase);
    (digit && (lower || upper)) || (lower && upper)
}

/// `libfoo.so.1.2.3` → `libfoo.so` (a shared object name with a numeric version suffix).
pub(super) fn library_stem(comp: &[u8]) -> Option<&[u8]> {
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
pub(super) fn glob_directories(
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
pub(super) fn drop_redundant_owner_rules(files: &mut BTreeMap<FileKey, FileRule>) {
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
