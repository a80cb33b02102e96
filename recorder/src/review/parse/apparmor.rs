//! AppArmor profile text → what it allows, for `diff` (compare two profiles) and `check`
//! (does a recording fit a committed profile). The reverse of `profile::apparmor`.
//!
//! What is read (docs/review.md): one profile per file, with its header (`profile NAME
//! [ATTACHMENT] [flags=(...)] {`, or `ATTACHMENT {`), `abi`, `include` (`#include`,
//! `include if exists`), variable definitions (`@{X} = ...`, `+=`), and these rules, each
//! with the qualifiers `audit`, `allow`, `deny` and `owner`:
//!
//! - file rules, `PATH PERMS [-> TARGET],` with the path quoted or not (and `PERMS PATH,`),
//!   and `file,`;
//! - `network [DOMAIN] [TYPE|PROTOCOL],`;
//! - `capability [NAME...],`;
//! - every other rule (`signal`, `ptrace`, `dbus`, `unix`, `mount`, `change_profile`, ...) is
//!   kept as its text.
//!
//! Comments, blank lines and line breaks inside rules are allowed. Child profiles, hats and
//! conditional blocks are refused, as are more than one profile per file: their rules apply
//! to other programs, and mixing them in would be wrong either way.
//!
//! Paths are kept as written (escapes and all) for `diff`; for `check` they are compiled into
//! [`PathPattern`]s that match exact bytes the way AppArmor does: escapes (`\*`, `\"`,
//! `\012` octal, `\xHH`, `\dDDD`, `\n`, `\t`, `\r`), `?`, `*` and `**` (never across `/`
//! except `**`; right after a `/` at least one character), `[...]` and `[^...]`, `{a,b}`,
//! and the variables of `tunables/global` (`@{HOME}`, `@{pid}`, `@{tid}`, `@{PROC}`, ...)
//! or of the profile itself. Duplicate slashes are one, as in AppArmor.

use std::{
    borrow::Cow,
    collections::{BTreeMap, BTreeSet},
};

use crate::{
    policy::{
        apparmor::{self as policy, Perms},
        capabilities,
    },
    recording::{Access, Accesses, ExePath, Recording},
    review::permission::{Permission, Permissions},
};

/// A profile that cannot be read, with the line where that became clear.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct ParseError {
    pub line: usize,
    pub message: String,
}

fn error<T>(line: usize, message: impl Into<String>) -> Result<T, ParseError> {
    Err(ParseError {
        line,
        message: message.into(),
    })
}

/// One permission of a file rule.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FilePerm {
    /// `r`
    Read,
    /// `w`
    Write,
    /// `a`
    Append,
    /// `l`; `target` restricts what may be linked (`-> TARGET`).
    Link { target: Option<String> },
    /// `k`
    Lock,
    /// `m`
    Mmap,
    /// `ix`, `px`, `Px`, `ux`, `Ux`, `cx`, `Cx`, `pix`, `Pix`, `cix`, `Cix`, `pux`, `PUx`,
    /// `cux`, `CUx` (and `x` in a `deny` rule); `target` is the profile after `->`.
    Exec {
        mode: String,
        target: Option<String>,
    },
}

/// Execute modes AppArmor accepts.
const EXEC_MODES: &[&str] = &[
    "ix", "px", "Px", "ux", "Ux", "cx", "Cx", "pix", "Pix", "cix", "Cix", "pux", "PUx", "cux",
    "CUx",
];

impl FilePerm {
    /// The word `diff` uses (docs/review.md): the recordings' access names where there is one
    /// (`read`, `write`, `append`, `link`, `lock`, `mmap_exec`, and `exec` for `ix`), else
    /// `exec_MODE` (`exec_px`, `exec_Ux`), with `->TARGET` for a named transition or a link
    /// target (`link->/path`).
    pub fn word(&self) -> String {
        match self {
            FilePerm::Read => "read".into(),
            FilePerm::Write => "write".into(),
            FilePerm::Append => "append".into(),
            FilePerm::Link { target: None } => "link".into(),
            FilePerm::Link {
                target: Some(target),
            } => format!("link->{target}"),
            FilePerm::Lock => "lock".into(),
            FilePerm::Mmap => "mmap_exec".into(),
            FilePerm::Exec { mode, target } => {
                let mut word = if mode == "ix" {
                    "exec".to_owned()
                } else {
                    format!("exec_{mode}")
                };
                if let Some(target) = target {
                    word.push_str("->");
                    word.push_str(target);
                }
                word
            }
        }
    }

    /// What it grants, as the generator's [`Perms`]; every execute mode is `x`.
    pub fn perms(&self) -> Perms {
        let mut p = Perms::default();
        match self {
            FilePerm::Read => p.read = true,
            FilePerm::Write => p.write = true,
            FilePerm::Append => p.append = true,
            FilePerm::Link { .. } => p.link = true,
            FilePerm::Lock => p.lock = true,
            FilePerm::Mmap => p.mmap = true,
            FilePerm::Exec { .. } => p.exec = true,
        }
        p
    }
}

/// A file rule: `[owner] PATH PERMS [-> TARGET],`. The target of `l` is not checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileRule {
    pub line: usize,
    pub deny: bool,
    pub owner: bool,
    /// The path as written (without its quotes; escapes kept). `file,` is `/{,**}`.
    pub pattern: String,
    pub perms: Vec<FilePerm>,
}

