//! Which abstractions cover what: the file rules of the abstractions leastpriv includes
//! (embedded from AppArmor 3.0), matched with the one glob engine.
//!
//! Imports the sibling modules `glob` and `perms`; nothing from `mod.rs`.

use super::{
    glob::{Index, PathPattern},
    perms::Perms,
};

/// When an abstraction other than `base` is included.
pub(crate) enum Trigger {
    /// `base`.
    Always,
    /// When this file was read (the subsystem is in use; what else it touches depends on the
    /// host's configuration, which the abstraction covers).
    Read(&'static str),
    /// When it covers a recorded access that `base` does not.
    Covers,
}

pub(crate) struct Abstraction {
    pub(crate) name: &'static str,
    pub(crate) trigger: Trigger,
    /// File rules (a subset of the abstraction's, variables expanded by hand), as
    /// (AppArmor glob, permission letters). A subset is safe: a path it covers, the real
    /// abstraction covers too.
    pub(crate) rules: &'static [(&'static str, &'static str)],
}

/// From AppArmor 3.0.8 (`/etc/apparmor.d/abstractions/`), with `@{etc_ro}` = `/{etc,usr/etc}`,
/// `@{run}` = `/{run,var/run}`, `@{PROC}` = `/proc`, `@{sys}` = `/sys`, `@{multiarch}` =
/// `*-linux-gnu*`. Rules with `owner` are left out.
pub(crate) const ABSTRACTIONS: &[Abstraction] = &[
    Abstraction {
        name: "base",
        trigger: Trigger::Always,
        rules: &[
            ("/dev/log", "w"),
            ("/dev/random", "r"),
            ("/dev/urandom", "r"),
            ("/{run,var/run}/uuidd/request", "r"),
            ("/{etc,usr/etc}/locale/**", "r"),
            ("/{etc,usr/etc}/locale.alias", "r"),
            ("/{etc,usr/etc}/localtime", "r"),
            ("/etc/writable/localtime", "r"),
            ("/usr/share/locale-bundle/**", "r"),
            ("/usr/share/locale-langpack/**", "r"),
            ("/usr/share/locale/**", "r"),
            ("/usr/share/**/locale/**", "r"),
            ("/usr/share/zoneinfo/", "r"),
            ("/usr/share/zoneinfo/**", "r"),
            ("/usr/share/X11/locale/**", "r"),
            ("/{run,var/run}/systemd/journal/dev-log", "w"),
            ("/{run,var/run}/systemd/journal/socket", "w"),
            ("/{run,var/run}/systemd/journal/stdout", "rw"),
            ("/usr/lib{,32,64}/locale/**", "mr"),
            ("/usr/lib{,32,64}/gconv/*.so", "mr"),
            ("/usr/lib{,32,64}/gconv/gconv-modules*", "mr"),
            ("/usr/lib/*-linux-gnu*/gconv/*.so", "mr"),
            ("/usr/lib/*-linux-gnu*/gconv/gconv-modules*", "mr"),
            ("/{etc,usr/etc}/bindresvport.blacklist", "r"),
            ("/{etc,usr/etc}/ld.so.cache", "mr"),
            ("/{etc,usr/etc}/ld.so.conf", "r"),
            ("/{etc,usr/etc}/ld.so.conf.d/{,*.conf}", "r"),
            ("/{etc,usr/etc}/ld.so.preload", "r"),
            ("/{usr/,}lib{,32,64}/ld{,32,64}-*.so", "mr"),
            ("/{usr/,}lib/*-linux-gnu*/ld{,32,64}-*.so", "mr"),
            ("/{usr/,}lib{,32,64}/**", "r"),
            ("/{usr/,}lib{,32,64}/**.so*", "mr"),
            ("/{usr/,}lib/*-linux-gnu*/**", "r"),
            ("/{usr/,}lib/*-linux-gnu*/**.so*", "mr"),
            ("/{usr/,}lib{,32,64}/.lib*.so*.hmac", "r"),
            ("/{usr/,}lib/*-linux-gnu*/.lib*.so*.hmac", "r"),
            ("/dev/null", "rw"),
            ("/dev/zero", "rw"),
            ("/dev/full", "rw"),
            ("/proc/sys/kernel/version", "r"),
            ("/proc/sys/kernel/ngroups_max", "r"),
            ("/proc/meminfo", "r"),
            ("/proc/stat", "r"),
            ("/proc/cpuinfo", "r"),
            ("/sys/devices/system/cpu/", "r"),
            ("/sys/devices/system/cpu/online", "r"),
            ("/sys/devices/system/cpu/possible", "r"),
            ("/proc/@{pid}/{maps,auxv,status}", "r"),
            ("/proc/sys/crypto/*", "r"),
            ("/usr/share/common-licenses/**", "r"),
            ("/proc/filesystems", "r"),
            ("/proc/sys/vm/overcommit_memory", "r"),
            ("/proc/sys/kernel/cap_last_cap", "r"),
            // abstractions/crypto, which base includes.
            ("/{etc,usr/etc}/gcrypt/hwf.deny", "r"),
            ("/{etc,usr/etc}/gcrypt/random.conf", "r"),
            ("/proc/sys/crypto/fips_enabled", "r"),
            ("/etc/crypto-policies/*/*.txt", "r"),
            ("/usr/share/crypto-policies/*/*.txt", "r"),
        ],
    },
    Abstraction {
        name: "consoles",
        trigger: Trigger::Covers,
        rules: &[
            ("/dev/console", "rw"),
            ("/dev/tty", "rw"),
            ("/dev/pts/[0-9]*", "rw"),
            ("/dev/pts/", "r"),
        ],
    },
    Abstraction {
        name: "nameservice",
        trigger: Trigger::Read("/etc/nsswitch.conf"),
        rules: &[
            ("/{etc,usr/etc}/group", "r"),
            ("/{etc,usr/etc}/host.conf", "r"),
            ("/{etc,usr/etc}/hosts", "r"),
            ("/{etc,usr/etc}/nsswitch.conf", "r"),
            ("/{etc,usr/etc}/gai.conf", "r"),
            ("/{etc,usr/etc}/passwd", "r"),
            ("/{etc,usr/etc}/protocols", "r"),
            ("/{etc,usr/etc}/netconfig", "r"),
            ("/var/lib/extrausers/group", "r"),
            ("/var/lib/extrausers/passwd", "r"),
            ("/var/lib/sss/mc/group", "r"),
            ("/var/lib/sss/mc/initgroups", "r"),
            ("/var/lib/sss/mc/passwd", "r"),
            ("/var/lib/sss/pipes/nss", "rw"),
            ("/{etc,usr/etc}/resolv.conf", "r"),
            (
                "/{run,var/run}/{resolvconf,NetworkManager,systemd/resolve,connman,netconfig}/resolv.conf",
                "r",
            ),
            ("/{etc,usr/etc}/resolvconf/run/resolv.conf", "r"),
            ("/{run,var/run}/systemd/resolve/stub-resolv.conf", "r"),
            ("/mnt/wsl/resolv.conf", "r"),
            ("/{etc,usr/etc}/samba/lmhosts", "r"),
            ("/{etc,usr/etc}/services", "r"),
            ("/var/lib/misc/*.db", "r"),
            ("/{run,var/run}/.nscd_socket", "rw"),
            ("/{run,var/run}/nscd/socket", "rw"),
            (
                "/{var/db,var/cache,var/lib,var/run,run}/nscd/{passwd,group,services,hosts}",
                "r",
            ),
            ("/{run,var/run}/nscd/db*", "rmix"),
            ("/{usr/,}lib{,32,64}/libnss_*.so*", "mr"),
            ("/{usr/,}lib/*-linux-gnu*/libnss_*.so*", "mr"),
            ("/{etc,usr/etc}/default/nss", "r"),
            ("/{run,var/run}/avahi-daemon/socket", "rw"),
            ("/proc/@{pid}/net/psched", "r"),
            ("/{etc,usr/etc}/libnl-*/classid", "r"),
            ("/proc/@{pid}/net/route", "r"),
            // abstractions/nss-systemd, which nameservice includes.
            ("/{run,var/run}/systemd/userdb/", "r"),
            (
                "/{run,var/run}/systemd/userdb/io.systemd.{Multiplexer,DynamicUser,Home,NameServiceSwitch,Machine}",
                "rw",
            ),
            ("/proc/sys/kernel/random/boot_id", "r"),
        ],
    },
    Abstraction {
        name: "openssl",
        trigger: Trigger::Covers,
        rules: &[
            ("/etc/ssl/openssl.cnf", "r"),
            ("/etc/ssl/{engdef,engines}.d/", "r"),
            ("/etc/ssl/{engdef,engines}.d/*.cnf", "r"),
            ("/usr/share/ssl/openssl.cnf", "r"),
            ("/proc/sys/crypto/fips_enabled", "r"),
        ],
    },
    Abstraction {
        name: "perl",
        trigger: Trigger::Covers,
        rules: &[
            ("/usr/bin/perl", "rmix"),
            ("/usr/bin/perl[0-9].[0-9].[0-9]", "rmix"),
            ("/usr/lib{,32,64}/perl5/**", "r"),
            ("/usr/lib{,32,64}/perl{,5}/**.so*", "mr"),
            ("/usr/lib/*-linux-gnu*/perl{,5,-base}/**", "r"),
            ("/usr/lib/*-linux-gnu*/perl{,5,-base}/[0-9]*/**.so*", "mr"),
            ("/usr/share/perl/**", "r"),
            ("/usr/share/perl5/**", "r"),
            ("/etc/perl/**", "r"),
        ],
    },
    Abstraction {
        name: "python",
        trigger: Trigger::Covers,
        rules: &[
            (
                "/usr/{local/,}lib{,32,64}/python{2.[4-7],3,3.[0-9],3.1[0-9]}/**.{pyc,so,so.*[0-9]}",
                "mr",
            ),
            (
                "/usr/{local/,}lib{,32,64}/python{2.[4-7],3,3.[0-9],3.1[0-9]}/**.{egg,py,pth}",
                "r",
            ),
            (
                "/usr/{local/,}lib{,32,64}/python{2.[4-7],3,3.[0-9],3.1[0-9]}/{site,dist}-packages/",
                "r",
            ),
            (
                "/usr/{local/,}lib{,32,64}/python{2.[4-7],3,3.[0-9],3.1[0-9]}/{site,dist}-packages/**/",
                "r",
            ),
            (
                "/usr/{local/,}lib{,32,64}/python{2.[4-7],3,3.[0-9],3.1[0-9]}/{site,dist}-packages/*.dist-info/{METADATA,namespace_packages.txt}",
                "r",
            ),
            (
                "/usr/{local/,}lib{,32,64}/python{2.[4-7],3,3.[0-9],3.1[0-9]}/{site,dist}-packages/*.VERSION",
                "r",
            ),
            (
                "/usr/{local/,}lib{,32,64}/python{2.[4-7],3,3.[0-9],3.1[0-9]}/{site,dist}-packages/*.egg-info/PKG-INFO",
                "r",
            ),
            ("/usr/{local/,}lib{,32,64}/python3.{1,}[0-9]/lib-dynload/*.so", "mr"),
            ("/etc/python{2.[4-7],3.[0-9],3.1[0-9]}/**", "r"),
            ("/usr/share/{pyshared,pycentral,python-support}/**", "r"),
            ("/{var,usr}/lib/{pyshared,pycentral,python-support}/**", "r"),
            ("/usr/lib/{pyshared,pycentral,python-support}/**.so", "mr"),
            ("/var/lib/{pyshared,pycentral,python-support}/**.pyc", "mr"),
            ("/usr/lib/python3/dist-packages/**.so", "mr"),
            ("/usr/lib/wx/python/*.pth", "r"),
            ("/usr/include/python{2.[4-7],3.[0-9],3.1[0-9]}*/pyconfig.h", "r"),
        ],
    },
    Abstraction {
        name: "ssl_certs",
        trigger: Trigger::Covers,
        rules: &[
            ("/etc/ca-certificates/{,**}", "r"),
            ("/etc/{,libre}ssl/", "r"),
            ("/etc/{,libre}ssl/cert.pem", "r"),
            ("/etc/{,libre}ssl/certs/{,**}", "r"),
            ("/usr/share/ca-certificates/{,**}", "r"),
            ("/usr/share/ssl/certs/ca-bundle.crt", "r"),
            ("/usr/local/share/ca-certificates/{,**}", "r"),
            ("/var/lib/ca-certificates/{,**}", "r"),
            ("/etc/crypto-policies/*/*.txt", "r"),
            ("/usr/share/crypto-policies/*/*.txt", "r"),
        ],
    },
];

/// What the abstraction's rules grant on this exact path.
pub(crate) fn granted_by(abstraction: &CompiledAbstraction, path: &[u8]) -> Perms {
    abstraction.rules.granted(path)
}

pub(crate) struct CompiledAbstraction {
    pub(crate) name: &'static str,
    pub(crate) rules: Rules,
}

pub(crate) fn compiled_abstractions() -> Vec<CompiledAbstraction> {
    ABSTRACTIONS
        .iter()
        .map(|a| CompiledAbstraction {
            name: a.name,
            rules: Rules::new([a.rules]),
        })
        .collect()
}

/// Rules from one or more sources (abstractions), indexed by the first path component each
/// alternative names (see [`Index`]).
pub(crate) struct Rules {
    index: Index<(usize, Perms)>,
    sources: usize,
}

impl Rules {
    /// Compiles embedded (glob, permission letters) rules, source by source.
    pub(crate) fn new<'a>(sources: impl IntoIterator<Item = &'a [(&'a str, &'a str)]>) -> Rules {
        let mut rules = Vec::new();
        let mut count = 0;
        for (source, source_rules) in sources.into_iter().enumerate() {
            count = source + 1;
            for (glob, letters) in source_rules {
                rules.push((PathPattern::parse(glob), (source, Perms::parse(letters))));
            }
        }
        Rules {
            index: Index::new(rules),
            sources: count,
        }
    }

