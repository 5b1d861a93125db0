//! The performance part of the HTML report: a summary table of every measurement, and for
//! each one a latency distribution (a histogram with its p50/p90/p99 and threshold marked)
//! and the breakdown into phases (a bar split by each phase's share of the mean, with the
//! phases' percentiles). Inline SVG only: no scripts, no external assets.
//!
//! Entry points: [`summary`] (for the top of the page), [`charts`] (inside a scenario).

use std::fmt::Write as _;

use super::Results;
use super::perf_table::threshold_text;
use super::timeline::escape;
use crate::perf::stats::histogram;
use crate::perf::{Bound, Measurement, PER_SECOND, Verdict, human_ms};

const WIDTH: f64 = 520.0;
const HEIGHT: f64 = 120.0;
const BINS: usize = 30;
/// Colours of the phases, in order (repeated past the last).
const PHASE_COLOURS: &[&str] = &[
    "#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#b07aa1",
];

fn verdict_class(v: Verdict) -> &'static str {
    match v {
        Verdict::Pass => "passed",
        Verdict::Fail => "failed",
        Verdict::Unchecked => "skipped",
    }
}

fn show(m: &Measurement, v: Option<f64>) -> String {
    match v {
        Some(v) if m.unit == PER_SECOND => format!("{v:.1}/s"),
        Some(v) => human_ms(v),
        None => "-".into(),
    }
}

/// The table of every measurement of the run (empty when there is none).
pub fn summary(results: &Results) -> String {
    let all = results.measurements();
    if all.is_empty() {
        return String::new();
    }
    let mut out = String::from(
        "<h2>Performance</h2><table><tr><th>measurement</th><th>samples</th><th>p50</th>\
<th>p90</th><th>p99 / rate</th><th>thresholds</th><th>verdict</th></tr>",
    );
    for m in all {
        let last = if m.rate.is_some() {
            m.rate
        } else {
            m.summary.p99
        };
        let thresholds: Vec<String> = m.thresholds.iter().map(|t| threshold_text(m, t)).collect();
        let _ = write!(
            out,
            "<tr class=\"{}\"><td>{} › {}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            verdict_class(m.verdict),
            escape(&m.scenario),
            escape(&m.name),
            m.summary.samples,
            show(m, m.summary.p50),
            show(m, m.summary.p90),
            show(m, last),
            escape(&thresholds.join(", ")),
            m.verdict.as_str()
        );
    }
    out.push_str("</table>");
    out
}

/// The charts of one scenario's measurements.
pub fn charts(measurements: &[Measurement]) -> String {
    let mut out = String::new();
    for m in measurements {
        let _ = write!(
            out,
            "<div class=\"{}\" style=\"padding-left:.5em;margin:.5em 0\"><b>{}</b> <small>{} · {}</small>",
            verdict_class(m.verdict),
            escape(&m.name),
            escape(&m.figures()),
            m.verdict.as_str()
        );
        if m.rate.is_none() && !m.values.is_empty() {
            out.push_str(&distribution(m));
        }
        if !m.phases.is_empty() {
            out.push_str(&phases(m));
        }
        out.push_str("</div>");
    }
    out
}

/// The histogram of the values, with percentile and threshold lines.
fn distribution(m: &Measurement) -> String {
    let top = m.summary.max.unwrap_or(0.0).max(1.0);
    // A threshold far above the values would squash them into one bar: mark it off-chart.
    let threshold = m
        .thresholds
        .iter()
        .find(|t| t.phase.is_none() && t.bound == Bound::AtMost)
        .map(|t| t.value);
    let max = match threshold {
        Some(t) if t <= top * 2.0 => t.max(top) * 1.05,
        _ => top * 1.05,
    };
    let (_, counts) = histogram(&m.values, max, BINS);
    let tallest = counts.iter().copied().max().unwrap_or(1).max(1) as f64;
    let (left, plot_h) = (30.0, HEIGHT - 20.0);
    let bar_w = (WIDTH - left) / BINS as f64;
    let x = |v: f64| left + (v / max).clamp(0.0, 1.0) * (WIDTH - left);
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{HEIGHT}\" role=\"img\" \
aria-label=\"distribution of {}\"><line x1=\"{left}\" y1=\"{plot_h}\" x2=\"{WIDTH}\" y2=\"{plot_h}\" stroke=\"#999\"/>",
        escape(&m.name)
    );
    for (i, c) in counts.iter().enumerate().filter(|(_, c)| **c > 0) {
        let h = *c as f64 / tallest * (plot_h - 14.0);
        let _ = write!(
            svg,
            "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{h:.1}\" fill=\"#9ab\"><title>{c} sample(s)</title></rect>",
            left + i as f64 * bar_w,
            plot_h - h,
            (bar_w - 1.0).max(1.0)
        );
    }
    let marks = [
        ("p50", m.summary.p50, "#4e79a7"),
        ("p90", m.summary.p90, "#f28e2b"),
        ("p99", m.summary.p99, "#e15759"),
    ];
    // The lines carry no labels (close percentiles would overlap): a legend says which.
    let mut legend = format!("<text x=\"{left}\" y=\"10\" font-size=\"10\">");
    for (label, v, colour) in &marks {
        if let Some(v) = v {
            let _ = write!(
                svg,
                "<line x1=\"{0:.1}\" y1=\"14\" x2=\"{0:.1}\" y2=\"{plot_h}\" stroke=\"{colour}\"/>",
                x(*v)
            );
            let _ = write!(
                legend,
                "<tspan fill=\"{colour}\">{label} {}</tspan>  ",
                human_ms(*v)
            );
        }
    }
    legend.push_str("</text>");
    svg.push_str(&legend);
    match threshold {
        Some(t) if t <= max => {
            let _ = write!(
                svg,
                "<line x1=\"{0:.1}\" y1=\"0\" x2=\"{0:.1}\" y2=\"{plot_h}\" stroke=\"#000\" stroke-dasharray=\"4 3\"/>\
<text x=\"{1:.1}\" y=\"{plot_h}\" font-size=\"10\" text-anchor=\"end\">threshold {2}</text>",
                x(t),
                x(t) - 2.0,
                human_ms(t)
            );
        }
        Some(t) => {
            let _ = write!(
                svg,
                "<text x=\"{WIDTH}\" y=\"10\" font-size=\"10\" text-anchor=\"end\">threshold {} →</text>",
                human_ms(t)
            );
        }
        None => {}
    }
    let _ = write!(
        svg,
        "<text x=\"{left}\" y=\"{HEIGHT}\" font-size=\"10\">0</text>\
<text x=\"{WIDTH}\" y=\"{HEIGHT}\" font-size=\"10\" text-anchor=\"end\">{}</text></svg>",
        human_ms(max)
    );
    svg
}

