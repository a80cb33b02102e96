//! Benchmark 4b: what `record`'s live status line costs the recording. On a terminal,
//! `record` redraws a line on stderr a few times a second from counts it already holds; the
//! same recording with `--quiet` draws nothing. Both run under `script`, so that stderr is a
//! terminal in both and the only difference is the line.

use super::harness::{Attach, Bench, Config};
use super::measure::{command_line, path_str, Series};
use super::report::{self, SummaryRow};
use anyhow::Result;
use std::fmt::Write as _;

/// Calls of the recorded loop: about two seconds recorded, so the line is redrawn several
/// times in each run.
const CALLS: u64 = 10_000_000;
/// The line's cost must not be measurable: within this factor of the quiet recording.
const TARGET: f64 = 1.01;

impl Bench {
    /// Benchmark 4b.
    pub fn status_line(&mut self) -> Result<()> {
        let rec = path_str(&self.recording_path("status-line"));
        let on_terminal = |quiet: bool| {
            let mut record = self.lp(&["record", "-o", &rec]);
            if quiet {
                record.push("--quiet".into());
            }
            record.push("--".into());
            record.extend(self.getppid_loop(CALLS));
            // script(1) gives the command a pseudo-terminal for its standard streams.
            vec![
                "script".to_owned(),
                "-qec".to_owned(),
                command_line(&record),
                "/dev/null".to_owned(),
            ]
        };
        let configs = [
            Config::new(
                "quiet",
                "`record --quiet -- loop` on a terminal",
                Attach::Nothing,
                on_terminal(true),
                1,
            ),
            Config::new(
                "line",
                "`record -- loop` on a terminal, with the status line",
                Attach::Nothing,
                on_terminal(false),
                1,
            ),
        ];
        let series = self.series("4b status line", &configs, self.rounds)?;
        self.status_line_report(&series);
        Ok(())
    }

    fn status_line_report(&mut self, series: &Series) {
        let ratio = series.ratio("line", "quiet");
        let median = ratio.map_or(f64::NAN, |r| r.median);
        self.summary.push(SummaryRow::new(
            "4b",
            "`record` on a terminal: with the live status line / `--quiet`",
            report::ratio(ratio),
            &format!("≤ {TARGET:.2}"),
            median.is_finite().then_some(median <= TARGET),
        ));
        let mut s = String::from("## 4b. The live status line\n\n");
        let _ = writeln!(s, "A getppid loop of {CALLS} calls recorded on a terminal (`script`), with the status line and with `--quiet`. Target: at most {TARGET:.2} × quiet. Result: {}.\n", report::ratio(ratio));
        let rows: Vec<Vec<String>> = series
            .configs
            .iter()
            .map(|m| vec![m.label.clone(), report::time(m.median())])
            .collect();
        s.push_str(&report::table(
            &["configuration", "median wall time"],
            &rows,
        ));
        self.sections.push((4, s));
    }
}
