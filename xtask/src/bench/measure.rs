//! Timing with hyperfine, and the statistics the report gives: medians over all runs, and
//! ratios taken within each round (both sides measured minutes apart at most) and then their
//! median, so that a machine that gets slower or faster during the run moves both sides alike.

use crate::cmd;
use anyhow::{bail, Context, Result};
use std::path::Path;
use std::process::Command;

/// Quotes one word for a POSIX shell (and for hyperfine, which splits `-N` commands the same way).
pub fn sh_quote(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:+,@%".contains(c));
    if plain {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

pub fn command_line(argv: &[String]) -> String {
    argv.iter()
        .map(|a| sh_quote(a))
        .collect::<Vec<_>>()
        .join(" ")
}

pub fn path_str(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

pub fn strings(words: &[&str]) -> Vec<String> {
    words.iter().map(|w| (*w).to_owned()).collect()
}

/// Runs `argv` `runs` times under hyperfine (no shell in between) and returns the wall times in
/// seconds. hyperfine fails, and so does this, if any run exits non-zero.
pub fn hyperfine(argv: &[String], runs: usize, json: &Path) -> Result<Vec<f64>> {
    let _ = std::fs::remove_file(json);
    cmd::output(
        Command::new("hyperfine")
            .args(["-N", "--style", "none", "--runs", &runs.to_string()])
            .arg("--export-json")
            .arg(json)
            .arg(command_line(argv)),
    )?;
    let text = std::fs::read_to_string(json)
        .with_context(|| format!("hyperfine wrote no {}", json.display()))?;
    let v: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("cannot parse {}", json.display()))?;
    let times: Vec<f64> = v["results"][0]["times"]
        .as_array()
        .map(|t| t.iter().filter_map(serde_json::Value::as_f64).collect())
        .unwrap_or_default();
    if times.len() != runs {
        bail!(
            "{} holds {} times for `{}`, expected {runs}",
            json.display(),
            times.len(),
            command_line(argv)
        );
    }
    Ok(times)
}

/// The median (mean of the middle two for an even count); NaN for none.
pub fn median(values: &[f64]) -> f64 {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    if v.len() % 2 == 1 {
        v[mid]
    } else {
        (v[mid - 1] + v[mid]) / 2.0
    }
}

/// A 90% confidence interval for the median of the population `values` were drawn from:
/// the order statistics a Binomial(n, 1/2) count leaves at most 5% beyond on each side. It
/// assumes nothing of the distribution (round ratios have long tails on these machines), and
/// says how far the median of one run can be trusted against a target. None for fewer than
/// five values, which cannot give one.
pub fn median_interval(values: &[f64]) -> Option<(f64, f64)> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    // P(B <= k) for B ~ Binomial(n, 1/2), in logarithms so that no term underflows.
    let mut log_term = n as f64 * 0.5f64.ln();
    let mut below = log_term.exp();
    if n < 5 || below > 0.05 {
        return None;
    }
    // The lowest value of the interval is the j-th smallest (from 0) for the largest j with
    // P(B <= j) <= 5%: the median lies below it only when at most j values do.
    let mut j = 0;
    while j + 1 < n / 2 {
        log_term += ((n - j) as f64).ln() - ((j + 1) as f64).ln();
        below += log_term.exp();
        if below > 0.05 {
            break;
        }
        j += 1;
    }
    Some((v[j], v[n - 1 - j]))
}

/// Busy CPU time of the whole machine (all CPUs, in clock ticks) and total time, from
/// /proc/stat, to tell how loaded the machine was during a sample.
#[derive(Debug, Clone, Copy)]
pub struct CpuTimes {
    busy: u64,
    total: u64,
}

pub fn cpu_times() -> CpuTimes {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let fields: Vec<u64> = stat
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .skip(1)
        .filter_map(|f| f.parse().ok())
        .collect();
    let total: u64 = fields.iter().take(8).sum();
    // user nice system idle iowait irq softirq steal
    let idle = fields.get(3).copied().unwrap_or(0) + fields.get(4).copied().unwrap_or(0);
    CpuTimes {
        busy: total.saturating_sub(idle),
        total,
    }
}

/// How many CPUs were busy on average between two readings.
pub fn busy_cpus(before: CpuTimes, after: CpuTimes, cpus: usize) -> f64 {
    let total = after.total.saturating_sub(before.total);
    if total == 0 {
        return f64::NAN;
    }
    after.busy.saturating_sub(before.busy) as f64 / total as f64 * cpus as f64
}

/// Which of a sample's runs stands for it in the per-round ratios.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum PerSample {
    /// The median run: for workloads whose run-to-run spread is part of their cost.
    #[default]
    Median,
    /// The fastest run, the one the machine disturbed least: for the short syscall loops,
    /// whose own cost is the same every run while the VMs' slow spells (a third slower for
    /// tenths of a second, seen with nothing attached) only ever add to it.
    Fastest,
}

