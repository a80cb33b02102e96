//! The crate's layout rules, checked on its source: imports point down the data flow
//! (`recording` → `record`, `policy` → `profile` → `review` → `enforce`), never back up, and
//! no two files import each other, directly or through others. Test modules count too.
//!
//! A file's imports are the `crate::`, `super::` and `self::` paths it names (in `use` trees
//! and inline), resolved to the file that defines the longest prefix. A test module
//! (`foo/tests.rs`, or an inline `mod tests` at the end of a file) is a file of its own that
//! may import its parent. The binary (`main.rs`, `cli.rs`, `exit.rs`, `commands/`) imports
//! the library as `leastpriv::` and is not part of the library's graph.

use std::{
    collections::{BTreeMap, BTreeSet},
    fs,
    path::{Path, PathBuf},
};

/// The wings in data-flow order, and which earlier wings each may import.
const WINGS: &[(&str, &[&str])] = &[
    ("recording", &[]),
    ("record", &["recording"]),
    ("policy", &["recording"]),
    ("profile", &["policy", "recording"]),
    ("review", &["profile", "policy", "recording"]),
    (
        "enforce",
        &["review", "profile", "policy", "record", "recording"],
    ),
];

const BINARY: &[&str] = &["main.rs", "cli.rs", "exit.rs", "commands"];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every library source file, as its module path (`record::kernel::btf`), with its text; an
/// inline test module is split off as `<module>::tests`.
fn library_files() -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut stack = vec![src()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let relative = path
                .strip_prefix(src())
                .unwrap()
                .to_string_lossy()
                .into_owned();
            if BINARY
                .iter()
                .any(|b| relative == *b || relative.starts_with(&format!("{b}/")))
            {
                continue;
            }
            if path.is_dir() {
                stack.push(path);
            } else if relative.ends_with(".rs") && relative != "lib.rs" {
                let module = relative
                    .trim_end_matches(".rs")
                    .trim_end_matches("/mod")
                    .replace('/', "::");
                let text = fs::read_to_string(&path).unwrap();
                match text.split_once("\n#[cfg(test)]\nmod tests {") {
                    Some((code, tests)) => {
                        out.insert(format!("{module}::tests"), tests.to_owned());
                        out.insert(module, code.to_owned());
                    }
                    None => {
                        out.insert(module, text);
                    }
                }
            }
        }
    }
    out
}

/// The paths a file names from the crate root: `use crate::{a::{b, c}, d}` gives `a::b`,
/// `a::c`, `d`; `super::` and `self::` paths are made absolute from `module`.
fn crate_paths(module: &str, text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let code: String = text
        .lines()
        .map(|l| l.split("//").next().unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\n");
    let parent = module.rsplit_once("::").map_or("", |(p, _)| p);
    for (root, base) in [("crate::", ""), ("super::", parent), ("self::", module)] {
        let mut rest = code.as_str();
        while let Some(at) = rest.find(root) {
            let preceded_by_path =
                rest[..at].ends_with(|c: char| c.is_alphanumeric() || c == '_' || c == ':');
            rest = &rest[at + root.len()..];
            let end = tree_end(rest);
            if !preceded_by_path {
                expand(base, &rest[..end], &mut out);
            }
            rest = &rest[end..];
        }
    }
    out
}

/// Where a use tree (or an inline path) that starts the text ends.
fn tree_end(text: &str) -> usize {
    let mut depth = 0usize;
    for (i, c) in text.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => return i,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return i + 1;
                }
            }
            c if depth == 0 && !(c.is_alphanumeric() || c == '_' || c == ':') => return i,
            _ => {}
        }
    }
    text.len()
}

fn expand(prefix: &str, tree: &str, out: &mut BTreeSet<String>) {
    let tree = tree.trim();
    if let Some(open) = tree.find('{') {
        let head = tree[..open].trim_end_matches("::");
        let inner = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
        let prefix = join(prefix, head);
        let mut depth = 0usize;
        let mut start = 0;
        for (i, c) in inner.char_indices() {
            match c {
                '{' => depth += 1,
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    expand(&prefix, &inner[start..i], out);
                    start = i + 1;
                }
                _ => {}
            }
        }
        expand(&prefix, &inner[start..], out);
    } else {
        let item = tree.split_whitespace().next().unwrap_or_default();
        let path = join(prefix, item);
        if !path.is_empty() && path != "self" {
            out.insert(path.trim_end_matches("::self").to_owned());
        }
    }
}

fn join(prefix: &str, item: &str) -> String {
    match (prefix.is_empty(), item.is_empty() || item == "self") {
        (true, _) => item.to_owned(),
        (false, true) => prefix.to_owned(),
        (false, false) => format!("{prefix}::{item}"),
    }
}

