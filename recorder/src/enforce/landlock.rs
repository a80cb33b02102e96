//! A LandlockConfig applied to a command: the ruleset is built in the parent with the
//! `landlock` crate (opening every rule's path), and the child, right before exec, sets
//! no_new_privs and restricts itself with two plain syscalls (nothing allocated after fork).
//! No privilege is needed.
//!
//! What the running kernel cannot enforce is never dropped silently: [`LandlockRuleset::build`]
//! refuses a configuration that handles rights newer than the kernel's ABI, unless asked for
//! best effort, and then [`LandlockRuleset::unenforced`] lists them. On ABI 7 and later the
//! child asks the kernel to audit denials made after exec (`LOG_NEW_EXEC_ON`).

use std::{
    io,
    os::fd::{AsRawFd as _, OwnedFd},
};

use landlock::{
    Access, AccessFs as LlAccessFs, AccessNet as LlAccessNet, BitFlags, CompatLevel, Compatible,
    NetPort, PathBeneath, PathFd, Ruleset, RulesetAttr, RulesetCreatedAttr, Scope as LlScope,
};

use crate::{
    policy::landlock::{FsRights, LandlockPolicy, NetRights, Scopes},
    record::launch::PreExec,
};

#[derive(Debug, thiserror::Error)]
pub enum LandlockError {
    #[error("this kernel does not enforce Landlock (it is not built in, or not enabled at boot: see /sys/kernel/security/lsm)")]
    Unsupported,
    #[error("the configuration is for Landlock ABI {wanted} and this kernel has ABI {kernel}: it cannot enforce {missing}; run on a newer kernel, or pass --landlock-best-effort to run with only what it enforces")]
    AbiTooNew {
        wanted: u32,
        kernel: u32,
        missing: String,
    },
    #[error("the landlock crate refused the ruleset")]
    Ruleset(#[from] landlock::RulesetError),
}

/// The ABI of the running kernel's Landlock (0: none).
pub fn kernel_abi() -> u32 {
    const LANDLOCK_CREATE_RULESET_VERSION: libc::c_ulong = 1;
    // SAFETY: asking for the version reads no memory (NULL attributes, size 0).
    let abi = unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            std::ptr::null::<u8>(),
            0usize,
            LANDLOCK_CREATE_RULESET_VERSION,
        )
    };
    u32::try_from(abi).unwrap_or(0)
}

/// A ruleset ready to be applied after fork.
#[derive(Debug)]
pub struct LandlockRuleset {
    fd: OwnedFd,
    flags: u32,
    /// What the configuration handles that this kernel does not enforce (with best effort).
    pub unenforced: Vec<String>,
    /// Rules that could not be added, each with why (a path that does not exist now, a file
    /// given directory rights): each only grants less.
    pub skipped: Vec<String>,
}

impl LandlockRuleset {
    /// Opens every rule's path and builds the ruleset the kernel will enforce.
    pub fn build(
        policy: &LandlockPolicy,
        best_effort: bool,
    ) -> Result<LandlockRuleset, LandlockError> {
        Self::build_for(policy, best_effort, kernel_abi())
    }

    /// [`build`](Self::build) for a kernel whose Landlock has ABI `kernel` (this one's, or
    /// an older one, which tests pretend to have: a ruleset of an older ABI's rights is
    /// what such a kernel would enforce).
    fn build_for(
        policy: &LandlockPolicy,
        best_effort: bool,
        kernel: u32,
    ) -> Result<LandlockRuleset, LandlockError> {
        if kernel == 0 || kernel_abi() < kernel {
            return Err(LandlockError::Unsupported);
        }
        let enforceable_fs = FsRights::all(kernel);
        let enforceable_net = NetRights::all(kernel);
        let enforceable_scopes = Scopes::all(kernel);
        let mut unenforced: Vec<String> = policy
            .handled_fs
            .minus(enforceable_fs)
            .names()
            .into_iter()
            .map(str::to_owned)
            .collect();
        unenforced.extend(
            policy
                .handled_net
                .minus(enforceable_net)
                .names()
                .into_iter()
                .map(str::to_owned),
        );
        unenforced.extend(
            policy
                .scoped
                .iter()
                .filter(|s| !enforceable_scopes.contains(*s))
                .map(|s| format!("scope {}", s.name())),
        );
        if !unenforced.is_empty() && !best_effort {
            return Err(LandlockError::AbiTooNew {
                wanted: policy.abi,
                kernel,
                missing: unenforced.join(", "),
            });
        }
        let handled_fs = policy.handled_fs.intersection(enforceable_fs);
        let handled_net = policy.handled_net.intersection(enforceable_net);
        let scoped: Scopes = policy
            .scoped
            .iter()
            .filter(|s| enforceable_scopes.contains(*s))
            .collect();

        // Everything below is within the kernel's ABI: any refusal is an error, never a
        // silent drop.
        let mut ruleset = Ruleset::default().set_compatibility(CompatLevel::HardRequirement);
        if !handled_fs.is_empty() {
            ruleset = ruleset.handle_access(fs_flags(handled_fs))?;
        }
        if !handled_net.is_empty() {
            ruleset = ruleset.handle_access(net_flags(handled_net))?;
        }
        if !scoped.is_empty() {
            ruleset = ruleset.scope(scope_flags(scoped))?;
        }
        let mut created = ruleset.create()?;
        let mut skipped = Vec::new();
        for (path, rule) in &policy.paths {
            let mut access = rule.access.intersection(handled_fs);
            if access.is_empty() {
                continue;
            }
            let fd = match PathFd::new(path) {
                Ok(fd) => fd,
                Err(err) => {
                    skipped.push(format!(
                        "{path:?}: {}",
                        std::error::Error::source(&err)
                            .map_or_else(|| err.to_string(), |s| s.to_string())
                    ));
                    continue;
                }
            };
            // Only a rule with directory rights needs to know (the crate refuses those on a
            // file); asked of the open handle: a second lookup of each path cost a fifth of
            // the rules' time.
            let is_dir = || {
                nix::sys::stat::fstat(&fd)
                    .is_ok_and(|st| st.st_mode & libc::S_IFMT == libc::S_IFDIR)
            };
            if !access.is_subset(FsRights::FILE) && !is_dir() {
                skipped.push(format!(
                    "{path:?} is not a directory: its directory rights ({}) are left out",
                    access.minus(FsRights::FILE)
                ));
                access = access.intersection(FsRights::FILE);
                if access.is_empty() {
                    continue;
                }
            }
            created = created.add_rule(PathBeneath::new(fd, fs_flags(access)))?;
        }
        if !handled_net.is_empty() {
            for (&port, &rights) in &policy.ports {
                let rights = rights.intersection(handled_net);
                if !rights.is_empty() {
                    created = created.add_rule(NetPort::new(port, net_flags(rights)))?;
                }
            }
        }
        let fd: Option<OwnedFd> = created.into();
        let fd = fd.ok_or(LandlockError::Unsupported)?;
        // LANDLOCK_RESTRICT_SELF_LOG_NEW_EXEC_ON (ABI 7): audit what the executed program is
        // refused, which the kernel does not by default once the restricting program is gone.
        let flags = if kernel >= 7 { 1 << 1 } else { 0 };
        Ok(LandlockRuleset {
            fd,
            flags,
            unenforced,
            skipped,
        })
    }
}