impl PerSample {
    /// The run that stands for `sample`; NaN for none.
    pub fn of(self, sample: &Sample) -> f64 {
        match self {
            PerSample::Median => sample.median(),
            PerSample::Fastest => sample
                .times
                .iter()
                .copied()
                .filter(|t| t.is_finite())
                .reduce(f64::min)
                .unwrap_or(f64::NAN),
        }
    }
}

/// One configuration's measurement in one round.
#[derive(Debug, Clone, Default)]
pub struct Sample {
    /// Wall times of the runs, in seconds.
    pub times: Vec<f64>,
    /// How often it was taken again because another program was attached to a syscall hook.
    pub retries: u32,
    /// Still disturbed after the last retry (kept, and counted in the report).
    pub disturbed: bool,
    /// CPUs busy on average during the sample (the workload itself accounts for about one).
    pub busy_cpus: f64,
    /// Peak memory of the background program, when it ran under /usr/bin/time.
    pub max_rss_kib: Option<u64>,
    /// How long the background program took to stop (a recorder writes its recording then).
    pub stop_secs: Option<f64>,
}

impl Sample {
    pub fn median(&self) -> f64 {
        median(&self.times)
    }
}

/// Every sample of one configuration, one per round.
#[derive(Debug, Clone)]
pub struct Measured {
    pub key: &'static str,
    pub label: String,
    /// Which of each sample's runs its ratios take.
    pub per_sample: PerSample,
    pub samples: Vec<Sample>,
}

impl Measured {
    /// Median of every run of every round.
    pub fn median(&self) -> f64 {
        let all: Vec<f64> = self.samples.iter().flat_map(|s| s.times.clone()).collect();
        median(&all)
    }

    /// Median over rounds of the run that stands for each sample (see `PerSample`).
    pub fn median_value(&self) -> f64 {
        let values: Vec<f64> = self.samples.iter().map(|s| self.per_sample.of(s)).collect();
        median(&values)
    }
}

/// A figure taken per round, summarised as the median over rounds with its range.
#[derive(Debug, Clone, Copy)]
pub struct Spread {
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

impl Spread {
    pub fn of(values: &[f64]) -> Spread {
        let finite: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
        Spread {
            median: median(&finite),
            min: finite.iter().copied().fold(f64::NAN, f64::min),
            max: finite.iter().copied().fold(f64::NAN, f64::max),
        }
    }
}

/// The results of one benchmark: every configuration, measured in alternating rounds.
#[derive(Debug, Clone, Default)]
pub struct Series {
    pub configs: Vec<Measured>,
    /// Wall time the whole benchmark took, waits and retries included.
    pub seconds: f64,
}

impl Series {
    pub fn get(&self, key: &str) -> Option<&Measured> {
        self.configs.iter().find(|m| m.key == key)
    }

    /// Per round, `f(a's run, b's run)`, each the run that stands for its sample: the one
    /// `per_sample` picks, or each configuration's own choice when it is None.
    fn per_round_by(
        &self,
        a: &str,
        b: &str,
        per_sample: Option<PerSample>,
        f: impl Fn(f64, f64) -> f64,
    ) -> Option<Vec<f64>> {
        let (a, b) = (self.get(a)?, self.get(b)?);
        let (pick_a, pick_b) = (
            per_sample.unwrap_or(a.per_sample),
            per_sample.unwrap_or(b.per_sample),
        );
        Some(
            a.samples
                .iter()
                .zip(&b.samples)
                .map(|(x, y)| f(pick_a.of(x), pick_b.of(y)))
                .collect(),
        )
    }

