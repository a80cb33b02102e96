//! The parser's rules, on strace output written out by hand.

use std::collections::BTreeSet;

use super::files::accesses;
use super::*;

#[test]
fn children_inherit_mode_and_changes_apply_after_their_line() {
    let text = "\
100   execve(\"./a\", [\"./a\"], 0x7ffc /* 3 vars */) = 0
100   [ Process PID=100 runs in 32 bit mode. ]
100   brk(NULL)                         = 0x850b000
100   clone(child_stack=NULL, flags=SIGCHLD <unfinished ...>
101   set_thread_area({entry_number=-1}) = 0
100   <... clone resumed>)              = 101
101   execve(\"/bin/true\", [\"true\"], 0x1 /* 3 vars */) = 0
101   [ Process PID=101 runs in 64 bit mode. ]
101   arch_prctl(ARCH_SET_FS, 0x7f) = 0
101   --- SIGCHLD {si_signo=SIGCHLD} ---
101   +++ exited with 0 +++
100   getpid(<unfinished ...>
100   <... getpid resumed>)             = 100
100   restart_syscall(<... resuming interrupted read ...>) = 0
100   syscall_0x1c3(0x1, 0x2)           = -1 ENOSYS (Function not implemented)
";
    let parsed = parse(text);
    let set = |names: &[&str]| {
        names
            .iter()
            .map(|n| (*n).to_owned())
            .collect::<BTreeSet<_>>()
    };
    assert_eq!(parsed["x86_64"], set(&["arch_prctl", "execve"]));
    assert_eq!(
        parsed["ia32"],
        set(&[
            "brk",
            "clone",
            "execve",
            "getpid",
            "restart_syscall",
            "set_thread_area",
            "syscall_0x1c3"
        ])
    );
}

#[test]
fn socketcall_subcalls_map_to_socketcall_on_ia32_only() {
    assert_eq!(kernel_names("ia32", "connect"), ["connect", "socketcall"]);
    assert_eq!(kernel_names("x86_64", "connect"), ["connect"]);
}

#[test]
fn parses_calls_escapes_and_fd_paths() {
    let text = "\
7 openat(AT_FDCWD</d>, \"a,b\", O_WRONLY|O_CREAT|O_TRUNC, 0644) = 3</d/a,b>
7 wait4(8,  <unfinished ...>
8 unlinkat(3</d>, \"../x\\n\\377\", 0) = 0
7 <... wait4 resumed>[{WIFEXITED(s) && WEXITSTATUS(s) == 0}], 0, NULL) = 8
7 --- SIGCHLD {si_signo=SIGCHLD} ---
7 renameat2(AT_FDCWD</d>, \"o\", 4</e>, \"n\", 0) = -1 ENOENT (No such file or directory)
";
    let calls = calls(text);
    let names: Vec<&str> = calls.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["openat", "unlinkat", "wait4", "renameat2"]);
    assert_eq!(
        accesses(&calls[0]),
        [
            (b"/d/a,b".to_vec(), "write"),
            (b"/d/a,b".to_vec(), "create")
        ]
    );
    assert_eq!(accesses(&calls[1]), [(b"/x\n\xff".to_vec(), "unlink")]);
    assert_eq!(
        calls[2].args,
        ["8", "[{WIFEXITED(s) && WEXITSTATUS(s) == 0}]", "0", "NULL"]
    );
    assert!(calls[2].succeeded() && !calls[3].succeeded());
}

/// The two views keep different rules where their uses differ (see `parse` and `calls`): a
/// call entered but never finished counts for the syscall sets only.
#[test]
fn unfinished_calls_count_for_syscall_sets_only() {
    let text = "\
5 read(3, \"\", 1) = 0
5 wait4(-1,  <unfinished ...>
5 +++ killed by SIGKILL +++
";
    let parsed = parse(text);
    let names: Vec<&str> = parsed["x86_64"].iter().map(String::as_str).collect();
    assert_eq!(names, ["read", "wait4"]);
    let names: Vec<String> = calls(text).into_iter().map(|c| c.name).collect();
    assert_eq!(names, ["read"]);
}

/// A resumed half whose start is missing still names its syscall, but cannot be joined.
#[test]
#[should_panic(expected = "resumed without start")]
fn a_resumed_half_without_its_start_fails_the_call_parser() {
    let text = "5 <... read resumed>\"\", 1) = 0\n";
    assert!(parse(text)["x86_64"].contains("read"));
    calls(text);
}

#[test]
fn syscall_names_are_stricter_than_call_names() {
    for name in ["read", "_llseek", "syscall_0x1c3"] {
        assert!(is_syscall_name(name) && is_call_name(name), "{name}");
    }
    for name in ["Read", "9p"] {
        assert!(!is_syscall_name(name) && is_call_name(name), "{name}");
    }
    for name in [
        "",
        "--- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_KILLED",
        "+++ exited",
    ] {
        assert!(!is_syscall_name(name) && !is_call_name(name), "{name:?}");
    }
}
