//! LandlockConfig files read back (landlockconfig's format): JSON with camelCase keys, or
//! TOML with snake_case keys. Several `ruleset` entries are united, as landlockconfig does;
//! `abi.*` groups are expanded for the file's `abi`. Variables (`variable`, `${name}`) are
//! refused: leastpriv does not write them, and a rule must name one exact path.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
};

use serde::Deserialize;

use crate::{
    policy::landlock::{
        AccessFs, AccessNet, FsRights, LandlockPolicy, NetRights, PathRule, Scope, Scopes,
        NEWEST_ABI,
    },
    review::permission::{Permission, Permissions},
};

#[derive(Debug, thiserror::Error)]
pub enum LandlockConfigError {
    #[error("cannot read Landlock configuration {path}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not a LandlockConfig (JSON)")]
    ParseJson {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("{path} is not a LandlockConfig (TOML)")]
    ParseToml {
        path: PathBuf,
        source: toml::de::Error,
    },
    #[error("{path}: {what}")]
    Invalid { path: PathBuf, what: String },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct JsonFile {
    abi: Option<u64>,
    variable: Option<serde_json::Value>,
    #[serde(default)]
    ruleset: Vec<RulesetEntry>,
    #[serde(default)]
    path_beneath: Vec<PathBeneathEntry>,
    #[serde(default)]
    net_port: Vec<NetPortEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RulesetEntry {
    handled_access_fs: Option<Vec<String>>,
    handled_access_net: Option<Vec<String>>,
    scoped: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct PathBeneathEntry {
    allowed_access: Vec<String>,
    parent: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct NetPortEntry {
    allowed_access: Vec<String>,
    port: Vec<u64>,
}

/// The same file in TOML, whose keys are snake_case.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TomlFile {
    abi: Option<u64>,
    variable: Option<toml::Value>,
    #[serde(default)]
    ruleset: Vec<TomlRuleset>,
    #[serde(default)]
    path_beneath: Vec<TomlPathBeneath>,
    #[serde(default)]
    net_port: Vec<TomlNetPort>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TomlRuleset {
    handled_access_fs: Option<Vec<String>>,
    handled_access_net: Option<Vec<String>>,
    scoped: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TomlPathBeneath {
    allowed_access: Vec<String>,
    parent: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TomlNetPort {
    allowed_access: Vec<String>,
    port: Vec<u64>,
}

impl From<TomlFile> for JsonFile {
    fn from(file: TomlFile) -> JsonFile {
        JsonFile {
            abi: file.abi,
            variable: file.variable.map(|_| serde_json::Value::Null),
            ruleset: file
                .ruleset
                .into_iter()
                .map(|r| RulesetEntry {
                    handled_access_fs: r.handled_access_fs,
                    handled_access_net: r.handled_access_net,
                    scoped: r.scoped,
                })
                .collect(),
            path_beneath: file
                .path_beneath
                .into_iter()
                .map(|p| PathBeneathEntry {
                    allowed_access: p.allowed_access,
                    parent: p.parent,
                })
                .collect(),
            net_port: file
                .net_port
                .into_iter()
                .map(|n| NetPortEntry {
                    allowed_access: n.allowed_access,
                    port: n.port,
                })
                .collect(),
        }
    }
}

/// What a configuration allows, for `diff`: each rule's rights as file permissions (the
/// right's name as the access, on the rule's path and everything beneath it), each port rule
/// as a port, and every right the configuration does not handle (allowed everywhere) as an
/// `unrestricted` rule.
pub fn permissions(policy: &LandlockPolicy) -> Permissions {
    let mut out = Permissions::new();
    for (path, rule) in &policy.paths {
        for right in rule.access.iter() {
            out.entry(Permission::File {
                path: path.clone(),
                access: right.name().to_owned(),
            })
            .or_default();
        }
    }
    for (&port, rights) in &policy.ports {
        for right in rights.iter() {
            let op = match right {
                AccessNet::BindTcp => "bind",
                AccessNet::ConnectTcp => "connect",
            };
            out.entry(Permission::Port {
                protocol: "tcp".into(),
                op: op.into(),
                port,
                peer: "*".into(),
            })
            .or_default();
        }
    }
    for right in FsRights::all(NEWEST_ABI).minus(policy.handled_fs).iter() {
        out.entry(Permission::Rule {
            text: format!("unrestricted {}", right.name()),
        })
        .or_default();
    }
    for right in NetRights::all(NEWEST_ABI).minus(policy.handled_net).iter() {
        out.entry(Permission::Rule {
            text: format!("unrestricted {}", right.name()),
        })
        .or_default();
    }
    for scope in Scopes::all(NEWEST_ABI).iter() {
        if !policy.scoped.contains(scope) {
            out.entry(Permission::Rule {
                text: format!("unrestricted {}", scope.name()),
            })
            .or_default();
        }
    }
    out
}

/// Reads a LandlockConfig file.
pub fn read(path: &Path) -> Result<LandlockPolicy, LandlockConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| LandlockConfigError::Read {
        path: path.into(),
        source,
    })?;
    parse(path, &text)
}

/// Whether text looks like a LandlockConfig (for `diff` and `check`, which take files of
/// several kinds): JSON with a `ruleset` or `pathBeneath` key, or TOML with `[[ruleset]]`.
pub fn looks_like(text: &str) -> bool {
    let start = text.trim_start();
    if start.starts_with('{') {
        return text.contains("\"ruleset\"") || text.contains("\"pathBeneath\"");
    }
    text.lines().any(|line| {
        let line = line.trim();
        line == "[[ruleset]]" || line == "[[path_beneath]]"
    })
}

/// Parses configuration text (JSON when it starts with `{`, else TOML); `path` only names
/// the source in errors.
pub fn parse(path: &Path, text: &str) -> Result<LandlockPolicy, LandlockConfigError> {
    let file: JsonFile = if text.trim_start().starts_with('{') {
        serde_json::from_str(text).map_err(|source| LandlockConfigError::ParseJson {
            path: path.into(),
            source,
        })?
    } else {
        toml::from_str::<TomlFile>(text)
            .map_err(|source| LandlockConfigError::ParseToml {
                path: path.into(),
                source,
            })?
            .into()
    };
    resolve(file).map_err(|what| LandlockConfigError::Invalid {
        path: path.into(),
        what,
    })
}

fn resolve(file: JsonFile) -> Result<LandlockPolicy, String> {
    if file.variable.is_some() {
        return Err("variables are not supported: name every path exactly".into());
    }
    let abi = match file.abi {
        None => None,
        Some(abi @ 1..=0x7fff_ffff) if abi <= u64::from(NEWEST_ABI) => Some(abi as u32),
        Some(abi) => {
            return Err(format!(
                "abi {abi} is not one this leastpriv knows (1 to {NEWEST_ABI})"
            ))
        }
    };
    if file.ruleset.is_empty() {
        return Err("no ruleset: a configuration must say which accesses it handles".into());
    }
    let mut handled_fs = FsRights::default();
    let mut handled_net = NetRights::default();
    let mut scoped = Scopes::default();
    for (n, ruleset) in file.ruleset.iter().enumerate() {
        if ruleset.handled_access_fs.is_none()
            && ruleset.handled_access_net.is_none()
            && ruleset.scoped.is_none()
        {
            return Err(format!("ruleset {} is empty", n + 1));
        }
        let at = |what: &str| format!("ruleset {}, {what}", n + 1);
        if let Some(names) = &ruleset.handled_access_fs {
            handled_fs = handled_fs.union(fs_rights(names, abi, &at("handledAccessFs"))?);
        }
        if let Some(names) = &ruleset.handled_access_net {
            handled_net = handled_net.union(net_rights(names, abi, &at("handledAccessNet"))?);
        }
        if let Some(names) = &ruleset.scoped {
            non_empty(names, &at("scoped"))?;
            for name in names {
                match (name.as_str(), abi) {
                    ("abi.all", Some(abi)) => {
                        scoped = Scopes(scoped.0 | Scopes::all(abi).0);
                    }
                    ("abi.all", None) => {
                        return Err(format!("{}: abi.all needs abi", at("scoped")))
                    }
                    (name, _) => scoped.insert(
                        Scope::from_name(name)
                            .ok_or_else(|| format!("{}: unknown scope {name:?}", at("scoped")))?,
                    ),
                }
            }
        }
    }
    let mut paths: BTreeMap<String, PathRule> = BTreeMap::new();
    for (n, entry) in file.path_beneath.iter().enumerate() {
        let at = format!("pathBeneath {}", n + 1);
        let rights = fs_rights(&entry.allowed_access, abi, &format!("{at}, allowedAccess"))?;
        let unhandled = rights.minus(handled_fs);
        if !unhandled.is_empty() {
            return Err(format!(
                "{at} allows {unhandled}, which no ruleset handles (Landlock refuses such a rule)"
            ));
        }
        non_empty(&entry.parent, &format!("{at}, parent"))?;
        for parent in &entry.parent {
            if parent.is_empty() || parent.contains('\0') {
                return Err(format!("{at}: parent {parent:?} is not a path"));
            }
            let rule = paths.entry(parent.clone()).or_default();
            rule.access = rule.access.union(rights);
        }
    }
    let mut ports: BTreeMap<u16, NetRights> = BTreeMap::new();
    for (n, entry) in file.net_port.iter().enumerate() {
        let at = format!("netPort {}", n + 1);
        let rights = net_rights(&entry.allowed_access, abi, &format!("{at}, allowedAccess"))?;
        let unhandled = rights.minus(handled_net);
        if !unhandled.is_empty() {
            return Err(format!(
                "{at} allows {}, which no ruleset handles (Landlock refuses such a rule)",
                unhandled.names().join(", ")
            ));
        }
        non_empty(&entry.port, &format!("{at}, port"))?;
        for &port in &entry.port {
            let port = u16::try_from(port)
                .map_err(|_| format!("{at}: port {port} is not a TCP port (0 to 65535)"))?;
            let granted = ports.entry(port).or_default();
            *granted = granted.union(rights);
        }
    }
    // An ABI too old for what is named is an error: the file cannot mean it.
    let abi = abi.unwrap_or_else(|| needed_abi(handled_fs, handled_net, scoped));
    let too_new = handled_fs.minus(FsRights::all(abi));
    if !too_new.is_empty() {
        return Err(format!("abi {abi} has no {too_new}"));
    }
    if !handled_net.is_empty() && abi < AccessNet::SINCE {
        return Err(format!(
            "abi {abi} has no network rights (ABI 4 brought them)"
        ));
    }
    if !scoped.is_empty() && abi < Scope::SINCE {
        return Err(format!("abi {abi} has no scopes (ABI 6 brought them)"));
    }
    Ok(LandlockPolicy {
        abi,
        handled_fs,
        handled_net,
        scoped,
        paths,
        ports,
        notes: Default::default(),
        recorded_paths: 0,
    })
}

/// The oldest ABI that has everything named.
fn needed_abi(fs: FsRights, net: NetRights, scoped: Scopes) -> u32 {
    let mut abi = fs.iter().map(AccessFs::since).max().unwrap_or(1);
    if !net.is_empty() {
        abi = abi.max(AccessNet::SINCE);
    }
    if !scoped.is_empty() {
        abi = abi.max(Scope::SINCE);
    }
    abi
}

fn non_empty<T>(list: &[T], at: &str) -> Result<(), String> {
    if list.is_empty() {
        return Err(format!("{at} is empty"));
    }
    Ok(())
}

fn fs_rights(names: &[String], abi: Option<u32>, at: &str) -> Result<FsRights, String> {
    non_empty(names, at)?;
    let mut rights = FsRights::default();
    for name in names {
        let group = match name.as_str() {
            "abi.all" => Some(FsRights::all as fn(u32) -> FsRights),
            "abi.read_execute" => Some(FsRights::read_execute as fn(u32) -> FsRights),
            "abi.read_write" => Some(FsRights::read_write as fn(u32) -> FsRights),
            _ => None,
        };
        let granted = match (group, abi) {
            (Some(group), Some(abi)) => group(abi),
            (Some(_), None) => return Err(format!("{at}: {name} needs abi")),
            (None, _) => FsRights::of(&[AccessFs::from_name(name).ok_or_else(|| {
                format!(
                    "{at}: unknown access right {name:?} (known: abi.all, abi.read_execute, abi.read_write, {})",
                    FsRights::all(NEWEST_ABI)
                )
            })?]),
        };
        rights = rights.union(granted);
    }
    Ok(rights)
}

fn net_rights(names: &[String], abi: Option<u32>, at: &str) -> Result<NetRights, String> {
    non_empty(names, at)?;
    let mut rights = NetRights::default();
    for name in names {
        match (name.as_str(), abi) {
            ("abi.all", Some(abi)) => rights = rights.union(NetRights::all(abi)),
            ("abi.all", None) => return Err(format!("{at}: abi.all needs abi")),
            (name, _) => rights.insert(AccessNet::from_name(name).ok_or_else(|| {
                format!(
                    "{at}: unknown access right {name:?} (known: abi.all, bind_tcp, connect_tcp)"
                )
            })?),
        }
    }
    Ok(rights)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_text(text: &str) -> Result<LandlockPolicy, String> {
        parse(Path::new("c.json"), text).map_err(|e| {
            let mut message = e.to_string();
            if let Some(source) = std::error::Error::source(&e) {
                message.push_str(&format!(": {source}"));
            }
            message
        })
    }

    #[test]
    fn reads_json_and_toml_alike() {
        let json = r#"{"abi": 5, "ruleset": [{"handledAccessFs": ["abi.all"], "handledAccessNet": ["bind_tcp"]}],
            "pathBeneath": [{"allowedAccess": ["abi.read_execute"], "parent": ["/usr", "/etc"]},
                            {"allowedAccess": ["abi.read_write"], "parent": ["/tmp"]}],
            "netPort": [{"allowedAccess": ["bind_tcp"], "port": [80, 443]}]}"#;
        let toml = r#"abi = 5
[[ruleset]]
handled_access_fs = ["abi.all"]
handled_access_net = ["bind_tcp"]
[[path_beneath]]
allowed_access = ["abi.read_execute"]
parent = ["/usr", "/etc"]
[[path_beneath]]
allowed_access = ["abi.read_write"]
parent = ["/tmp"]
[[net_port]]
allowed_access = ["bind_tcp"]
port = [80, 443]
"#;
        let from_json = parse_text(json).unwrap();
        let from_toml = parse(Path::new("c.toml"), toml).unwrap();
        assert_eq!(from_json, from_toml);
        assert_eq!(from_json.handled_fs, FsRights::all(5));
        assert!(from_json.paths["/usr"].access.contains(AccessFs::Refer));
        assert!(!from_json.paths["/tmp"].access.contains(AccessFs::Execute));
        assert_eq!(from_json.ports.len(), 2);
    }

    #[test]
    fn bad_configurations_say_what_is_wrong() {
        let base = |rest: &str| {
            format!(r#"{{"abi": 7, "ruleset": [{{"handledAccessFs": ["read_file"]}}]{rest}}}"#)
        };
        let err = parse_text(&base(
            r#", "pathBeneath": [{"allowedAccess": ["read_files"], "parent": ["/"]}]"#,
        ))
        .unwrap_err();
        assert!(err.contains("unknown access right \"read_files\""), "{err}");
        let err = parse_text(&base(
            r#", "pathBeneath": [{"allowedAccess": "read_file", "parent": ["/"]}]"#,
        ))
        .unwrap_err();
        assert!(err.contains("not a LandlockConfig"), "{err}");
        let err = parse_text(&base(
            r#", "pathBeneath": [{"allowedAccess": ["write_file"], "parent": ["/"]}]"#,
        ))
        .unwrap_err();
        assert!(err.contains("which no ruleset handles"), "{err}");
        let err = parse_text(r#"{"abi": 9, "ruleset": [{"handledAccessFs": ["read_file"]}]}"#)
            .unwrap_err();
        assert!(
            err.contains("abi 9 is not one this leastpriv knows"),
            "{err}"
        );
        let err = parse_text(r#"{"abi": 2, "ruleset": [{"handledAccessFs": ["ioctl_dev"]}]}"#)
            .unwrap_err();
        assert!(err.contains("abi 2 has no ioctl_dev"), "{err}");
        let err = parse_text(&base(
            r#", "netPort": [{"allowedAccess": ["bind_tcp"], "port": [70000]}]"#,
        ))
        .unwrap_err();
        assert!(err.contains("which no ruleset handles"), "{err}");
        let err =
            parse_text(r#"{"variable": [{"name": "x"}], "ruleset": [{"scoped": ["signal"]}]}"#)
                .unwrap_err();
        assert!(err.contains("variables are not supported"), "{err}");
        let err = parse_text(
            r#"{"abi": 7, "ruleset": [{"handledAccessFs": ["read_file"]}], "extra": 1}"#,
        )
        .unwrap_err();
        assert!(err.contains("unknown field"), "{err}");
    }

    #[test]
    fn looks_like_tells_configs_from_other_profiles() {
        assert!(looks_like(r#"{"abi": 7, "ruleset": []}"#));
        assert!(looks_like("abi = 7\n[[ruleset]]\n"));
        assert!(!looks_like(r#"{"defaultAction": "SCMP_ACT_ERRNO"}"#));
        assert!(!looks_like("profile x {\n}\n"));
    }
}