/// `network [DOMAIN] [TYPE],`: `None` is every domain or type. A protocol (`tcp`, `udp`) is
/// read as its type (`stream`, `dgram`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkRule {
    pub line: usize,
    pub deny: bool,
    pub domain: Option<String>,
    pub kind: Option<String>,
}

/// `capability [NAME...],`: lowercase names without `CAP_`; empty is every capability.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CapabilityRule {
    pub line: usize,
    pub deny: bool,
    pub names: Vec<String>,
}

/// Any other rule, by its text (words separated by one space, without the final comma and
/// the `audit`/`allow`/`deny` qualifiers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtherRule {
    pub line: usize,
    pub deny: bool,
    pub text: String,
}

/// A parsed profile.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ParsedProfile {
    pub name: String,
    /// The attachment as written (without quotes).
    pub attachment: Option<String>,
    /// `flags=(...)`, each flag.
    pub flags: Vec<String>,
    /// `include <abstractions/NAME>`: the names.
    pub abstractions: Vec<String>,
    /// Other includes (not `tunables/...`) as written: `include <local/app>`.
    pub includes: Vec<String>,
    /// Variables the file defines, values as written.
    pub variables: BTreeMap<String, Vec<String>>,
    pub files: Vec<FileRule>,
    pub network: Vec<NetworkRule>,
    pub capabilities: Vec<CapabilityRule>,
    pub other: Vec<OtherRule>,
}

// ---------------------------------------------------------------------------------------
// Tokens

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    /// A bare word (a keyword, an unquoted path, permissions, `<abstractions/base>`).
    Word(String),
    /// The text between double quotes, escapes kept.
    Quoted(String),
    Open,
    Close,
    Comma,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Token {
    tok: Tok,
    line: usize,
}

impl Token {
    fn word(&self) -> Option<&str> {
        match &self.tok {
            Tok::Word(w) => Some(w),
            _ => None,
        }
    }

    /// A word or a quoted string (quoted: the text inside).
    fn text(&self) -> Option<&str> {
        match &self.tok {
            Tok::Word(w) | Tok::Quoted(w) => Some(w),
            _ => None,
        }
    }

    /// As written.
    fn source(&self) -> String {
        match &self.tok {
            Tok::Word(w) => w.clone(),
            Tok::Quoted(q) => format!("\"{q}\""),
            Tok::Open => "{".into(),
            Tok::Close => "}".into(),
            Tok::Comma => ",".into(),
        }
    }
}

/// The end (one past the closing quote) of a quoted string starting at `start`.
fn quoted_end(b: &[u8], start: usize, line: &mut usize) -> Result<usize, ParseError> {
    let first_line = *line;
    let mut j = start + 1;
    while j < b.len() {
        match b[j] {
            b'\\' => {
                if b.get(j + 1) == Some(&b'\n') {
                    *line += 1;
                }
                j += 2;
            }
            b'"' => return Ok(j + 1),
            b'\n' => {
                *line += 1;
                j += 1;
            }
            _ => j += 1,
        }
    }
    error(first_line, "a quoted string is not closed")
}

