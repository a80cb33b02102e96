//! BENCHMARKS.md: formatting of figures, tables and verdicts, shared by every benchmark.

use super::measure::{Series, Spread};

/// Whether a measured figure meets its target.
#[derive(Debug, Clone)]
pub enum Verdict {
    Met,
    Missed,
    /// Not measured, with the reason.
    NotMeasured(String),
    /// A figure for comparison, with no target.
    Info,
}

/// One line of the summary table at the top.
pub struct SummaryRow {
    pub id: String,
    pub what: String,
    pub figure: String,
    pub target: String,
    pub verdict: Verdict,
}

impl SummaryRow {
    pub fn new(
        id: &str,
        what: &str,
        figure: String,
        target: &str,
        met: Option<bool>,
    ) -> SummaryRow {
        SummaryRow {
            id: id.into(),
            what: what.into(),
            figure,
            target: target.into(),
            verdict: match met {
                Some(true) => Verdict::Met,
                Some(false) => Verdict::Missed,
                None => Verdict::NotMeasured("could not be computed".into()),
            },
        }
    }

    pub fn verdict_text(&self) -> String {
        match &self.verdict {
            Verdict::Met => "met".into(),
            Verdict::Missed => "**MISSED**".into(),
            Verdict::NotMeasured(why) => format!("not measured: {why}"),
            Verdict::Info => "for comparison".into(),
        }
    }
}

/// A Markdown table; cells must not contain `|` (escaped here) or newlines.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let cell = |s: &str| s.replace('|', "\\|").replace('\n', " ");
    let mut out = format!(
        "| {} |\n|{}|\n",
        header
            .iter()
            .map(|h| cell(h))
            .collect::<Vec<_>>()
            .join(" | "),
        header.iter().map(|_| " --- ").collect::<Vec<_>>().join("|")
    );
    for row in rows {
        out.push_str(&format!(
            "| {} |\n",
            row.iter().map(|c| cell(c)).collect::<Vec<_>>().join(" | ")
        ));
    }
    out
}

/// Seconds as milliseconds (or seconds above 10 s).
pub fn time(seconds: f64) -> String {
    if !seconds.is_finite() {
        "—".into()
    } else if seconds >= 10.0 {
        format!("{seconds:.2} s")
    } else if seconds >= 0.1 {
        format!("{:.0} ms", seconds * 1e3)
    } else if seconds >= 0.01 {
        format!("{:.1} ms", seconds * 1e3)
    } else {
        format!("{:.2} ms", seconds * 1e3)
    }
}

/// A ratio with its range over rounds: `1.03 (0.99–1.08)`.
pub fn ratio(spread: Option<Spread>) -> String {
    match spread {
        Some(s) if s.median.is_finite() => {
            let digits = if s.median >= 100.0 {
                0
            } else if s.median >= 10.0 {
                1
            } else {
                2
            };
            format!("{:.d$} ({:.d$}–{:.d$})", s.median, s.min, s.max, d = digits)
        }
        _ => "—".into(),
    }
}

/// Nanoseconds with the range over rounds: `+73 ns (61–80)`.
pub fn ns(spread: Option<Spread>) -> String {
    match spread {
        Some(s) if s.median.is_finite() => {
            if s.median.abs() >= 10_000.0 {
                format!(
                    "{:+.1} µs ({:.1}–{:.1})",
                    s.median / 1e3,
                    s.min / 1e3,
                    s.max / 1e3
                )
            } else {
                format!("{:+.0} ns ({:.0}–{:.0})", s.median, s.min, s.max)
            }
        }
        _ => "—".into(),
    }
}

pub fn mib(kib: f64) -> String {
    if kib.is_finite() {
        format!("{:.1} MiB", kib / 1024.0)
    } else {
        "—".into()
    }
}

/// [`ratio`] for a figure judged against `target` (at most): a median just over the target
/// that two decimals would show as the target itself gets a third, so that "MISSED" never
/// stands next to the target's own value.
pub fn ratio_against(spread: Option<Spread>, target: f64) -> String {
    match spread {
        Some(s) if s.median > target && format!("{:.2}", s.median) == format!("{target:.2}") => {
            format!("{:.3} ({:.2}–{:.2})", s.median, s.min, s.max)
        }
        _ => ratio(spread),
    }
}

/// `2000000` as `2,000,000`.
pub fn group(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

pub fn label(series: &Series, key: &str) -> String {
    series
        .get(key)
        .map_or_else(|| key.to_owned(), |m| m.label.clone())
}

/// What the 90% confidence interval of a ratio's median says of its target, as a sentence
/// to follow the result (empty when there were too few rounds for one).
pub fn precision(interval: Option<(f64, f64)>, target: f64) -> String {
    let Some((low, high)) = interval else {
        return String::new();
    };
    let reading = if high <= target {
        "below the target"
    } else if low > target {
        "above the target"
    } else {
        "it holds the target, so this run alone cannot tell on which side of it the recorder is"
    };
    format!(
        " The median's 90% confidence interval (from the order statistics of the per-round ratios) is \
         {low:.3}–{high:.3}: {reading}."
    )
}

pub fn verdict(ratio: Option<Spread>, target: f64) -> &'static str {
    verdict_word(ratio.map(|r| r.median <= target))
}

/// The verdict as a section's text says it: whether a target was met, if it was measured.
pub fn verdict_word(met: Option<bool>) -> &'static str {
    match met {
        Some(true) => "met",
        Some(false) => "MISSED",
        None => "not measured",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(time(0.3456), "346 ms");
        assert_eq!(time(0.01234), "12.3 ms");
        assert_eq!(
            ratio(Some(Spread {
                median: 1.034,
                min: 0.99,
                max: 1.081
            })),
            "1.03 (0.99–1.08)"
        );
        let just_over = Some(Spread {
            median: 1.0241,
            min: 0.92,
            max: 1.19,
        });
        assert_eq!(ratio_against(just_over, 1.02), "1.024 (0.92–1.19)");
        assert_eq!(ratio_against(just_over, 1.05), "1.02 (0.92–1.19)");
        assert_eq!(
            ns(Some(Spread {
                median: 73.2,
                min: 61.0,
                max: 80.4
            })),
            "+73 ns (61–80)"
        );
        assert_eq!(
            table(&["a", "b"], &[vec!["1".into(), "x|y".into()]]),
            "| a | b |\n| --- | --- |\n| 1 | x\\|y |\n"
        );
    }
}
