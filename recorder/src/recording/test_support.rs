//! What unit tests across the crate build recordings with (test builds only).

use super::{
    syscall_entries, syscalls::Abi, ExePath, Host, Lost, Recording, Target, Tool, FORMAT, VERSION,
};

impl Recording {
    /// A recording of the given syscalls (each made once by `/bin/x`), for unit tests.
    pub(crate) fn for_tests(syscalls: &[(Abi, i64)]) -> Recording {
        let counts = syscalls.iter().map(|&k| (k, 1)).collect();
        let makers = syscalls
            .iter()
            .map(|&k| (k, [ExePath::from("/bin/x")].into()))
            .collect();
        Recording {
            format: FORMAT.into(),
            version: VERSION,
            tool: Tool::current(),
            host: Host {
                kernel: "6.18".into(),
                arch: "x86_64".into(),
            },
            target: Target::Command(vec!["x".into()]),
            started_at: String::new(),
            finished_at: String::new(),
            complete: true,
            run_id: None,
            runs: vec![],
            incomplete_reason: None,
            exit_status: Some(0),
            syscalls: syscall_entries(&counts, &makers),
            executables: vec![],
            files: None,
            sockets: None,
            ports: None,
            capabilities: None,
            arguments: None,
            user: None,
            escalating_programs: vec![],
            left_running: vec![],
            started_late: false,
            moved_out: vec![],
            containers: vec![],
            lost: Lost::default(),
        }
    }
}
