//! The one AppArmor path glob engine: what a file rule's path matches, in exact bytes.
//!
//! Generation uses it for the embedded abstraction rules a recorded path is matched against
//! (`abstractions`), review for the rules of a profile a recording is checked against
//! (`review::parse::apparmor`): the two cannot disagree on what a pattern matches.
//!
//! The syntax of `apparmor.d(5)`, as `apparmor_parser` compiles it (docs/review.md): escapes
//! (`\*`, `\"`, `\012` octal, `\xHH`, `\dDDD`, `\n`, `\t`, `\r`; any other escaped character
//! stands for itself), `?` (one character other than `/`), `*` (any characters other than
//! `/`), `**` (any characters, `/` too), `*` and `**` right after a `/` needing at least one
//! character, `[...]` and `[^...]`, `{a,b}` (nested), and the variables of `tunables/global`
//! (`@{HOME}`, `@{pid}`, `@{tid}`, `@{PROC}`, ...) or of the profile. Duplicate slashes are
//! one, as `apparmor_parser` filters them. No glob matches a NUL.
//!
//! Imports nothing from the crate: it is the bottom of the AppArmor policy modules, and
//! review may import it.

use std::collections::BTreeMap;

/// Variables of `tunables/global` (AppArmor 3.0) other than the numeric ones, as pattern text.
const TUNABLES: &[(&str, &[&str])] = &[
    ("HOME", &["@{HOMEDIRS}/*/", "/root/"]),
    ("HOMEDIRS", &["/home/"]),
    ("multiarch", &["*-linux-gnu*"]),
    ("PROC", &["/proc/"]),
    ("sys", &["/sys/"]),
    ("run", &["/run/", "/var/run/"]),
    ("etc_ro", &["/etc/", "/usr/etc/"]),
    ("etc_rw", &["/etc/"]),
];
/// Variables that stand for a process or thread id.
const ID_VARIABLES: &[&str] = &["pid", "pids", "tid"];
/// At most this many alternatives per pattern (`{a,b}` and variables multiply).
const MAX_ALTERNATIVES: usize = 4096;

/// A process or thread id as `@{pid}` matches it: 1 to 7 digits, no leading zero, at most
/// 4999999.
pub(crate) fn is_pid(s: &[u8]) -> bool {
    !s.is_empty()
        && s.len() <= 7
        && s.iter().all(u8::is_ascii_digit)
        && s[0] != b'0'
        && (s.len() < 7 || s[0] <= b'4')
}