/// The phase breakdown: one bar split by each phase's mean, then a table of percentiles.
fn phases(m: &Measurement) -> String {
    let total: f64 = m
        .phases
        .iter()
        .filter_map(|p| p.summary.mean)
        .sum::<f64>()
        .max(f64::MIN_POSITIVE);
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"22\" role=\"img\" aria-label=\"phases of {}\">",
        escape(&m.name)
    );
    let mut at = 0.0;
    for (i, p) in m.phases.iter().enumerate() {
        let w = p.summary.mean.unwrap_or(0.0) / total * WIDTH;
        let _ = write!(
            svg,
            "<rect x=\"{at:.1}\" y=\"2\" width=\"{w:.1}\" height=\"18\" fill=\"{}\"><title>{}: mean {}</title></rect>",
            PHASE_COLOURS[i % PHASE_COLOURS.len()],
            escape(&p.name),
            human_ms(p.summary.mean.unwrap_or(0.0))
        );
        at += w;
    }
    svg.push_str("</svg>");
    let mut table = String::from(
        "<table><tr><th>phase</th><th>mean</th><th>p50</th><th>p90</th><th>p99</th><th>budget</th></tr>",
    );
    for (i, p) in m.phases.iter().enumerate() {
        let budget: Vec<String> = m
            .thresholds
            .iter()
            .filter(|t| t.phase.as_deref() == Some(p.name.as_str()))
            .map(|t| format!("{} ({})", threshold_text(m, t), t.verdict.as_str()))
            .collect();
        let _ = write!(
            table,
            "<tr><td><span style=\"color:{}\">■</span> {}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            PHASE_COLOURS[i % PHASE_COLOURS.len()],
            escape(&p.name),
            show(m, p.summary.mean),
            show(m, p.summary.p50),
            show(m, p.summary.p90),
            show(m, p.summary.p99),
            escape(&budget.join(", "))
        );
    }
    table.push_str("</table>");
    format!("<div>{svg}{table}</div>")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::perf::{Stat, Threshold};

    #[test]
    fn a_latency_gets_a_distribution_with_its_percentiles_and_a_phase_breakdown() {
        let mut m = Measurement::latency("pod <startup>", vec![10.0, 20.0, 30.0, 900.0])
            .phase("create → scheduled", &[5.0, 6.0])
            .phase("scheduled → running", &[15.0, 16.0]);
        m.check(Threshold::at_most(Stat::P99, 1000.0));
        let html = charts(&[m]);
        assert!(html.contains("pod &lt;startup&gt;"), "escaped: {html}");
        assert!(html.contains(">p99 900ms</tspan>"), "{html}");
        assert!(html.contains("threshold 1.00s</text>"), "{html}");
        assert!(html.contains("create → scheduled"), "{html}");
        assert_eq!(html.matches("<svg").count(), 2, "{html}");
        assert!(!html.contains("<script"));
    }

    #[test]
    fn a_threshold_far_above_the_values_is_marked_off_the_chart() {
        let mut m = Measurement::latency("watch latency", vec![1.0, 2.0]);
        m.check(Threshold::at_most(Stat::P99, 1000.0));
        assert!(charts(&[m]).contains("threshold 1.00s →"));
    }
}
