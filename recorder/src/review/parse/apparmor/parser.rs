//! Tokens → a [`ParsedProfile`]: the header, `abi`, `include`, variable definitions and the
//! rules (docs/review.md). Every file rule's path is checked with the one glob engine.
//!
//! Imports the siblings `profile` and `lex`, and `policy::apparmor::glob`.

use std::collections::BTreeMap;

use super::{
    lex::{lex, Tok, Token},
    profile::{
        error, CapabilityRule, FilePerm, FileRule, NetworkRule, OtherRule, ParseError,
        ParsedProfile, EXEC_MODES,
    },
};
use crate::policy::apparmor::glob::{PathPattern, PatternError, UnknownVariables};

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