fn lex(text: &str) -> Result<Vec<Token>, ParseError> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut line = 1;
    let mut i = 0;
    while i < b.len() {
        let here = line;
        let push = |out: &mut Vec<Token>, tok| out.push(Token { tok, line: here });
        match b[i] {
            b'\n' => {
                line += 1;
                i += 1;
            }
            c if c.is_ascii_whitespace() => i += 1,
            b'#' => {
                let include = text[i..].starts_with("#include")
                    && b.get(i + 8)
                        .is_none_or(|c| c.is_ascii_whitespace() || matches!(c, b'<' | b'"'));
                if include {
                    push(&mut out, Tok::Word("include".into()));
                    i += 8;
                } else {
                    while i < b.len() && b[i] != b'\n' {
                        i += 1;
                    }
                }
            }
            b',' => {
                push(&mut out, Tok::Comma);
                i += 1;
            }
            b'{' => {
                push(&mut out, Tok::Open);
                i += 1;
            }
            b'}' => {
                push(&mut out, Tok::Close);
                i += 1;
            }
            b'"' => {
                let end = quoted_end(b, i, &mut line)?;
                push(&mut out, Tok::Quoted(text[i + 1..end - 1].to_owned()));
                i = end;
            }
            b'<' => {
                let Some(len) = b[i..].iter().position(|&c| c == b'>' || c == b'\n') else {
                    return error(here, "`<` is not closed by `>`");
                };
                if b[i + len] != b'>' {
                    return error(here, "`<` is not closed by `>` on its line");
                }
                push(&mut out, Tok::Word(text[i..=i + len].to_owned()));
                i += len + 1;
            }
            _ => {
                let start = i;
                let (mut braces, mut parens, mut class) = (0usize, 0usize, false);
                while i < b.len() {
                    let c = b[i];
                    if c == b'\\' {
                        if b.get(i + 1) == Some(&b'\n') {
                            line += 1;
                        }
                        i = (i + 2).min(b.len());
                        continue;
                    }
                    if class {
                        class = c != b']';
                        i += 1;
                        continue;
                    }
                    let nested = braces > 0 || parens > 0;
                    match c {
                        b'"' => {
                            i = quoted_end(b, i, &mut line)?;
                            continue;
                        }
                        b'[' => class = true,
                        b'(' => parens += 1,
                        b')' => parens = parens.saturating_sub(1),
                        b'{' => {
                            // `profile x{` opens a block; `/{a,b}` is an alternation.
                            if !nested && b.get(i + 1).is_none_or(u8::is_ascii_whitespace) {
                                break;
                            }
                            braces += 1;
                        }
                        b'}' if braces == 0 => break,
                        b'}' => braces -= 1,
                        b',' if !nested => break,
                        b'\n' if !nested => break,
                        b'\n' => line += 1,
                        c if c.is_ascii_whitespace() && !nested => break,
                        _ => {}
                    }
                    i += 1;
                }
                push(&mut out, Tok::Word(text[start..i].to_owned()));
            }
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------
// Statements

/// Parses a profile. Every file rule's path is checked to be a well-formed pattern.
pub fn parse(text: &str) -> Result<ParsedProfile, ParseError> {
    let tokens = lex(text)?;
    let mut parser = Parser {
        tokens,
        pos: 0,
        profile: ParsedProfile::default(),
        seen_profile: false,
    };
    parser.top()?;
    if !parser.seen_profile {
        return error(
            text.lines().count().max(1),
            "no profile (`profile NAME {` or `/path/to/program {`) found",
        );
    }
    Ok(parser.profile)
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    profile: ParsedProfile,
    seen_profile: bool,
}

/// Rule keywords kept as text.
const OTHER_RULES: &[&str] = &[
    "signal",
    "ptrace",
    "dbus",
    "unix",
    "mount",
    "remount",
    "umount",
    "pivot_root",
    "change_profile",
    "change_hat",
    "rlimit",
    "set",
    "link",
    "mqueue",
    "io_uring",
    "userns",
    "all",
    "alias",
];
/// Socket types in `network` rules.
const NETWORK_TYPES: &[&str] = &["stream", "dgram", "seqpacket", "rdm", "raw", "packet"];

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn last_line(&self) -> usize {
        self.tokens.last().map_or(1, |t| t.line)
    }

    /// Tokens up to (not including) the next `,`, `{` or `}`, and that token.
    fn statement(&mut self) -> (Vec<Token>, Option<Token>) {
        let mut words = Vec::new();
        while let Some(t) = self.tokens.get(self.pos).cloned() {
            self.pos += 1;
            match t.tok {
                Tok::Comma | Tok::Open | Tok::Close => return (words, Some(t)),
                _ => words.push(t),
            }
        }
        (words, None)
    }

    fn top(&mut self) -> Result<(), ParseError> {
        while let Some(t) = self.peek().cloned() {
            match &t.tok {
                Tok::Word(w) if w == "include" => self.include()?,
                Tok::Word(w) if self.is_assignment(w) => self.assignment()?,
                Tok::Word(w) if w == "abi" => {
                    let (_, end) = self.statement();
                    if end.map(|e| e.tok) != Some(Tok::Comma) {
                        return error(t.line, "`abi` must end with `,`");
                    }
                }
                Tok::Word(w) if w == "alias" => {
                    let (words, end) = self.statement();
                    if end.map(|e| e.tok) != Some(Tok::Comma) {
                        return error(t.line, "`alias` must end with `,`");
                    }
                    let text = words
                        .iter()
                        .map(Token::source)
                        .collect::<Vec<_>>()
                        .join(" ");
                    self.profile.other.push(OtherRule {
                        line: t.line,
                        deny: false,
                        text,
                    });
                }
                Tok::Comma => return error(t.line, "a rule outside a profile"),
                Tok::Close => return error(t.line, "`}` without a profile"),
                _ => {
                    let (header, end) = self.statement();
                    match end.map(|e| e.tok) {
                        Some(Tok::Open) => {}
                        Some(Tok::Comma) => return error(t.line, "a rule outside a profile"),
                        _ => return error(t.line, "expected a profile header ending in `{`"),
                    }
                    if self.seen_profile {
                        return error(
                            t.line,
                            "more than one profile in the file; keep one profile per file",
                        );
                    }
                    self.seen_profile = true;
                    self.header(&header, t.line)?;
                    self.body(t.line)?;
                }
            }
        }
        Ok(())
    }

    /// `@{NAME} = ...` / `@{NAME} += ...` (the next token is `=`/`+=` when spaced).
    fn is_assignment(&self, word: &str) -> bool {
        let Some(rest) = word
            .strip_prefix("@{")
            .and_then(|r| r.split_once('}'))
            .map(|(_, rest)| rest)
        else {
            return false;
        };
        if rest.starts_with('=') || rest.starts_with("+=") {
            return true;
        }
        rest.is_empty()
            && self
                .tokens
                .get(self.pos + 1)
                .and_then(Token::word)
                .is_some_and(|n| n.starts_with('=') || n.starts_with("+="))
    }

    fn assignment(&mut self) -> Result<(), ParseError> {
        let first = self.tokens[self.pos].clone();
        let line = first.line;
        let word = first.word().unwrap_or_default();
        let (name, rest) = word[2..].split_once('}').unwrap_or_default();
        self.pos += 1;
        let mut text = rest.to_owned();
        if text.is_empty() {
            text = self.tokens[self.pos].word().unwrap_or_default().to_owned();
            self.pos += 1;
        }
        let (append, first_value) = match text.strip_prefix("+=") {
            Some(v) => (true, v.to_owned()),
            None => (false, text.strip_prefix('=').unwrap_or_default().to_owned()),
        };
        let mut values: Vec<String> = Some(first_value)
            .filter(|v| !v.is_empty())
            .into_iter()
            .collect();
        while let Some(t) = self.peek().filter(|t| t.line == line) {
            match t.text() {
                Some(v) => values.push(v.to_owned()),
                None => {
                    return error(
                        line,
                        format!(
                            "unexpected `{}` in the definition of @{{{name}}}",
                            t.source()
                        ),
                    )
                }
            }
            self.pos += 1;
        }
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return error(line, format!("bad variable name @{{{name}}}"));
        }
        if values.is_empty() {
            return error(line, format!("@{{{name}}} is given no value"));
        }
        let slot = self.profile.variables.entry(name.to_owned()).or_default();
        if !append {
            slot.clear();
        }
        slot.extend(values);
        Ok(())
    }

    /// `include [if exists] <NAME>` or `"NAME"`.
    fn include(&mut self) -> Result<(), ParseError> {
        let line = self.tokens[self.pos].line;
        self.pos += 1;
        let mut if_exists = false;
        if self.peek().and_then(Token::word) == Some("if") {
            if self.tokens.get(self.pos + 1).and_then(Token::word) != Some("exists") {
                return error(line, "expected `include if exists`");
            }
            if_exists = true;
            self.pos += 2;
        }
        let Some(target) = self.peek().cloned() else {
            return error(line, "`include` names nothing");
        };
        self.pos += 1;
        let prefix = if if_exists {
            "include if exists"
        } else {
            "include"
        };
        match &target.tok {
            Tok::Word(w) if w.starts_with('<') && w.ends_with('>') && w.len() > 2 => {
                let name = &w[1..w.len() - 1];
                if name.starts_with("tunables/") {
                    // Variable definitions: the ones of tunables/global are built in.
                } else if let Some(abstraction) = name.strip_prefix("abstractions/") {
                    self.profile.abstractions.push(abstraction.to_owned());
                } else {
                    self.profile.includes.push(format!("{prefix} {w}"));
                }
            }
            Tok::Quoted(q) => self.profile.includes.push(format!("{prefix} \"{q}\"")),
            _ => {
                return error(
                    line,
                    format!(
                        "`include` needs <NAME> or \"NAME\", not `{}`",
                        target.source()
                    ),
                )
            }
        }
        Ok(())
    }

    fn header(&mut self, words: &[Token], line: usize) -> Result<(), ParseError> {
        let is_path = |t: &Token| {
            t.text()
                .is_some_and(|s| s.starts_with('/') || s.starts_with("@{"))
                || matches!(&t.tok, Tok::Quoted(_))
        };
        let mut rest = words;
        match rest.first().and_then(Token::word) {
            Some("profile") => {
                let Some(name) = rest.get(1).and_then(Token::text) else {
                    return error(line, "`profile` needs a name");
                };
                self.profile.name = name.to_owned();
                rest = &rest[2..];
                if let Some(attachment) = rest.first().filter(|t| is_path(t)) {
                    self.profile.attachment = attachment.text().map(str::to_owned);
                    rest = &rest[1..];
                }
            }
            Some("hat") => return error(line, "a hat outside a profile"),
            Some(w) if w.starts_with('^') => return error(line, "a hat outside a profile"),
            _ => {
                let Some(attachment) = rest.first().filter(|t| is_path(t)) else {
                    return error(line, "expected `profile NAME` or a program path before `{`");
                };
                let path = attachment.text().unwrap_or_default().to_owned();
                self.profile.name = path.clone();
                self.profile.attachment = Some(path);
                rest = &rest[1..];
            }
        }
        let extra = rest.iter().map(Token::source).collect::<Vec<_>>().join(" ");
        if let Some(at) = extra.find("flags") {
            let after = extra[at + 5..].trim_start();
            let Some(after) = after.strip_prefix('=') else {
                return error(line, "expected `flags=(...)`");
            };
            let after = after.trim_start();
            let list = match after.strip_prefix('(') {
                Some(inner) => match inner.split_once(')') {
                    Some((list, _)) => list,
                    None => return error(line, "`flags=(` is not closed"),
                },
                None => after.split_whitespace().next().unwrap_or_default(),
            };
            self.profile.flags = list
                .split(|c: char| c == ',' || c.is_whitespace())
                .filter(|f| !f.is_empty())
                .map(str::to_owned)
                .collect();
        }
        Ok(())
    }

    fn body(&mut self, header_line: usize) -> Result<(), ParseError> {
        loop {
            let Some(t) = self.peek().cloned() else {
                return error(
                    self.last_line(),
                    format!("the profile opened on line {header_line} is not closed by `}}`"),
                );
            };
            match &t.tok {
                Tok::Close => {
                    self.pos += 1;
                    return Ok(());
                }
                Tok::Comma => self.pos += 1,
                Tok::Word(w) if w == "include" => self.include()?,
                Tok::Word(w) if self.is_assignment(w) => {
                    return error(t.line, "variables must be defined before the profile");
                }
                Tok::Word(w) if w == "abi" => {
                    let (_, end) = self.statement();
                    if end.map(|e| e.tok) != Some(Tok::Comma) {
                        return error(t.line, "`abi` must end with `,`");
                    }
                }
                _ => {
                    let (words, end) = self.statement();
                    match end.map(|e| e.tok) {
                        Some(Tok::Comma) => self.rule(&words, t.line)?,
                        Some(Tok::Open) => {
                            return error(
                                t.line,
                                "child profiles, hats and conditional blocks are not supported",
                            );
                        }
                        _ => return error(t.line, "a rule must end with `,`"),
                    }
                }
            }
        }
    }

    fn rule(&mut self, words: &[Token], line: usize) -> Result<(), ParseError> {
        let (mut deny, mut owner) = (false, false);
        let mut rest = words;
        while let Some(w) = rest.first().and_then(Token::word) {
            match w {
                "audit" | "allow" => {}
                "deny" => deny = true,
                "owner" => owner = true,
                w if w.starts_with("priority=") => {}
                _ => break,
            }
            rest = &rest[1..];
        }
        let Some(first) = rest.first() else {
            return error(line, "a rule with only qualifiers");
        };
        let text = || {
            let mut text = rest.iter().map(Token::source).collect::<Vec<_>>().join(" ");
            if owner {
                text.insert_str(0, "owner ");
            }
            text
        };
        match first.word() {
            Some("capability") => {
                let mut names = Vec::new();
                for t in &rest[1..] {
                    match t.word() {
                        Some(n)
                            if !n.is_empty()
                                && n.bytes().all(|b| {
                                    b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'
                                }) =>
                        {
                            names.push(n.to_owned());
                        }
                        _ => {
                            return error(
                                line,
                                format!("`{}` is not a capability name", t.source()),
                            )
                        }
                    }
                }
                self.profile
                    .capabilities
                    .push(CapabilityRule { line, deny, names });
            }
            Some("network") => {
                let args: Vec<&str> = rest[1..].iter().filter_map(Token::word).collect();
                let simple = args.len() == rest.len() - 1
                    && args.len() <= 2
                    && args.iter().all(|a| {
                        !a.is_empty() && a.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
                    });
                if !simple {
                    self.profile.other.push(OtherRule {
                        line,
                        deny,
                        text: text(),
                    });
                    return Ok(());
                }
                let kind_of = |w: &str| match w {
                    "tcp" => Some("stream".to_owned()),
                    "udp" => Some("dgram".to_owned()),
                    w if NETWORK_TYPES.contains(&w) => Some(w.to_owned()),
                    _ => None,
                };
                let (domain, kind) = match args.as_slice() {
                    [] => (None, None),
                    [one] => match kind_of(one) {
                        Some(kind) => (None, Some(kind)),
                        None => (Some((*one).to_owned()), None),
                    },
                    [domain, kind] => match kind_of(kind) {
                        Some(kind) => (Some((*domain).to_owned()), Some(kind)),
                        None => {
                            return error(
                                line,
                                format!("`{kind}` is not a socket type or protocol"),
                            )
                        }
                    },
                    _ => unreachable!("at most two"),
                };
                self.profile.network.push(NetworkRule {
                    line,
                    deny,
                    domain,
                    kind,
                });
            }
            Some("file") if rest.len() == 1 => {
                let perms = ["m", "r", "w", "l", "k", "ix"]
                    .iter()
                    .flat_map(|p| parse_perms(p, None, false).unwrap_or_default())
                    .collect();
                self.profile.files.push(FileRule {
                    line,
                    deny,
                    owner,
                    pattern: "/{,**}".into(),
                    perms,
                });
            }
            Some("file") => self.file_rule(&rest[1..], line, deny, owner)?,
            Some(w) if OTHER_RULES.contains(&w) || w.starts_with('^') => {
                if w.starts_with('^') {
                    return error(line, "hats are not supported");
                }
                self.profile.other.push(OtherRule {
                    line,
                    deny,
                    text: text(),
                });
            }
            _ => self.file_rule(rest, line, deny, owner)?,
        }
        Ok(())
    }

    /// `PATH PERMS [-> TARGET]` or `PERMS PATH [-> TARGET]`.
    fn file_rule(
        &mut self,
        words: &[Token],
        line: usize,
        deny: bool,
        owner: bool,
    ) -> Result<(), ParseError> {
        let is_path = |t: &Token| match &t.tok {
            Tok::Quoted(_) => true,
            Tok::Word(w) => w.starts_with('/') || w.starts_with("@{"),
            _ => false,
        };
        let (path, perms, tail) = match words {
            [p, perms, tail @ ..] if is_path(p) => (p, perms, tail),
            [perms, p, tail @ ..] if is_path(p) && perms.word().is_some() => (p, perms, tail),
            _ => {
                let text = words
                    .iter()
                    .map(Token::source)
                    .collect::<Vec<_>>()
                    .join(" ");
                return error(line, format!("unrecognised rule `{text}`"));
            }
        };
        let target = match tail {
            [] => None,
            [arrow, target] if arrow.word() == Some("->") => target.text().map(str::to_owned),
            _ => {
                let text = tail.iter().map(Token::source).collect::<Vec<_>>().join(" ");
                return error(line, format!("unexpected `{text}` after the permissions"));
            }
        };
        let Some(letters) = perms.word() else {
            return error(
                line,
                format!("`{}` is not a set of permissions", perms.source()),
            );
        };
        let perms =
            parse_perms(letters, target, deny).map_err(|message| ParseError { line, message })?;
        let pattern = path.text().unwrap_or_default().to_owned();
        // A malformed pattern is a malformed profile (unknown variables are the host's business).
        if let Err(PatternError::Malformed(m)) =
            PathPattern::compile(&pattern, &BTreeMap::new(), UnknownVariables::Anything)
        {
            return error(line, format!("bad path {pattern:?}: {m}"));
        }
        self.profile.files.push(FileRule {
            line,
            deny,
            owner,
            pattern,
            perms,
        });
        Ok(())
    }
}