    /// What the rules of every source grant on this exact path.
    pub(crate) fn granted(&self, path: &[u8]) -> Perms {
        self.index
            .matching(path)
            .fold(Perms::default(), |acc, (_, perms)| acc.union(*perms))
    }

    /// What each source's rules grant on this exact path, by source; `None` when no rule
    /// matches it.
    pub(crate) fn granted_by_source(&self, path: &[u8]) -> Option<Box<[Perms]>> {
        let mut granted: Option<Box<[Perms]>> = None;
        for &(source, perms) in self.index.matching(path) {
            let by_source =
                granted.get_or_insert_with(|| vec![Perms::default(); self.sources].into());
            by_source[source] = by_source[source].union(perms);
        }
        granted
    }
}

#[cfg(test)]
mod tests {
    use super::{PathPattern as Glob, Perms, Rules};

    /// The index by first directory finds exactly what matching every rule finds, also
    /// for rules that name no first directory and for paths that have none.
    #[test]
    fn indexed_rules_grant_what_every_rule_grants() {
        let sources: [&[(&str, &str)]; 2] = [
            &[
                ("/{usr/,}lib{,32,64}/**.so*", "mr"),
                ("/etc/ld.so.cache", "r"),
                ("/{,var/}run/*.pid", "w"),
                ("/**/", "r"),
                ("/*", "k"),
            ],
            &[("/usr/share/**", "r"), ("/proc/@{pid}/maps", "r")],
        ];
        let rules = Rules::new(sources);
        let paths: [&[u8]; 11] = [
            b"/usr/lib/x86_64-linux-gnu/libc.so.6",
            b"/lib64/ld.so",
            b"/etc/ld.so.cache",
            b"/etc/ld.so.cache2",
            b"/run/a.pid",
            b"/var/run/a.pid",
            b"/srv/data/",
            b"/top",
            b"/usr/share/doc/x",
            b"/proc/42/maps",
            b"relative/path",
        ];
        for path in paths {
            let mut by_source = vec![Perms::default(); sources.len()];
            for (source, source_rules) in sources.iter().enumerate() {
                for (glob, letters) in source_rules.iter() {
                    if Glob::parse(glob).matches(path) {
                        by_source[source] = by_source[source].union(Perms::parse(letters));
                    }
                }
            }
            let all = by_source.iter().fold(Perms::default(), |a, p| a.union(*p));
            let shown = path.escape_ascii();
            assert_eq!(rules.granted(path), all, "{shown}");
            let expected = (!all.is_empty()).then(|| by_source.into_boxed_slice());
            assert_eq!(rules.granted_by_source(path), expected, "{shown}");
        }
        assert_eq!(rules.granted(b"/srv/data/"), Perms::parse("r"));
        assert_eq!(rules.granted(b"/top"), Perms::parse("k"));
    }
}
