//! Landlock's access rights and scopes, by the names the landlockconfig format gives them,
//! and which ABI brought each.
//!
//! Kept here, in the policy wing, rather than taken from the `landlock` crate: generating and
//! reading a configuration needs no kernel, and the crate lives with enforcement. The bit of
//! each right is the kernel's (`LANDLOCK_ACCESS_FS_*`, `LANDLOCK_ACCESS_NET_*`,
//! `LANDLOCK_SCOPE_*`), so enforcement converts by value.
//!
//! Imports nothing from the crate.

use std::fmt;

/// The newest Landlock ABI this build writes and reads: the landlockconfig schema names no
/// right newer than ABI 7's.
pub const NEWEST_ABI: u32 = 7;

/// A filesystem access right. The discriminant is the kernel's bit number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AccessFs {
    Execute = 0,
    WriteFile = 1,
    ReadFile = 2,
    ReadDir = 3,
    RemoveDir = 4,
    RemoveFile = 5,
    MakeChar = 6,
    MakeDir = 7,
    MakeReg = 8,
    MakeSock = 9,
    MakeFifo = 10,
    MakeBlock = 11,
    MakeSym = 12,
    Refer = 13,
    Truncate = 14,
    IoctlDev = 15,
}

impl AccessFs {
    pub const ALL: [AccessFs; 16] = [
        AccessFs::Execute,
        AccessFs::WriteFile,
        AccessFs::ReadFile,
        AccessFs::ReadDir,
        AccessFs::RemoveDir,
        AccessFs::RemoveFile,
        AccessFs::MakeChar,
        AccessFs::MakeDir,
        AccessFs::MakeReg,
        AccessFs::MakeSock,
        AccessFs::MakeFifo,
        AccessFs::MakeBlock,
        AccessFs::MakeSym,
        AccessFs::Refer,
        AccessFs::Truncate,
        AccessFs::IoctlDev,
    ];

    /// The name in landlockconfig files.
    pub fn name(self) -> &'static str {
        match self {
            AccessFs::Execute => "execute",
            AccessFs::WriteFile => "write_file",
            AccessFs::ReadFile => "read_file",
            AccessFs::ReadDir => "read_dir",
            AccessFs::RemoveDir => "remove_dir",
            AccessFs::RemoveFile => "remove_file",
            AccessFs::MakeChar => "make_char",
            AccessFs::MakeDir => "make_dir",
            AccessFs::MakeReg => "make_reg",
            AccessFs::MakeSock => "make_sock",
            AccessFs::MakeFifo => "make_fifo",
            AccessFs::MakeBlock => "make_block",
            AccessFs::MakeSym => "make_sym",
            AccessFs::Refer => "refer",
            AccessFs::Truncate => "truncate",
            AccessFs::IoctlDev => "ioctl_dev",
        }
    }

    /// The ABI that brought the right.
    pub fn since(self) -> u32 {
        match self {
            AccessFs::Refer => 2,
            AccessFs::Truncate => 3,
            AccessFs::IoctlDev => 5,
            _ => 1,
        }
    }

    /// The right of this name, if it is one.
    pub fn from_name(name: &str) -> Option<AccessFs> {
        AccessFs::ALL.into_iter().find(|a| a.name() == name)
    }
}

/// A set of filesystem rights, as the kernel's bits.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FsRights(pub u64);

impl FsRights {
    pub const fn of(rights: &[AccessFs]) -> FsRights {
        let mut bits = 0;
        let mut i = 0;
        while i < rights.len() {
            bits |= 1 << rights[i] as u64;
            i += 1;
        }
        FsRights(bits)
    }

    /// The rights that apply to a file (not a directory): a rule on a file may hold only these.
    pub const FILE: FsRights = FsRights::of(&[
        AccessFs::Execute,
        AccessFs::WriteFile,
        AccessFs::ReadFile,
        AccessFs::Truncate,
        AccessFs::IoctlDev,
    ]);

    /// Every right the ABI knows (what `abi.all` means).
    pub fn all(abi: u32) -> FsRights {
        AccessFs::ALL
            .into_iter()
            .filter(|a| a.since() <= abi)
            .collect()
    }

    /// landlockconfig's `abi.read_execute`: execute, read_file, read_dir, and refer from ABI 2.
    pub fn read_execute(abi: u32) -> FsRights {
        FsRights::of(&[AccessFs::Execute, AccessFs::ReadFile, AccessFs::ReadDir])
            .union(FsRights::of(&[AccessFs::Refer]).intersection(FsRights::all(abi)))
    }

    /// landlockconfig's `abi.read_write`: every right of the ABI but execute.
    pub fn read_write(abi: u32) -> FsRights {
        FsRights::all(abi).minus(FsRights::of(&[AccessFs::Execute]))
    }

    pub fn contains(self, right: AccessFs) -> bool {
        self.0 & (1 << right as u64) != 0
    }

    pub fn insert(&mut self, right: AccessFs) {
        self.0 |= 1 << right as u64;
    }

    pub fn union(self, other: FsRights) -> FsRights {
        FsRights(self.0 | other.0)
    }

    pub fn intersection(self, other: FsRights) -> FsRights {
        FsRights(self.0 & other.0)
    }