/// `rwix` → the permissions, in the order written, each once.
/// A plain `x` is only valid in a `deny` rule (`deny_x`).
fn parse_perms(
    letters: &str,
    target: Option<String>,
    deny_x: bool,
) -> Result<Vec<FilePerm>, String> {
    let chars: Vec<char> = letters.chars().collect();
    let mut out: Vec<FilePerm> = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let perm = match chars[i] {
            'r' => FilePerm::Read,
            'w' => FilePerm::Write,
            'a' => FilePerm::Append,
            'l' => FilePerm::Link {
                target: target.clone(),
            },
            'k' => FilePerm::Lock,
            'm' => FilePerm::Mmap,
            'i' | 'p' | 'P' | 'u' | 'U' | 'c' | 'C' => {
                let start = i;
                while i < chars.len() && "ipPuUcC".contains(chars[i]) {
                    i += 1;
                }
                if chars.get(i) != Some(&'x') {
                    return Err(format!(
                        "`{letters}`: an execute mode must end in x (ix, px, ux, ...)"
                    ));
                }
                let mode: String = chars[start..=i].iter().collect();
                if !EXEC_MODES.contains(&mode.as_str()) {
                    return Err(format!("`{letters}`: unknown execute mode {mode}"));
                }
                FilePerm::Exec {
                    mode,
                    target: target.clone(),
                }
            }
            'x' if deny_x => FilePerm::Exec {
                mode: "x".into(),
                target: None,
            },
            'x' => {
                return Err(format!(
                    "`{letters}`: x needs an execute mode (ix, px, ux, ...)"
                ))
            }
            c => return Err(format!("`{letters}`: unknown permission {c:?}")),
        };
        if !out.contains(&perm) {
            out.push(perm);
        }
        i += 1;
    }
    if out.is_empty() {
        return Err("a file rule without permissions".into());
    }
    if target.is_some()
        && !out
            .iter()
            .any(|p| matches!(p, FilePerm::Exec { .. } | FilePerm::Link { .. }))
    {
        return Err(format!(
            "`{letters}`: `->` needs an execute or link permission"
        ));
    }
    Ok(out)
}

