//! AppArmor profile text → tokens: words, quoted strings (escapes kept), braces and commas,
//! each with its line; comments and blank space dropped.
//!
//! Imports only the sibling `profile` (the error).

use super::profile::{error, ParseError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Tok {
    /// A bare word (a keyword, an unquoted path, permissions, `<abstractions/base>`).
    Word(String),
    /// The text between double quotes, escapes kept.
    Quoted(String),
    Open,
    Close,
    Comma,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Token {
    pub(super) tok: Tok,
    pub(super) line: usize,
}

impl Token {
    pub(super) fn word(&self) -> Option<&str> {
        match &self.tok {
            Tok::Word(w) => Some(w),
            _ => None,
        }
    }

    /// A word or a quoted string (quoted: the text inside).
    pub(super) fn text(&self) -> Option<&str> {
        match &self.tok {
            Tok::Word(w) | Tok::Quoted(w) => Some(w),
            _ => None,
        }
    }

    /// As written.
    pub(super) fn source(&self) -> String {
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

pub(super) fn lex(text: &str) -> Result<Vec<Token>, ParseError> {
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