    /// Per round, `f(a's run, b's run)`, each configuration's own run (see `PerSample`).
    fn per_round(&self, a: &str, b: &str, f: impl Fn(f64, f64) -> f64) -> Option<Vec<f64>> {
        self.per_round_by(a, b, None, f)
    }

    /// a / b per round from each sample's median run, whichever run the configurations
    /// count: what the fastest-run figures would read without leaving out the slow runs.
    pub fn ratio_of_median_runs(&self, a: &str, b: &str) -> Option<Spread> {
        let ratios = self.per_round_by(a, b, Some(PerSample::Median), |x, y| x / y)?;
        Some(Spread::of(&ratios))
    }

    /// Per round, `f(a's run, b's run)`; summarised over rounds.
    fn paired(&self, a: &str, b: &str, f: impl Fn(f64, f64) -> f64) -> Option<Spread> {
        Some(Spread::of(&self.per_round(a, b, f)?))
    }

    /// (a[0] - a[1]) / (b[0] - b[1]) per round: the ratio of two differences, each what one
    /// run adds over another of the same round (a loop's own time, start-up taken out).
    pub fn ratio_of_differences(&self, a: [&str; 2], b: [&str; 2]) -> Option<Spread> {
        let over_a = self.per_round(a[0], a[1], |x, y| x - y)?;
        let over_b = self.per_round(b[0], b[1], |x, y| x - y)?;
        let ratios: Vec<f64> = over_a.iter().zip(&over_b).map(|(x, y)| x / y).collect();
        Some(Spread::of(&ratios))
    }

    /// a / b, per round.
    pub fn ratio(&self, a: &str, b: &str) -> Option<Spread> {
        self.paired(a, b, |x, y| x / y)
    }

    /// The 90% confidence interval of `ratio(a, b)`'s median (see `median_interval`).
    pub fn ratio_interval(&self, a: &str, b: &str) -> Option<(f64, f64)> {
        median_interval(&self.per_round(a, b, |x, y| x / y)?)
    }

    /// (a - b) / calls in nanoseconds, per round: what a configuration adds to each call.
    pub fn extra_ns_per_call(&self, a: &str, b: &str, calls: u64) -> Option<Spread> {
        self.paired(a, b, |x, y| (x - y) / calls as f64 * 1e9)
    }

    pub fn retries(&self) -> u32 {
        self.configs
            .iter()
            .flat_map(|m| &m.samples)
            .map(|s| s.retries)
            .sum()
    }

    pub fn disturbed(&self) -> usize {
        self.configs
            .iter()
            .flat_map(|m| &m.samples)
            .filter(|s| s.disturbed)
            .count()
    }

    pub fn busy_cpus(&self) -> f64 {
        let all: Vec<f64> = self
            .configs
            .iter()
            .flat_map(|m| &m.samples)
            .filter(|s| !s.times.is_empty())
            .map(|s| s.busy_cpus)
            .collect();
        median(&all)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_interval_is_the_binomial_order_statistics() {
        let ranks = |n: usize| -> Vec<f64> { (0..n).rev().map(|i| i as f64).collect() };
        // Too few values for 90%: all four hold the median with probability 7/8 only.
        assert_eq!(median_interval(&ranks(4)), None);
        // Five: the extremes, P(B = 0) = 1/32 on each side.
        assert_eq!(median_interval(&ranks(5)), Some((0.0, 4.0)));
        // Ten: P(B <= 1) = 11/1024, P(B <= 2) = 56/1024 > 5%.
        assert_eq!(median_interval(&ranks(10)), Some((1.0, 8.0)));
        // 63: P(B <= 24) = 3.9%, P(B <= 25) = 6.5%.
        assert_eq!(median_interval(&ranks(63)), Some((24.0, 38.0)));
        // Rounds that were not measured (NaN) are left out.
        let mut some = ranks(5);
        some.push(f64::NAN);
        assert_eq!(median_interval(&some), Some((0.0, 4.0)));
    }

    #[test]
    fn medians() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert!(median(&[]).is_nan());
    }

