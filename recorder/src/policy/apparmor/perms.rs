//! AppArmor file permissions, and the fewest that cover recorded accesses.
//!
//! Imports only `recording` (the accesses).

use crate::recording::{Access, Accesses};

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
    pub(super) fn parse(letters: &str) -> Perms {
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
    pub(super) fn is_read_only(self) -> bool {
        !(self.write || self.append || self.link)
    }
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