pub use crate::policy::apparmor::glob::{PathPattern, PatternError, UnknownVariables};

// ---------------------------------------------------------------------------------------
// Checking a recording against a profile

/// Network rules that abstractions grant (AppArmor 3.0: `nameservice` grants TCP/UDP and
/// netlink); (abstraction, domain, type).
const ABSTRACTION_NETWORK: &[(&str, &str, &str)] = &[
    ("nameservice", "inet", "stream"),
    ("nameservice", "inet6", "stream"),
    ("nameservice", "inet", "dgram"),
    ("nameservice", "inet6", "dgram"),
    ("nameservice", "netlink", "raw"),
];
/// Capabilities that abstractions grant (`nameservice` includes `nis`).
const ABSTRACTION_CAPABILITIES: &[(&str, &str)] = &[("nameservice", "net_bind_service")];

/// A profile ready to check recordings against.
pub struct Checker {
    allow: Vec<(PathPattern, Perms)>,
    deny: Vec<(PathPattern, Perms)>,
    abstractions: Vec<policy::CompiledAbstraction>,
    names: Vec<String>,
    network: Vec<NetworkRule>,
    capabilities: Vec<CapabilityRule>,
    /// What the check cannot see (unknown variables or abstractions).
    pub warnings: Vec<String>,
}

