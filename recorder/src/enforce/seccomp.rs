//! OCI seccomp profile → kernel BPF program, compiled with libseccomp in the parent and
//! installed in the child after fork with two plain syscalls (no allocation after fork).

use std::io::{Read as _, Seek as _};

use libseccomp::{
    ScmpAction, ScmpArch, ScmpArgCompare, ScmpCompareOp, ScmpFilterContext, ScmpSyscall,
};
use oci_spec::runtime::{Arch, LinuxSeccomp, LinuxSeccompAction, LinuxSeccompOperator};

use crate::record::launch::PreExec;

#[derive(Debug, thiserror::Error)]
pub enum EnforceError {
    #[error("libseccomp refused the profile ({what})")]
    Libseccomp {
        what: String,
        source: libseccomp::error::SeccompError,
    },
    #[error("architecture {arch:?} is not supported here")]
    Arch { arch: Arch },
    #[error("action {action:?} is not supported by leastpriv run")]
    Action { action: LinuxSeccompAction },
    #[error("cannot export the compiled filter")]
    Export(#[source] std::io::Error),
}

/// How strictly to apply a profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// As written.
    Enforce,
    /// Every action that would deny becomes SCMP_ACT_LOG: the command runs unhindered and
    /// leastpriv reports what the profile lacks from its own recording.
    Complain,
}

/// A compiled seccomp filter, ready to install after fork.
#[derive(Debug, Clone)]
pub struct SeccompProgram {
    instructions: Vec<libc::sock_filter>,
    /// Names in the profile that libseccomp does not know on any listed architecture; runc
    /// and crun skip these too, with a warning.
    pub unknown_names: Vec<String>,
}

impl SeccompProgram {
    /// Compiles an OCI profile.
    pub fn compile(profile: &LinuxSeccomp, mode: Mode) -> Result<SeccompProgram, EnforceError> {
        let lib = |what: &str| {
            let what = what.to_owned();
            move |source| EnforceError::Libseccomp {
                what: what.clone(),
                source,
            }
        };
        let mut filter = ScmpFilterContext::new(action(
            profile.default_action(),
            profile.default_errno_ret(),
            mode,
        )?)
        .map_err(lib("default action"))?;
        // We set no_new_privs ourselves, in the child.
        filter.set_ctl_nnp(false).map_err(lib("no_new_privs"))?;
        if mode == Mode::Complain {
            // libseccomp kills a task whose architecture is not in the filter; in complain
            // mode that too is only logged, so the run can show what it would have lacked.
            filter
                .set_act_badarch(ScmpAction::Log)
                .map_err(lib("bad-architecture action"))?;
        }
        for &arch in profile.architectures().as_deref().unwrap_or_default() {
            filter
                .add_arch(scmp_arch(arch)?)
                .map_err(lib(&format!("architecture {arch:?}")))?;
        }
        let default = action(profile.default_action(), profile.default_errno_ret(), mode)?;
        let mut unknown_names = Vec::new();
        for rule in profile.syscalls().as_deref().unwrap_or_default() {
            let rule_action = action(rule.action(), rule.errno_ret(), mode)?;
            if rule_action == default {
                // libseccomp rejects rules that repeat the default action.
                continue;
            }
            let conditions: Vec<ScmpArgCompare> = rule
                .args()
                .as_deref()
                .unwrap_or_default()
                .iter()
                .map(|arg| condition(arg.index() as u32, arg.op(), arg.value(), arg.value_two()))
                .collect();
            for name in rule.names() {
                let Ok(syscall) = ScmpSyscall::from_name(name) else {
                    unknown_names.push(name.clone());
                    continue;
                };
                filter
                    .add_rule_conditional(rule_action, syscall, &conditions)
                    .map_err(lib(&format!("rule for {name}")))?;
            }
        }
        let mut exported = tempfile::tempfile().map_err(EnforceError::Export)?;
        filter.export_bpf(&exported).map_err(lib("export"))?;
        let mut bytes = Vec::new();
        exported
            .rewind()
            .and_then(|()| exported.read_to_end(&mut bytes))
            .map_err(EnforceError::Export)?;
        let instructions = bytes
            .chunks_exact(size_of::<libc::sock_filter>())
            .map(|c| libc::sock_filter {
                code: u16::from_ne_bytes([c[0], c[1]]),
                jt: c[2],
                jf: c[3],
                k: u32::from_ne_bytes([c[4], c[5], c[6], c[7]]),
            })
            .collect();
        Ok(SeccompProgram {
            instructions,
            unknown_names,
        })
    }