/// The module file a path lands in: its longest prefix that is a module.
fn module_of<'a>(path: &str, modules: &'a BTreeMap<String, String>) -> Option<&'a str> {
    let parts: Vec<&str> = path.split("::").collect();
    (1..=parts.len())
        .rev()
        .map(|n| parts[..n].join("::"))
        .find_map(|candidate| modules.get_key_value(&candidate).map(|(k, _)| k.as_str()))
}

fn wing(module: &str) -> &str {
    module.split("::").next().unwrap_or_default()
}

/// Paths that start with the name of one of `module`'s own submodules (`btf::Offsets` in
/// `kernel/mod.rs`), made absolute.
fn child_paths(module: &str, text: &str, files: &BTreeMap<String, String>) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for child in files.keys().filter_map(|m| {
        m.strip_prefix(&format!("{module}::"))
            .filter(|rest| !rest.contains("::"))
    }) {
        let needle = format!("{child}::");
        let own = without_foreign_uses(text);
        let mut rest = own.as_str();
        while let Some(at) = rest.find(&needle) {
            let preceded_by_path =
                rest[..at].ends_with(|c: char| c.is_alphanumeric() || c == '_' || c == ':');
            rest = &rest[at + needle.len()..];
            if !preceded_by_path {
                out.insert(format!("{module}::{child}"));
            }
        }
    }
    out
}

/// The text without `use` items of other crates (`use std::{path::Path, ...};`), whose
/// paths could be taken for a submodule's.
fn without_foreign_uses(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find("use ") {
        let statement_start = rest[..at].ends_with(|c: char| c.is_whitespace()) || at == 0;
        let after = &rest[at + "use ".len()..];
        let ours = ["crate::", "self::", "super::"]
            .iter()
            .any(|r| after.starts_with(r));
        out.push_str(&rest[..at]);
        if statement_start && !ours {
            let end = after.find(';').map_or(after.len(), |e| e + 1);
            rest = &after[end..];
        } else {
            out.push_str("use ");
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

fn imports() -> BTreeMap<String, BTreeSet<String>> {
    let files = library_files();
    files
        .iter()
        .map(|(module, text)| {
            let targets = crate_paths(module, text)
                .into_iter()
                .chain(child_paths(module, text, &files))
                .collect::<BTreeSet<_>>()
                .iter()
                .filter_map(|p| module_of(p, &files))
                .filter(|target| target != module)
                .map(str::to_owned)
                .collect();
            (module.clone(), targets)
        })
        .collect()
}

#[test]
fn every_library_file_is_in_a_wing() {
    for module in library_files().keys() {
        assert!(
            WINGS.iter().any(|(w, _)| *w == wing(module)),
            "{module} is in no wing of {WINGS:?}"
        );
    }
}

#[test]
fn wings_import_only_earlier_wings() {
    let mut wrong = Vec::new();
    for (module, targets) in imports() {
        let allowed = WINGS.iter().find(|(w, _)| *w == wing(&module)).unwrap().1;
        for target in targets {
            let to = wing(&target);
            if to != wing(&module) && !allowed.contains(&to) {
                wrong.push(format!("{module} imports {target}"));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "imports against the data flow:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn no_import_circles_between_files() {
    let graph = imports();
    let mut circles = Vec::new();
    for start in graph.keys() {
        // Depth-first from each file: reaching it again is a circle.
        let mut stack: Vec<Vec<&str>> = vec![vec![start.as_str()]];
        let mut seen = BTreeSet::new();
        while let Some(path) = stack.pop() {
            let last = *path.last().unwrap();
            for next in graph.get(last).into_iter().flatten() {
                if next == start {
                    let mut circle = path.clone();
                    circle.push(next);
                    circles.push(circle.join(" -> "));
                } else if seen.insert(next.as_str()) {
                    let mut longer = path.clone();
                    longer.push(next);
                    stack.push(longer);
                }
            }
        }
    }
    assert!(
        circles.is_empty(),
        "import circles:\n{}",
        circles.join("\n")
    );
}

#[test]
fn the_path_expander_reads_nested_use_trees() {
    let paths = crate_paths(
        "x::y",
        "use crate::{a::{b, c::D}, e};\nfn f() { crate::g::h(); }\nuse crate::i::{self, J};\nuse super::K;\n",
    );
    let expected = ["a::b", "a::c::D", "e", "g::h", "i", "i::J", "x::K"];
    assert_eq!(paths, expected.iter().map(|s| (*s).to_owned()).collect());
}