/// What a recording needed that the profile does not allow, and what could not be checked.
#[derive(Debug, Default)]
pub struct CheckReport {
    /// Each missing permission (a file access, a socket, a capability) with the programs that
    /// needed it.
    pub missing: BTreeMap<Permission, BTreeSet<ExePath>>,
    pub notes: Vec<String>,
}

impl ParsedProfile {
    /// Compiles the file rules (a rule with an unknown variable is left out, with a warning)
    /// and picks the built-in abstraction tables for the included abstractions.
    pub fn checker(&self) -> Checker {
        let mut warnings = Vec::new();
        let (mut allow, mut deny) = (Vec::new(), Vec::new());
        for rule in &self.files {
            match PathPattern::compile(&rule.pattern, &self.variables, UnknownVariables::Error) {
                Ok(pattern) => {
                    let perms = rule
                        .perms
                        .iter()
                        .fold(Perms::default(), |acc, p| acc.union(p.perms()));
                    if rule.deny { &mut deny } else { &mut allow }.push((pattern, perms));
                }
                Err(err) => warnings.push(format!(
                    "line {}: {err}; the rule is not counted",
                    rule.line
                )),
            }
        }
        let known = policy::compiled_abstractions();
        let mut abstractions = Vec::new();
        for name in &self.abstractions {
            match known.iter().position(|a| a.name == name) {
                Some(_) => {}
                None => warnings.push(format!(
                    "abstractions/{} is not known to leastpriv; what only it allows is reported as missing",
                    name.escape_debug()
                )),
            }
        }
        for a in known {
            if self.abstractions.iter().any(|n| n == a.name) {
                abstractions.push(a);
            }
        }
        for include in &self.includes {
            warnings.push(format!(
                "{} is not read; what only it allows is reported as missing",
                include.escape_debug()
            ));
        }
        Checker {
            allow,
            deny,
            abstractions,
            names: self.abstractions.clone(),
            network: self.network.clone(),
            capabilities: self.capabilities.clone(),
            warnings,
        }
    }
}

