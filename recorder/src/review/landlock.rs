//! What a recorded run did that a Landlock configuration would refuse: for `check` and
//! `run --landlock --complain`. Each recorded access needs the rights the generator would
//! give it ([`own_rights`] on the path, [`parent_rights`] on its directory); a configuration
//! grants a path the rights of its rules on the path and on every directory above it.
//! `refer` and `ioctl_dev` are not asked: the recording does not tell which renames crossed
//! directories, nor which files received ioctls.

use std::collections::BTreeMap;

use crate::{
    policy::landlock::{
        is_canonical, own_rights, parent_rights, strip_slash, AccessFs, FsRights, LandlockPolicy,
    },
    recording::{Access, ExePath, Recording},
};

/// A recorded path and the rights a configuration lacks for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The path the rights are needed on (a file, or the directory a name was made in).
    pub path: String,
    pub lacking: FsRights,
    pub by: Vec<ExePath>,
}

/// The rights `policy` grants on `path` (canonical, no trailing `/`).
fn granted(policy: &LandlockPolicy, path: &str) -> FsRights {
    let mut rights = policy.paths.get(path).map(|r| r.access).unwrap_or_default();
    for (end, b) in path.bytes().enumerate() {
        if b == b'/' {
            let ancestor = if end == 0 { "/" } else { &path[..end] };
            if let Some(rule) = policy.paths.get(ancestor) {
                rights = rights.union(rule.access);
            }
        }
    }
    rights
}

/// Every recorded access `policy` would refuse, by path.
pub fn would_refuse(policy: &LandlockPolicy, recording: &Recording) -> Vec<Refusal> {
    let not_asked = FsRights::of(&[AccessFs::Refer, AccessFs::IoctlDev]);
    let asked = policy.handled_fs.minus(not_asked);
    let mut lacking: BTreeMap<String, (FsRights, Vec<ExePath>)> = BTreeMap::new();
    let mut need = |path: &str, rights: FsRights, by: &[ExePath]| {
        let missing = rights.intersection(asked).minus(granted(policy, path));
        if missing.is_empty() {
            return;
        }
        let entry = lacking.entry(path.to_owned()).or_default();
        entry.0 = entry.0.union(missing);
        for exe in by {
            if !entry.1.contains(exe) {
                entry.1.push(exe.clone());
            }
        }
    };
    let executed = recording.executables.iter().map(|e| {
        let access = crate::recording::Accesses::of(&[Access::Exec]);
        (e.path.clone(), access, Vec::new())
    });
    // Paths a configuration cannot name are reported by the generator, not here.
    let files = recording
        .files
        .iter()
        .flatten()
        .filter(|f| f.path_hex.is_none())
        .map(|f| (f.path.clone(), f.access, f.by.to_vec()));
    for (path, access, by) in files.chain(executed) {
        if !is_canonical(path.as_bytes()) || path.contains('\0') {
            continue;
        }
        let is_dir = path.ends_with('/');
        let body = std::str::from_utf8(strip_slash(path.as_bytes())).unwrap_or("/");
        let made = access.intersects(crate::recording::Accesses::of(&[
            Access::Create,
            Access::Mkdir,
            Access::RenameTo,
            Access::Link,
            Access::Symlink,
        ]));
        let parent = match body.rfind('/') {
            Some(0) | None => "/",
            Some(end) => &body[..end],
        };
        // A name made during the run is opened through its directory's rules.
        let own_at = if made { parent } else { body };
        need(own_at, own_rights(access, is_dir, false), &by);
        need(parent, parent_rights(access, is_dir), &by);
    }
    lacking
        .into_iter()
        .map(|(path, (lacking, mut by))| {
            by.sort();
            Refusal { path, lacking, by }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        policy::landlock::decide,
        recording::{Accesses, FileAccess},
    };

    #[test]
    fn a_generated_configuration_refuses_nothing_recorded_and_a_narrower_one_does() {
        let mut recording = Recording::for_tests(&[]);
        let file = |path: &str, access: &[Access]| {
            FileAccess::new(
                path.as_bytes().to_vec(),
                Accesses::of(access),
                [ExePath::from("/bin/x")].into(),
            )
        };
        recording.files = Some(vec![
            file("/etc/hosts", &[Access::Read]),
            file("/proc/77/stat", &[Access::Read]),
            file("/srv/out", &[Access::Create, Access::Write]),
        ]);
        let mut policy = decide(&recording, 7).unwrap();
        assert_eq!(would_refuse(&policy, &recording), []);
        policy.paths.remove("/srv");
        let refused = would_refuse(&policy, &recording);
        assert_eq!(refused.len(), 1);
        assert_eq!(refused[0].path, "/srv");
        assert_eq!(
            refused[0].lacking.names(),
            ["write_file", "make_reg", "truncate"]
        );
        assert_eq!(refused[0].by, [ExePath::from("/bin/x")]);
    }
}