    /// A sample of one run taking `t` seconds, with one CPU busy.
    fn sample(t: f64) -> Sample {
        Sample {
            times: vec![t],
            busy_cpus: 1.0,
            ..Sample::default()
        }
    }

    #[test]
    fn ratios_are_paired_by_round() {
        let series = Series {
            configs: vec![
                Measured {
                    key: "a",
                    label: "a".into(),
                    per_sample: PerSample::Median,
                    samples: vec![sample(2.0), sample(4.0), sample(3.3)],
                },
                Measured {
                    key: "b",
                    label: "b".into(),
                    per_sample: PerSample::Median,
                    samples: vec![sample(1.0), sample(4.0), sample(3.0)],
                },
            ],
            seconds: 0.0,
        };
        let r = series.ratio("a", "b").unwrap();
        assert!((r.median - 1.1).abs() < 1e-9);
        assert_eq!((r.min, r.max), (1.0, 2.0));
        let extra = series.extra_ns_per_call("a", "b", 1_000_000_000).unwrap();
        assert!((extra.median - 0.3).abs() < 1e-9);
    }

    #[test]
    fn fastest_run_samples_pair_their_fastest_runs() {
        let runs = |times: &[f64]| Sample {
            times: times.to_vec(),
            ..Sample::default()
        };
        let series = Series {
            configs: vec![
                Measured {
                    key: "a",
                    label: "a".into(),
                    per_sample: PerSample::Fastest,
                    samples: vec![runs(&[1.5, 1.02, 1.4]), runs(&[1.1, 1.3, 1.2])],
                },
                Measured {
                    key: "b",
                    label: "b".into(),
                    per_sample: PerSample::Fastest,
                    samples: vec![runs(&[1.0, 1.3, 1.35]), runs(&[1.0, 1.1, 1.0])],
                },
            ],
            seconds: 0.0,
        };
        let r = series.ratio("a", "b").unwrap();
        assert_eq!((r.min, r.max), (1.02, 1.1));
        // The median runs tell another story, which the report gives beside it.
        let by_median = series.ratio_of_median_runs("a", "b").unwrap();
        assert!((by_median.min - 1.4 / 1.3).abs() < 1e-9);
        assert!((by_median.max - 1.2 / 1.0).abs() < 1e-9);
        assert_eq!(series.get("a").unwrap().median_value(), (1.02 + 1.1) / 2.0);
        assert!(PerSample::Fastest.of(&Sample::default()).is_nan());
    }

    #[test]
    fn rounds_a_configuration_skipped_are_left_out_of_its_ratios() {
        let series = Series {
            configs: vec![
                Measured {
                    key: "every",
                    label: "every".into(),
                    per_sample: PerSample::Median,
                    samples: vec![sample(1.0), sample(1.0), sample(1.0), sample(1.0)],
                },
                Measured {
                    key: "some",
                    label: "some".into(),
                    per_sample: PerSample::Median,
                    samples: vec![
                        sample(3.0),
                        Sample::default(),
                        sample(5.0),
                        Sample::default(),
                    ],
                },
            ],
            seconds: 0.0,
        };
        let r = series.ratio("some", "every").unwrap();
        assert_eq!((r.median, r.min, r.max), (4.0, 3.0, 5.0));
        assert_eq!(series.get("some").unwrap().median(), 4.0);
        assert_eq!(
            series.busy_cpus(),
            1.0,
            "a skipped round has no load to count"
        );
    }

    #[test]
    fn quoting() {
        assert_eq!(sh_quote("/usr/bin/x"), "/usr/bin/x");
        assert_eq!(sh_quote("echo $$"), "'echo $$'");
        assert_eq!(sh_quote("it's"), r"'it'\''s'");
        assert_eq!(sh_quote(""), "''");
    }
}