impl Checker {
    /// What the profile's rules and the included abstractions grant on exact path bytes, and
    /// what its deny rules take away.
    pub fn file(&self, path: &[u8]) -> (Perms, Perms) {
        let union = |rules: &[(PathPattern, Perms)]| {
            rules
                .iter()
                .filter(|(p, _)| p.matches(path))
                .fold(Perms::default(), |acc, (_, perms)| acc.union(*perms))
        };
        let granted = self.abstractions.iter().fold(union(&self.allow), |acc, a| {
            acc.union(policy::granted_by(a, path))
        });
        (granted, union(&self.deny))
    }

    fn includes(&self, abstraction: &str) -> bool {
        self.names.iter().any(|n| n == abstraction)
    }

    /// Whether a socket of this AppArmor domain and type is allowed (and not denied).
    pub fn network(&self, domain: &str, kind: &str) -> bool {
        let matches = |r: &&NetworkRule| {
            r.domain.as_deref().is_none_or(|d| d == domain)
                && r.kind.as_deref().is_none_or(|k| k == kind)
        };
        let allowed = self.network.iter().filter(|r| !r.deny).any(|r| matches(&r))
            || ABSTRACTION_NETWORK
                .iter()
                .any(|(a, d, k)| self.includes(a) && *d == domain && *k == kind);
        allowed && !self.network.iter().filter(|r| r.deny).any(|r| matches(&r))
    }

    /// Whether a capability (lowercase, without `CAP_`) is allowed (and not denied).
    pub fn capability(&self, name: &str) -> bool {
        let matches = |r: &&CapabilityRule| r.names.is_empty() || r.names.iter().any(|n| n == name);
        let allowed = self
            .capabilities
            .iter()
            .filter(|r| !r.deny)
            .any(|r| matches(&r))
            || ABSTRACTION_CAPABILITIES
                .iter()
                .any(|(a, c)| self.includes(a) && *c == name);
        allowed
            && !self
                .capabilities
                .iter()
                .filter(|r| r.deny)
                .any(|r| matches(&r))
    }

    /// Every recorded file access, socket and needed capability the profile does not allow.
    /// A file access needs the permissions the generator gives it (docs/apparmor.md: read
    /// `r`, write/create/unlink/chmod/chown/rename `w`, append `a` or `w`, lock `k`, link
    /// `l`, mmap_exec `m`, exec any `x`); a path known to be a directory is matched with a
    /// trailing `/`; `owner` rules are taken to match.
    pub fn check(&self, recording: &Recording) -> CheckReport {
        let mut report = CheckReport::default();
        self.check_files(recording, &mut report);
        match &recording.sockets {
            None => report
                .notes
                .push("the recording holds no sockets; network rules are not checked".into()),
            Some(sockets) => {
                for socket in sockets {
                    let (domain, kind) = apparmor_socket(&socket.family, &socket.kind);
                    if !self.network(&domain, &kind) {
                        report
                            .missing
                            .entry(Permission::Network {
                                family: socket.family.clone(),
                                kind: socket.kind.clone(),
                            })
                            .or_default()
                            .extend(socket.by.iter().cloned());
                    }
                }
            }
        }
        match capabilities::decide(recording) {
            Ok(needed) => {
                for (name, by) in needed.add {
                    let short = name
                        .strip_prefix("CAP_")
                        .unwrap_or(&name)
                        .to_ascii_lowercase();
                    if !self.capability(&short) {
                        report
                            .missing
                            .entry(Permission::Capability { name })
                            .or_default()
                            .extend(by);
                    }
                }
            }
            Err(err) => report
                .notes
                .push(format!("capability rules are not checked: {err}")),
        }
        report
    }

    fn check_files(&self, recording: &Recording, report: &mut CheckReport) {
        let Some(files) = &recording.files else {
            report
                .notes
                .push("the recording holds no file accesses; file rules are not checked".into());
            return;
        };
        // Every recorded path, to tell directories (with something recorded below them).
        let mut all: BTreeSet<Vec<u8>> = recording
            .executables
            .iter()
            .map(|e| e.path.as_bytes().to_vec())
            .collect();
        let mut exact = Vec::new();
        for file in files {
            match policy::exact_bytes(file).map(Cow::into_owned) {
                Ok(bytes) => {
                    all.insert(bytes.clone());
                    exact.push((file, bytes));
                }
                Err(err) => report.notes.push(format!("{err}; not checked")),
            }
        }
        for (file, bytes) in exact {
            if !policy::is_canonical(&bytes) || bytes.contains(&0) {
                report.notes.push(format!(
                    "recorded path \"{}\" is not a canonical absolute path AppArmor can match; not checked",
                    bytes.escape_ascii()
                ));
                continue;
            }
            let mut path = bytes.clone();
            let below = {
                let mut prefix = bytes.clone();
                prefix.push(b'/');
                all.range(prefix.clone()..)
                    .next()
                    .is_some_and(|p| p.starts_with(&prefix))
            };
            let made_dir = file
                .access
                .iter()
                .any(|a| matches!(a, Access::Mkdir | Access::Rmdir));
            if (below || made_dir) && !path.ends_with(b"/") {
                path.push(b'/');
            }
            let (granted, denied) = self.file(&path);
            let shown = file.described();
            for access in file.access.iter() {
                let needed = policy::perms_for(Accesses::of(&[access]));
                if needed.minus(granted).is_empty() && needed.minus(denied) == needed {
                    continue;
                }
                let access = access.name().to_owned();
                report
                    .missing
                    .entry(Permission::File {
                        path: shown.clone(),
                        access,
                    })
                    .or_default()
                    .extend(file.by.iter().cloned());
            }
        }
    }
}