    pub fn minus(self, other: FsRights) -> FsRights {
        FsRights(self.0 & !other.0)
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Whether every right is in `other`.
    pub fn is_subset(self, other: FsRights) -> bool {
        self.minus(other).is_empty()
    }

    pub fn iter(self) -> impl Iterator<Item = AccessFs> {
        AccessFs::ALL.into_iter().filter(move |&a| self.contains(a))
    }

    /// The names, in the kernel's bit order.
    pub fn names(self) -> Vec<&'static str> {
        self.iter().map(AccessFs::name).collect()
    }
}

impl FromIterator<AccessFs> for FsRights {
    fn from_iter<I: IntoIterator<Item = AccessFs>>(rights: I) -> FsRights {
        let mut set = FsRights::default();
        for right in rights {
            set.insert(right);
        }
        set
    }
}

impl fmt::Display for FsRights {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.names().join(", "))
    }
}

/// A network access right (TCP ports, from ABI 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AccessNet {
    BindTcp = 0,
    ConnectTcp = 1,
}

impl AccessNet {
    pub const ALL: [AccessNet; 2] = [AccessNet::BindTcp, AccessNet::ConnectTcp];
    /// The ABI that brought network rights.
    pub const SINCE: u32 = 4;

    pub fn name(self) -> &'static str {
        match self {
            AccessNet::BindTcp => "bind_tcp",
            AccessNet::ConnectTcp => "connect_tcp",
        }
    }

    pub fn from_name(name: &str) -> Option<AccessNet> {
        AccessNet::ALL.into_iter().find(|a| a.name() == name)
    }
}

/// A set of network rights, as the kernel's bits.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NetRights(pub u64);

impl NetRights {
    pub fn all(abi: u32) -> NetRights {
        if abi >= AccessNet::SINCE {
            AccessNet::ALL.into_iter().collect()
        } else {
            NetRights::default()
        }
    }

    pub fn contains(self, right: AccessNet) -> bool {
        self.0 & (1 << right as u64) != 0
    }

    pub fn insert(&mut self, right: AccessNet) {
        self.0 |= 1 << right as u64;
    }

    pub fn union(self, other: NetRights) -> NetRights {
        NetRights(self.0 | other.0)
    }

    pub fn minus(self, other: NetRights) -> NetRights {
        NetRights(self.0 & !other.0)
    }

    pub fn intersection(self, other: NetRights) -> NetRights {
        NetRights(self.0 & other.0)
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn iter(self) -> impl Iterator<Item = AccessNet> {
        AccessNet::ALL
            .into_iter()
            .filter(move |&a| self.contains(a))
    }

    pub fn names(self) -> Vec<&'static str> {
        self.iter().map(AccessNet::name).collect()
    }
}

impl FromIterator<AccessNet> for NetRights {
    fn from_iter<I: IntoIterator<Item = AccessNet>>(rights: I) -> NetRights {
        let mut set = NetRights::default();
        for right in rights {
            set.insert(right);
        }
        set
    }
}

/// What a Landlock domain can be scoped to (from ABI 6): IPC that cannot reach outside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scope {
    AbstractUnixSocket = 0,
    Signal = 1,
}

impl Scope {
    pub const ALL: [Scope; 2] = [Scope::AbstractUnixSocket, Scope::Signal];
    /// The ABI that brought scopes.
    pub const SINCE: u32 = 6;

    pub fn name(self) -> &'static str {
        match self {
            Scope::AbstractUnixSocket => "abstract_unix_socket",
            Scope::Signal => "signal",
        }
    }

    pub fn from_name(name: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|a| a.name() == name)
    }
}

/// A set of scopes, as the kernel's bits.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Scopes(pub u64);

impl Scopes {
    pub fn all(abi: u32) -> Scopes {
        if abi >= Scope::SINCE {
            Scope::ALL.into_iter().collect()
        } else {
            Scopes::default()
        }
    }

    pub fn contains(self, scope: Scope) -> bool {
        self.0 & (1 << scope as u64) != 0
    }

    pub fn insert(&mut self, scope: Scope) {
        self.0 |= 1 << scope as u64;
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn iter(self) -> impl Iterator<Item = Scope> {
        Scope::ALL.into_iter().filter(move |&s| self.contains(s))
    }

    pub fn names(self) -> Vec<&'static str> {
        self.iter().map(Scope::name).collect()
    }
}

impl FromIterator<Scope> for Scopes {
    fn from_iter<I: IntoIterator<Item = Scope>>(scopes: I) -> Scopes {
        let mut set = Scopes::default();
        for scope in scopes {
            set.insert(scope);
        }
        set
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_follow_landlockconfig() {
        assert_eq!(FsRights::all(1).names().len(), 13);
        assert_eq!(FsRights::all(7).names().len(), 16);
        assert!(!FsRights::read_execute(1).contains(AccessFs::Refer));
        assert!(FsRights::read_execute(2).contains(AccessFs::Refer));
        assert!(!FsRights::read_write(7).contains(AccessFs::Execute));
        assert!(FsRights::read_write(7).contains(AccessFs::IoctlDev));
        assert_eq!(AccessFs::from_name("make_reg"), Some(AccessFs::MakeReg));
        assert_eq!(AccessFs::from_name("make_regular"), None);
        assert!(NetRights::all(3).is_empty());
        assert!(Scopes::all(5).is_empty());
        assert_eq!(Scopes::all(6).names(), ["abstract_unix_socket", "signal"]);
    }
}