    /// Sets no_new_privs and installs the filter on the calling thread. Async-signal-safe:
    /// meant for the child between fork and exec.
    pub fn install(&self) -> std::io::Result<()> {
        let program = libc::sock_fprog {
            len: self.instructions.len() as u16,
            filter: self.instructions.as_ptr().cast_mut(),
        };
        // SAFETY: prctl and seccomp with a valid, live sock_fprog.
        unsafe {
            if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            if libc::syscall(
                libc::SYS_seccomp,
                libc::SECCOMP_SET_MODE_FILTER,
                0,
                &raw const program,
            ) != 0
            {
                return Err(std::io::Error::last_os_error());
            }
        }
        Ok(())
    }
}

fn action(
    action: LinuxSeccompAction,
    errno: Option<u32>,
    mode: Mode,
) -> Result<ScmpAction, EnforceError> {
    let enforced = match action {
        LinuxSeccompAction::ScmpActAllow => return Ok(ScmpAction::Allow),
        LinuxSeccompAction::ScmpActLog => return Ok(ScmpAction::Log),
        // runc and crun default a missing errnoRet to EPERM.
        LinuxSeccompAction::ScmpActErrno => ScmpAction::Errno(errno.unwrap_or(1) as i32),
        LinuxSeccompAction::ScmpActKill | LinuxSeccompAction::ScmpActKillThread => {
            ScmpAction::KillThread
        }
        LinuxSeccompAction::ScmpActKillProcess => ScmpAction::KillProcess,
        LinuxSeccompAction::ScmpActTrap => ScmpAction::Trap,
        LinuxSeccompAction::ScmpActTrace => ScmpAction::Trace(errno.unwrap_or(0) as u16),
        other => return Err(EnforceError::Action { action: other }),
    };
    Ok(match mode {
        Mode::Enforce => enforced,
        Mode::Complain => ScmpAction::Log,
    })
}

fn scmp_arch(arch: Arch) -> Result<ScmpArch, EnforceError> {
    Ok(match arch {
        Arch::ScmpArchX86_64 => ScmpArch::X8664,
        Arch::ScmpArchX86 => ScmpArch::X86,
        Arch::ScmpArchX32 => ScmpArch::X32,
        Arch::ScmpArchNative => ScmpArch::Native,
        other => return Err(EnforceError::Arch { arch: other }),
    })
}

/// One argument condition, with runc's reading of the OCI fields: for the masked comparison
/// `value` is the mask and `valueTwo` what the masked argument must equal.
fn condition(
    index: u32,
    op: LinuxSeccompOperator,
    value: u64,
    value_two: Option<u64>,
) -> ScmpArgCompare {
    let op = match op {
        LinuxSeccompOperator::ScmpCmpNe => ScmpCompareOp::NotEqual,
        LinuxSeccompOperator::ScmpCmpLt => ScmpCompareOp::Less,
        LinuxSeccompOperator::ScmpCmpLe => ScmpCompareOp::LessOrEqual,
        LinuxSeccompOperator::ScmpCmpEq => ScmpCompareOp::Equal,
        LinuxSeccompOperator::ScmpCmpGe => ScmpCompareOp::GreaterEqual,
        LinuxSeccompOperator::ScmpCmpGt => ScmpCompareOp::Greater,
        LinuxSeccompOperator::ScmpCmpMaskedEq => {
            return ScmpArgCompare::new(
                index,
                ScmpCompareOp::MaskedEqual(value),
                value_two.unwrap_or(0),
            );
        }
    };
    ScmpArgCompare::new(index, op, value)
}

/// Applied at launch, after the change of user and any capability step, right before exec.
impl PreExec for SeccompProgram {
    fn after_user_change(&self) -> std::io::Result<()> {
        self.install()
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::{
        policy::seccomp::{decide, SeccompOptions},
        profile::seccomp::render_oci,
        recording::{syscalls::Abi, Recording},
        review::parse::seccomp::parse,
    };

    fn profile_for(syscalls: &[(Abi, i64)]) -> LinuxSeccomp {
        let policy = decide(&Recording::for_tests(syscalls), SeccompOptions::default());
        parse(Path::new("p.json"), &render_oci(&policy)).unwrap()
    }

    #[test]
    fn compiles_with_libseccomp() {
        let program =
            SeccompProgram::compile(&profile_for(&[(Abi::X86_64, 0)]), Mode::Enforce).unwrap();
        assert!(program.instructions.len() > 5);
        // Only syscalls newer than this libseccomp may be unknown to it, and only probed ones
        // (the recorded read is known everywhere).
        for name in &program.unknown_names {
            assert!(
                crate::policy::seccomp::PROBED.contains(&name.as_str()),
                "{name}"
            );
        }
    }
}