/// A recorded socket family and type as AppArmor names them (as the generator does:
/// `AF_INET` → `inet`, `AF_LOCAL` → `unix`, `SOCK_STREAM` → `stream`).
fn apparmor_socket(family: &str, kind: &str) -> (String, String) {
    let domain = family
        .strip_prefix("AF_")
        .map(str::to_ascii_lowercase)
        .map_or_else(
            || family.to_owned(),
            |f| match f.as_str() {
                "local" | "file" => "unix".to_owned(),
                "route" => "netlink".to_owned(),
                _ => f,
            },
        );
    let kind = kind
        .strip_prefix("SOCK_")
        .map_or_else(|| kind.to_owned(), str::to_ascii_lowercase);
    (domain, kind)
}

/// What an AppArmor profile allows (docs/review.md): a file permission per file rule and
/// permission letter (the path as written, the letter as a word: `read`, `write`, `append`,
/// `link`, `lock`, `mmap_exec`, `exec` for `ix`, `exec_px`, `exec_Ux`, ...; an `owner` rule's
/// as `owner read`, ...), a socket family and type per `network` rule (`inet stream` is
/// `AF_INET SOCK_STREAM`; what a rule leaves out is `*`), a capability per name (`CAP_CHOWN`;
/// `capability,` is `*`), an abstraction per `include <abstractions/NAME>`, and every other
/// rule, include, variable definition and profile flag by its text. A `deny` rule is refused:
/// removing one widens what the profile allows, which a list of added permissions cannot say.
pub fn permissions(profile: &ParsedProfile) -> Result<Permissions, ParseError> {
    let deny_lines = profile
        .files
        .iter()
        .filter(|r| r.deny)
        .map(|r| r.line)
        .chain(profile.network.iter().filter(|r| r.deny).map(|r| r.line))
        .chain(
            profile
                .capabilities
                .iter()
                .filter(|r| r.deny)
                .map(|r| r.line),
        )
        .chain(profile.other.iter().filter(|r| r.deny).map(|r| r.line));
    if let Some(line) = deny_lines.min() {
        return Err(ParseError {
            line,
            message: "a deny rule: diff compares allow rules only (removing a deny rule would widen the profile \
                      without adding a permission); compare the recordings instead"
                .into(),
        });
    }
    let mut out = Permissions::new();
    let mut add = |p: Permission| {
        out.entry(p).or_default();
    };
    for flag in &profile.flags {
        add(Permission::Rule {
            text: format!("flags=({flag})"),
        });
    }
    for (name, values) in &profile.variables {
        add(Permission::Rule {
            text: format!("@{{{name}}} = {}", values.join(" ")),
        });
    }
    for name in &profile.abstractions {
        add(Permission::Abstraction { name: name.clone() });
    }
    for include in &profile.includes {
        add(Permission::Rule {
            text: include.clone(),
        });
    }
    for rule in &profile.capabilities {
        if rule.names.is_empty() {
            add(Permission::Capability { name: "*".into() });
        }
        for name in &rule.names {
            add(Permission::Capability {
                name: format!("CAP_{}", name.to_ascii_uppercase()),
            });
        }
    }
    for rule in &profile.network {
        let family = rule.domain.as_ref().map_or_else(
            || "*".to_owned(),
            |d| format!("AF_{}", d.to_ascii_uppercase()),
        );
        let kind = rule.kind.as_ref().map_or_else(
            || "*".to_owned(),
            |k| format!("SOCK_{}", k.to_ascii_uppercase()),
        );
        add(Permission::Network { family, kind });
    }
    for rule in &profile.files {
        for perm in &rule.perms {
            let word = perm.word();
            let access = if rule.owner {
                format!("owner {word}")
            } else {
                word
            };
            add(Permission::File {
                path: rule.pattern.clone(),
                access,
            });
        }
    }
    for rule in &profile.other {
        add(Permission::Rule {
            text: rule.text.clone(),
        });
    }
    Ok(out)
}

/// Parses an AppArmor profile into permissions (for `diff`).
pub fn parse_permissions(text: &str) -> Result<Permissions, ParseError> {
    permissions(&parse(text)?)
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use super::*;
    use crate::{
        policy::apparmor::{decide, AppArmorOptions},
        profile::apparmor::render,
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
        let text = std::fs::read_to_string(
            workspace().join("tests/golden/apparmor-basic.complain.profile"),
        )
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
            std::fs::read_to_string(workspace().join("tests/golden/apparmor-hostile.profile"))
                .unwrap();
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
        let compiled = |text: &str| {
            PathPattern::compile(text, &BTreeMap::new(), UnknownVariables::Error).unwrap()
        };
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
        let err = |pattern: &str| {
            PathPattern::compile(pattern, &vars, UnknownVariables::Error).unwrap_err()
        };
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
            parse("profile p {\n  /a r,\n  /b w,\n  /c a,\n  /d Px,\n  /e/ r,\n  /f l,\n}\n")
                .unwrap();
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
}
