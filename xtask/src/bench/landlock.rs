//! Benchmark 11: what `leastpriv run --landlock` adds to a command's start-up.
//!
//! A configuration of 1,000 `pathBeneath` rules (one file each, the size of a large
//! recording's configuration) costs 1,000 opens and 1,000 `landlock_add_rule` calls before
//! the command starts; a one-rule configuration shows leastpriv's own start-up.

use super::harness::{Attach, Bench, Config};
use super::measure::{path_str, Measured};
use super::report::{self, SummaryRow};
use crate::cmd::{self, step};
use anyhow::{Context, Result};
use std::fmt::Write as _;
use std::fs;

/// Rules in the large configuration.
const RULES: usize = 1000;

impl Bench {
    /// Benchmark 11.
    pub fn landlock(&mut self) -> Result<()> {
        let truth = cmd::which("true").map_or_else(|| "/bin/true".into(), |p| path_str(&p));
        step!("11 landlock: writing a {RULES}-rule configuration");
        let dir = self.work.join("landlock-files");
        fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let mut parents = Vec::with_capacity(RULES);
        for n in 0..RULES {
            let file = dir.join(format!("f{n:04}"));
            fs::write(&file, "x").with_context(|| format!("cannot write {}", file.display()))?;
            parents.push(path_str(&file));
        }
        // `true` itself and its libraries, so the command can start under either configuration.
        let system = ["/usr", "/lib", "/lib64", "/bin", "/etc"];
        let config = |parents: &[String]| {
            serde_json::json!({
                "abi": 4,
                "ruleset": [{"handledAccessFs": ["execute", "read_file", "read_dir", "write_file"]}],
                "pathBeneath": [
                    {"allowedAccess": ["execute", "read_file", "read_dir"], "parent": system},
                    {"allowedAccess": ["read_file"], "parent": parents},
                ],
            })
            .to_string()
        };
        let large = path_str(&self.work.join("landlock-1000.json"));
        let small = path_str(&self.work.join("landlock-1.json"));
        fs::write(&large, config(&parents)).with_context(|| format!("cannot write {large}"))?;
        fs::write(&small, config(&parents[..1]))
            .with_context(|| format!("cannot write {small}"))?;
        let under = |config: &str| {
            let mut argv = self.lp(&["run", "--landlock", config, "--"]);
            argv.push(truth.clone());
            argv
        };
        let configs = [
            Config::new(
                "true",
                "`true` alone",
                Attach::Nothing,
                vec![truth.clone()],
                3,
            ),
            Config::new(
                "small",
                "`leastpriv run --landlock` (1 file rule) `-- true`",
                Attach::Nothing,
                under(&small),
                3,
            ),
            Config::new(
                "large",
                "`leastpriv run --landlock` (1,000 file rules) `-- true`",
                Attach::Nothing,
                under(&large),
                3,
            ),
        ];
        let series = self.series("11 landlock", &configs, self.rounds)?;
        let time = |key: &str| series.get(key).map_or(f64::NAN, Measured::median);
        let extra = time("large") - time("true");
        self.summary.push(SummaryRow::new(
            "11",
            "`leastpriv run --landlock` (1,000 rules) start-up over `true` alone",
            report::time(extra),
            "≤ 5 ms",
            extra.is_finite().then_some(extra <= 0.005),
        ));
        let rows: Vec<Vec<String>> = series
            .configs
            .iter()
            .map(|m| {
                vec![
                    m.label.clone(),
                    report::time(m.median()),
                    report::time(m.median() - time("true")),
                ]
            })
            .collect();
        let mut s = String::from("## 11. Start-up under a Landlock configuration\n\n");
        let _ = writeln!(
            s,
            "Target: `leastpriv run --landlock` with {RULES} file rules at most 5 ms over `true` alone (median wall \
             time). Result: **{}**, {}. The difference between the 1-rule and the {RULES}-rule rows is the rules' own \
             cost: one open and one `landlock_add_rule` each.\n",
            report::time(extra),
            if extra <= 0.005 { "met" } else { "MISSED" }
        );
        s.push_str(&report::table(
            &["configuration", "median wall time", "over `true` alone"],
            &rows,
        ));
        s.push('\n');
        s.push_str(&self.noise(&series));
        s.push_str("\n\n");
        s.push_str(&self.commands(&configs));
        self.sections.push((12, s));
        Ok(())
    }
}