/// What to do with a variable that neither the profile nor `tunables/global` defines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnknownVariables {
    /// Refuse the pattern.
    Error,
    /// Match anything there (`**`): for a conservative risk rating.
    Anything,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatternError {
    #[error("@{{{0}}} is defined neither in the profile nor in tunables/global")]
    UnknownVariable(String),
    #[error("{0}")]
    Malformed(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Item {
    Byte(u8),
    /// `?`
    One,
    /// `*` (`min_one`: right after a `/`)
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
    /// `@{pid}`, `@{tid}`
    Id,
}

impl Item {
    /// Whether the item matches a varying number of bytes (matching may backtrack over it).
    fn varies(&self) -> bool {
        matches!(self, Item::Star { .. } | Item::StarStar { .. } | Item::Id)
    }
}

#[derive(Debug, Clone)]
enum Node {
    Item(Item),
    Alt(Vec<Vec<Node>>),
}

/// One alternative of a pattern: a flat item sequence, and the literal bytes it starts with
/// (a cheap test that rules out most paths before matching).
#[derive(Debug, Clone)]
struct Alternative {
    literal: Vec<u8>,
    items: Vec<Item>,
    /// More than one item of varying width: without memory of what failed, matching could
    /// take exponential time.
    backtracks: bool,
}

impl Alternative {
    fn new(items: Vec<Item>) -> Alternative {
        let literal = items
            .iter()
            .map_while(|item| match item {
                Item::Byte(b) => Some(*b),
                _ => None,
            })
            .collect();
        let backtracks = items.iter().filter(|i| i.varies()).count() > 1;
        Alternative {
            literal,
            items,
            backtracks,
        }
    }

    fn matches(&self, path: &[u8]) -> bool {
        let start = self.literal.len();
        path.starts_with(&self.literal) && Matcher::new(self, path).at(start, start)
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

/// A compiled AppArmor path pattern: the alternatives of its `{a,b}` groups and variables.
#[derive(Debug, Clone)]
pub struct PathPattern(Vec<Alternative>);

impl PathPattern {
    /// Compiles a pattern as written in a profile. `variables` are the profile's own; those of
    /// `tunables/global` are built in.
    pub fn compile(
        text: &str,
        variables: &BTreeMap<String, Vec<String>>,
        unknown: UnknownVariables,
    ) -> Result<PathPattern, PatternError> {
        let mut compiler = Compiler {
            variables,
            unknown,
            depth: 0,
            nesting: 0,
        };
        let nodes = compiler.nodes(text.as_bytes())?;
        let alternatives = expand(&nodes)?;
        Ok(PathPattern(
            alternatives
                .into_iter()
                .map(|items| Alternative::new(finish(items)))
                .collect(),
        ))
    }

    /// Compiles an embedded rule (trusted text: panics on a malformed one).
    pub(crate) fn parse(text: &str) -> PathPattern {
        PathPattern::compile(text, &BTreeMap::new(), UnknownVariables::Error)
            .unwrap_or_else(|err| panic!("embedded rule {text:?}: {err}"))
    }

    /// Whether the pattern matches these exact bytes, as AppArmor would.
    pub fn matches(&self, path: &[u8]) -> bool {
        self.0.iter().any(|alt| alt.matches(path))
    }

    /// Whether it matches one path only (no glob, alternation or variable).
    pub fn is_exact(&self) -> bool {
        self.0.len() == 1 && self.0[0].items.iter().all(|i| matches!(i, Item::Byte(_)))
    }

    /// Whether it may match `dir` or a path below it (`dir` ends in `/`): some alternative's
    /// literal start lies in `dir`, or, before a glob, leads into it.
    pub fn may_reach(&self, dir: &[u8]) -> bool {
        self.0.iter().any(|alt| {
            let prefix = &alt.literal;
            prefix.starts_with(dir) || (prefix.len() < alt.items.len() && dir.starts_with(prefix))
        })
    }
}

/// Patterns with a value each, indexed by the first path component each alternative names:
/// a path is matched only against the alternatives under its own first directory (and the
/// few that do not name one). A million paths outside every pattern then cost one lookup
/// each, not a match against every pattern.
pub(crate) struct Index<T> {
    entries: Vec<(Alternative, T)>,
    /// First component → the entries under it, sorted by component.
    by_root: Vec<(Vec<u8>, Vec<usize>)>,
    /// Entries whose first component is not literal: tried on every path.
    anywhere: Vec<usize>,
}

impl<T: Clone> Index<T> {
    pub(crate) fn new(patterns: impl IntoIterator<Item = (PathPattern, T)>) -> Index<T> {
        let entries: Vec<(Alternative, T)> = patterns
            .into_iter()
            .flat_map(|(pattern, value)| {
                pattern
                    .0
                    .into_iter()
                    .map(move |alternative| (alternative, value.clone()))
            })
            .collect();
        let mut by_root: Vec<(Vec<u8>, Vec<usize>)> = Vec::new();
        let mut anywhere = Vec::new();
        for (i, (alternative, _)) in entries.iter().enumerate() {
            let Some(root) = alternative.root() else {
                anywhere.push(i);
                continue;
            };
            match by_root.binary_search_by(|(r, _)| r.as_slice().cmp(root)) {
                Ok(at) => by_root[at].1.push(i),
                Err(at) => by_root.insert(at, (root.to_vec(), vec![i])),
            }
        }
        Index {
            entries,
            by_root,
            anywhere,
        }
    }
}

impl<T> Index<T> {
    /// The values of the patterns that match this exact path (a pattern's once for each of
    /// its alternatives that matches).
    pub(crate) fn matching<'s>(&'s self, path: &'s [u8]) -> impl Iterator<Item = &'s T> + 's {
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
            .map(|&i| &self.entries[i])
            .filter(move |(alternative, _)| alternative.matches(path))
            .map(|(_, value)| value)
    }
}

struct Compiler<'a> {
    variables: &'a BTreeMap<String, Vec<String>>,
    unknown: UnknownVariables,
    depth: usize,
    /// How many `{` are open where the compiler is: bounded by [`MAX_NESTING`].
    nesting: usize,
}

/// The deepest `{...}` nesting a pattern may have. The compiler recurses once per level, so
/// a hostile profile could otherwise exhaust the stack; `apparmor_parser` refuses deeper
/// nesting too.
const MAX_NESTING: usize = 50;

impl Compiler<'_> {
    fn nodes(&mut self, text: &[u8]) -> Result<Vec<Node>, PatternError> {
        let mut i = 0;
        let nodes = self.sequence(text, &mut i, false)?;
        Ok(nodes)
    }

    /// A sequence up to the end, or (in an alternation) up to `,` or `}`.
    fn sequence(
        &mut self,
        b: &[u8],
        i: &mut usize,
        in_alt: bool,
    ) -> Result<Vec<Node>, PatternError> {
        let bad = |m: &str| Err(PatternError::Malformed(m.to_owned()));
        let mut out = Vec::new();
        while *i < b.len() {
            match b[*i] {
                b'\\' => {
                    for byte in escape(b, i)? {
                        out.push(Node::Item(Item::Byte(byte)));
                    }
                }
                b'*' if b.get(*i + 1) == Some(&b'*') => {
                    out.push(Node::Item(Item::StarStar { min_one: false }));
                    *i += 2;
                    while b.get(*i) == Some(&b'*') {
                        *i += 1;
                    }
                }
                b'*' => {
                    out.push(Node::Item(Item::Star { min_one: false }));
                    *i += 1;
                }
                b'?' => {
                    out.push(Node::Item(Item::One));
                    *i += 1;
                }
                b'[' => out.push(Node::Item(class(b, i)?)),
                b'@' if b.get(*i + 1) == Some(&b'{') => {
                    let Some(len) = b[*i..].iter().position(|&c| c == b'}') else {
                        return bad("`@{` is not closed");
                    };
                    let name = String::from_utf8_lossy(&b[*i + 2..*i + len]).into_owned();
                    *i += len + 1;
                    out.push(self.variable(&name)?);
                }
                b'{' => {
                    if self.nesting >= MAX_NESTING {
                        return bad("`{` nested more than 50 deep");
                    }
                    *i += 1;
                    self.nesting += 1;
                    let mut alternatives = Vec::new();
                    loop {
                        let alternative = self.sequence(b, i, true);
                        alternatives.push(alternative?);
                        match b.get(*i) {
                            Some(b',') => *i += 1,
                            Some(b'}') => {
                                *i += 1;
                                break;
                            }
                            _ => return bad("`{` is not closed"),
                        }
                    }
                    self.nesting -= 1;
                    out.push(Node::Alt(alternatives));
                }
                b',' | b'}' if in_alt => return Ok(out),
                b'}' => return bad("`}` without `{`"),
                byte => {
                    out.push(Node::Item(Item::Byte(byte)));
                    *i += 1;
                }
            }
        }
        if in_alt {
            return bad("`{` is not closed");
        }
        Ok(out)
    }

    fn variable(&mut self, name: &str) -> Result<Node, PatternError> {
        if ID_VARIABLES.contains(&name) {
            return Ok(Node::Item(Item::Id));
        }
        let values: Vec<String> = match self.variables.get(name) {
            Some(values) => values.clone(),
            None => match TUNABLES.iter().find(|(n, _)| *n == name) {
                Some((_, values)) => values.iter().map(|v| (*v).to_owned()).collect(),
                None => {
                    return match self.unknown {
                        UnknownVariables::Error => {
                            Err(PatternError::UnknownVariable(name.to_owned()))
                        }
                        UnknownVariables::Anything => {
                            Ok(Node::Item(Item::StarStar { min_one: false }))
                        }
                    };
                }
            },
        };
        if self.depth > 8 {
            return Err(PatternError::Malformed(format!(
                "@{{{name}}} refers to itself"
            )));
        }
        self.depth += 1;
        let alternatives = values
            .iter()
            .map(|v| self.nodes(v.as_bytes()))
            .collect::<Result<Vec<_>, _>>();
        self.depth -= 1;
        Ok(Node::Alt(alternatives?))
    }
}

/// One escape at `b[*i]` (a backslash): the bytes it stands for.
fn escape(b: &[u8], i: &mut usize) -> Result<Vec<u8>, PatternError> {
    let Some(&next) = b.get(*i + 1) else {
        return Err(PatternError::Malformed("a trailing backslash".into()));
    };
    let digits = |radix: u32, max: usize, from: usize| -> (u32, usize) {
        let mut value = 0;
        let mut n = 0;
        while n < max {
            match b.get(from + n).and_then(|&c| char::from(c).to_digit(radix)) {
                Some(d) => value = value * radix + d,
                None => break,
            }
            n += 1;
        }
        (value, n)
    };
    let (value, used) = match next {
        b'0'..=b'7' => {
            let (v, n) = digits(8, 3, *i + 1);
            (v, 1 + n)
        }
        b'x' | b'd' => {
            let (radix, max) = if next == b'x' { (16, 2) } else { (10, 3) };
            let (v, n) = digits(radix, max, *i + 2);
            if n == 0 {
                return Err(PatternError::Malformed(format!(
                    "`\\{}` without digits",
                    char::from(next)
                )));
            }
            (v, 2 + n)
        }
        b'n' => (u32::from(b'\n'), 2),
        b't' => (u32::from(b'\t'), 2),
        b'r' => (u32::from(b'\r'), 2),
        _ => {
            // Any other character stands for itself (all its bytes).
            let len = match next {
                0x00..=0x7f => 1,
                0xc0..=0xdf => 2,
                0xe0..=0xef => 3,
                _ => 4,
            };
            let end = (*i + 1 + len).min(b.len());
            let bytes = b[*i + 1..end].to_vec();
            *i = end;
            return Ok(bytes);
        }
    };
    let byte = u8::try_from(value)
        .map_err(|_| PatternError::Malformed(format!("escape value {value} is above 255")))?;
    *i += used;
    Ok(vec![byte])
}

/// `[...]` at `b[*i]`.
fn class(b: &[u8], i: &mut usize) -> Result<Item, PatternError> {
    let mut j = *i + 1;
    let negated = b.get(j) == Some(&b'^');
    if negated {
        j += 1;
    }
    let mut members = Vec::new();
    loop {
        match b.get(j) {
            None => return Err(PatternError::Malformed("`[` is not closed".into())),
            Some(b']') => break,
            Some(b'\\') => {
                let bytes = escape(b, &mut j)?;
                members.extend(bytes);
            }
            Some(&c) => {
                members.push(c);
                j += 1;
            }
        }
        // A range: the member just read, `-`, and the next one.
        if b.get(j) == Some(&b'-') && b.get(j + 1).is_some_and(|&c| c != b']') {
            j += 1;
            let high = if b[j] == b'\\' {
                escape(b, &mut j)?
            } else {
                j += 1;
                vec![b[j - 1]]
            };
            let (Some(low), Some(&high)) = (members.pop(), high.first()) else {
                return Err(PatternError::Malformed("a bad range in `[...]`".into()));
            };
            if low > high {
                return Err(PatternError::Malformed(format!(
                    "range {}-{} is backwards",
                    char::from(low),
                    char::from(high)
                )));
            }
            members.extend(low..=high);
        }
    }
    if members.is_empty() {
        return Err(PatternError::Malformed("an empty `[]`".into()));
    }
    *i = j + 1;
    let mut set = Box::new([false; 256]);
    for m in members {
        set[usize::from(m)] = true;
    }
    Ok(Item::Class { set, negated })
}

/// The alternatives of a node sequence, each a flat item sequence.
fn expand(nodes: &[Node]) -> Result<Vec<Vec<Item>>, PatternError> {
    let mut alternatives: Vec<Vec<Item>> = vec![Vec::new()];
    for node in nodes {
        match node {
            Node::Item(item) => alternatives.iter_mut().for_each(|a| a.push(item.clone())),
            Node::Alt(choices) => {
                let mut options = Vec::new();
                for choice in choices {
                    options.extend(expand(choice)?);
                }
                if alternatives.len().saturating_mul(options.len()) > MAX_ALTERNATIVES {
                    return Err(PatternError::Malformed(format!(
                        "more than {MAX_ALTERNATIVES} alternatives"
                    )));
                }
                alternatives = alternatives
                    .iter()
                    .flat_map(|a| {
                        options
                            .iter()
                            .map(move |o| a.iter().chain(o).cloned().collect())
                    })
                    .collect();
            }
        }
    }
    Ok(alternatives)
}

/// Duplicate slashes become one; `*` and `**` right after a `/` need a character.
fn finish(items: Vec<Item>) -> Vec<Item> {
    let mut out: Vec<Item> = Vec::with_capacity(items.len());
    for item in items {
        let after_slash = out.last() == Some(&Item::Byte(b'/'));
        match item {
            Item::Byte(b'/') if after_slash => {}
            Item::Star { .. } => out.push(Item::Star {
                min_one: after_slash,
            }),
            Item::StarStar { .. } => out.push(Item::StarStar {
                min_one: after_slash,
            }),
            other => out.push(other),
        }
    }
    out
}

/// Matching with memory of what failed (globs backtrack): a bit per (item, position), kept
/// only for an alternative that can backtrack, inline for most paths.
struct Matcher<'a> {
    items: &'a [Item],
    s: &'a [u8],
    failed: smallvec::SmallVec<[u64; 8]>,
}