impl PreExec for LandlockRuleset {
    fn after_user_change(&self) -> io::Result<()> {
        // SAFETY: plain syscalls on integers; the ruleset fd is open for as long as `self`.
        unsafe {
            if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 {
                return Err(io::Error::last_os_error());
            }
            if libc::syscall(
                libc::SYS_landlock_restrict_self,
                self.fd.as_raw_fd(),
                self.flags,
            ) != 0
            {
                return Err(io::Error::last_os_error());
            }
        }
        Ok(())
    }
}

fn fs_flags(rights: FsRights) -> BitFlags<LlAccessFs> {
    // The policy's bits are the kernel's, which the crate's flags are too.
    BitFlags::from_bits_truncate(rights.0) & LlAccessFs::from_all(landlock::ABI::V7)
}

fn net_flags(rights: NetRights) -> BitFlags<LlAccessNet> {
    BitFlags::from_bits_truncate(rights.0) & LlAccessNet::from_all(landlock::ABI::V7)
}

fn scope_flags(scopes: Scopes) -> BitFlags<LlScope> {
    BitFlags::from_bits_truncate(scopes.0) & LlScope::from_all(landlock::ABI::V7)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::landlock::{AccessFs, AccessNet, PathRule, Scope};

    /// What an older kernel cannot enforce is refused, or with best effort listed: never
    /// dropped silently. Needs Landlock (ABI 6 or later) in the running kernel.
    #[test]
    fn an_older_kernel_says_what_it_cannot_enforce() {
        if kernel_abi() < 6 {
            assert!(
                std::env::var_os("LEASTPRIV_REQUIRE_BPF").is_none(),
                "this kernel's Landlock ABI is {}, the test needs 6",
                kernel_abi()
            );
            eprintln!("SKIP an_older_kernel_says_what_it_cannot_enforce: Landlock ABI < 6");
            return;
        }
        let mut paths = std::collections::BTreeMap::new();
        paths.insert(
            "/etc".to_owned(),
            PathRule {
                access: FsRights::of(&[AccessFs::ReadFile, AccessFs::Truncate]),
                ..PathRule::default()
            },
        );
        let policy = LandlockPolicy {
            abi: 6,
            handled_fs: FsRights::all(6),
            handled_net: NetRights::all(6),
            scoped: Scopes::all(6),
            paths,
            ports: [(80, [AccessNet::BindTcp].into_iter().collect())].into(),
            notes: Default::default(),
            recorded_paths: 0,
        };
        let err = LandlockRuleset::build_for(&policy, false, 3).unwrap_err();
        let message = err.to_string();
        assert!(
            message.contains("ABI 6 and this kernel has ABI 3")
                && message.contains(
                    "ioctl_dev, bind_tcp, connect_tcp, scope abstract_unix_socket, scope signal"
                ),
            "{message}"
        );
        let ruleset = LandlockRuleset::build_for(&policy, true, 3).unwrap();
        assert_eq!(
            ruleset.unenforced,
            [
                "ioctl_dev",
                "bind_tcp",
                "connect_tcp",
                "scope abstract_unix_socket",
                "scope signal"
            ]
        );
        // This kernel enforces all of it.
        assert!(LandlockRuleset::build_for(&policy, false, 6)
            .unwrap()
            .unenforced
            .is_empty());
    }

    #[test]
    fn bits_are_the_kernels() {
        assert_eq!(
            fs_flags(FsRights::of(&[AccessFs::Execute, AccessFs::IoctlDev])),
            LlAccessFs::Execute | LlAccessFs::IoctlDev
        );
        assert_eq!(
            fs_flags(FsRights::of(&[AccessFs::MakeReg, AccessFs::Refer])),
            LlAccessFs::MakeReg | LlAccessFs::Refer
        );
        assert_eq!(
            net_flags([AccessNet::ConnectTcp].into_iter().collect()),
            BitFlags::from(LlAccessNet::ConnectTcp)
        );
        assert_eq!(
            scope_flags([Scope::Signal].into_iter().collect()),
            BitFlags::from(LlScope::Signal)
        );
    }
}