impl<'a> Matcher<'a> {
    fn new(alternative: &'a Alternative, s: &'a [u8]) -> Self {
        let items = &alternative.items;
        let bits = if alternative.backtracks {
            (items.len() + 1) * (s.len() + 1)
        } else {
            0
        };
        Matcher {
            items,
            s,
            failed: smallvec::smallvec![0; bits.div_ceil(64)],
        }
    }

    fn at(&mut self, item: usize, pos: usize) -> bool {
        if self.failed.is_empty() {
            return self.step(item, pos);
        }
        let key = item * (self.s.len() + 1) + pos;
        let (word, bit) = (key / 64, 1 << (key % 64));
        if self.failed[word] & bit != 0 {
            return false;
        }
        let matched = self.step(item, pos);
        if !matched {
            self.failed[word] |= bit;
        }
        matched
    }

    fn step(&mut self, item: usize, pos: usize) -> bool {
        let s = self.s;
        let Some(first) = self.items.get(item) else {
            return pos == s.len();
        };
        let rest = &s[pos..];
        match first {
            Item::Byte(b) => rest.first() == Some(b) && self.at(item + 1, pos + 1),
            Item::One => {
                rest.first().is_some_and(|&c| c != b'/' && c != 0) && self.at(item + 1, pos + 1)
            }
            Item::Class { set, negated } => {
                rest.first().is_some_and(|&c| {
                    c != 0 && (set[usize::from(c)] != *negated) && (!*negated || c != b'/')
                }) && self.at(item + 1, pos + 1)
            }
            Item::Star { min_one } => {
                let limit = rest
                    .iter()
                    .position(|&c| c == b'/' || c == 0)
                    .unwrap_or(rest.len());
                (usize::from(*min_one)..=limit).any(|k| self.at(item + 1, pos + k))
            }
            Item::StarStar { min_one } => {
                if *min_one && rest.first().is_none_or(|&c| c == b'/' || c == 0) {
                    return false;
                }
                let limit = rest.iter().position(|&c| c == 0).unwrap_or(rest.len());
                (usize::from(*min_one)..=limit).any(|k| self.at(item + 1, pos + k))
            }
            Item::Id => {
                let digits = rest.iter().take_while(|c| c.is_ascii_digit()).count();
                (1..=digits.min(7)).any(|k| is_pid(&rest[..k]) && self.at(item + 1, pos + k))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::{PathPattern, UnknownVariables};

    /// Nesting is bounded before it can exhaust the stack, with the limit apparmor_parser has.
    #[test]
    fn nesting_is_bounded() {
        let nested = |depth: usize| format!("/{}a{}", "{".repeat(depth), "}".repeat(depth));
        let compile =
            |text: &str| PathPattern::compile(text, &BTreeMap::new(), UnknownVariables::Error);
        assert!(compile(&nested(50)).unwrap().matches(b"/a"));
        let err = compile(&nested(51)).unwrap_err();
        assert!(
            err.to_string().contains("nested more than 50 deep"),
            "{err}"
        );
        assert!(compile(&nested(100_000)).is_err());
    }

    #[test]
    fn globs_match_like_apparmor() {
        let g = PathPattern::parse("/{usr/,}lib{,32,64}/**.so*");
        assert!(g.matches(b"/usr/lib/x86_64-linux-gnu/libc.so.6"));
        assert!(g.matches(b"/lib64/ld.so"));
        assert!(!g.matches(b"/usr/local/lib/libc.so.6"));
        let g = PathPattern::parse("/usr/lib/*-linux-gnu*/gconv/*.so");
        assert!(g.matches(b"/usr/lib/x86_64-linux-gnu/gconv/UTF-16.so"));
        assert!(!g.matches(b"/usr/lib/x86_64-linux-gnu/gconv/sub/UTF-16.so"));
        let g = PathPattern::parse("/proc/@{pid}/{maps,auxv,status}");
        assert!(g.matches(b"/proc/1234/status"));
        assert!(!g.matches(b"/proc/self/status"));
        assert!(!g.matches(b"/proc/0123/status"));
        let g = PathPattern::parse("/dev/pts/[0-9]*");
        assert!(g.matches(b"/dev/pts/3"));
        assert!(!g.matches(b"/dev/pts/x"));
        let g = PathPattern::parse("/etc/{,libre}ssl/certs/{,**}");
        assert!(g.matches(b"/etc/ssl/certs/"));
        assert!(g.matches(b"/etc/ssl/certs/ca-certificates.crt"));
        assert!(!g.matches(b"/etc/ssl/private/key"));
        let g = PathPattern::parse("/usr/{local/,}lib{,32,64}/python3.{1,}[0-9]/lib-dynload/*.so");
        assert!(g.matches(b"/usr/lib/python3.11/lib-dynload/_ssl.so"));
        // `*` right after `/` needs a character, as in AppArmor.
        let g = PathPattern::parse("/tmp/*");
        assert!(!g.matches(b"/tmp/"));
        assert!(g.matches(b"/tmp/a"));
        let g = PathPattern::parse("/usr/share/**/locale/**");
        assert!(g.matches(b"/usr/share/foo/bar/locale/de/x.mo"));
    }

    /// Matching with and without the memory of what failed agree, and a pattern that would
    /// backtrack exponentially without it answers at once.
    #[test]
    fn backtracking_is_bounded() {
        let g = PathPattern::parse("/a/**x**x**x**x**x**x**x**y");
        let mut path = b"/a/".to_vec();
        path.extend(std::iter::repeat_n(b'x', 200));
        assert!(!g.matches(&path));
        path.push(b'y');
        assert!(g.matches(&path));
        let g = PathPattern::parse("/a/*b");
        assert!(g.matches(b"/a/bbb"));
        assert!(!g.matches(b"/a/bbc"));
    }
}
