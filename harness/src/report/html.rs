//! The HTML report: a summary, then every scenario with its steps, failure message or skip
//! reason, the timeline picture of what it observed, and the charts of its performance
//! measurements ([`super::perf_html`]).
//!
//! Entry point: [`render`] (a self-contained page, no scripts, no external assets).

use super::timeline::{escape, svg};
use super::{Results, Status, perf_html};

/// The page.
pub fn render(results: &Results) -> String {
    let (p, f, s) = results.counts();
    let mut out = String::from(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>kubeproof report</title><style>\
body{font-family:sans-serif;margin:2em;color:#222}\
.passed{border-left:6px solid #2a2}.failed{border-left:6px solid #d22}.skipped{border-left:6px solid #aaa}\
section{margin:1em 0;padding:.5em 1em;background:#fafafa}\
pre{background:#f0f0f0;padding:.5em;white-space:pre-wrap;max-height:30em;overflow:auto}\
li.failed{color:#d22}li.skipped{color:#888}li{list-style:none;border:none}\
table{border-collapse:collapse}td,th{padding:2px 10px;border-bottom:1px solid #ddd;text-align:right}\
td:first-child,th:first-child{text-align:left}</style></head><body>",
    );
    out.push_str(&format!(
        "<h1>kubeproof on <code>{}</code></h1><p>{p} passed, {f} failed, {s} skipped</p>",
        escape(&results.target)
    ));
    out.push_str("<table><tr><th>feature</th><th>passed</th><th>failed</th><th>skipped</th></tr>");
    let mut features: Vec<&str> = results.scenarios.iter().map(|r| r.path.as_str()).collect();
    features.sort();
    features.dedup();
    for feature in &features {
        let n = |st| {
            results
                .scenarios
                .iter()
                .filter(|r| r.path == *feature && r.status == st)
                .count()
        };
        out.push_str(&format!(
            "<tr><td><a href=\"#{}\">{}</a></td><td>{}</td><td>{}</td><td>{}</td></tr>",
            anchor(feature),
            escape(feature),
            n(Status::Passed),
            n(Status::Failed),
            n(Status::Skipped)
        ));
    }
    out.push_str("</table>");
    out.push_str(&perf_html::summary(results));
    for e in &results.parse_errors {
        out.push_str(&format!("<pre class=\"failed\">{}</pre>", escape(e)));
    }
    let mut current = "";
    for r in results.sorted() {
        if r.path != current {
            current = &r.path;
            out.push_str(&format!(
                "<h2 id=\"{}\">{} <small>{}</small></h2>",
                anchor(current),
                escape(&r.feature),
                escape(current)
            ));
        }
        out.push_str(&format!(
            "<section class=\"{}\"><h3>{} <small>line {} · {} · {:.1}s</small></h3>",
            r.status.as_str(),
            escape(&r.name),
            r.line,
            r.status.as_str(),
            r.duration.as_secs_f64()
        ));
        if let Some(m) = &r.message {
            let label = if r.status == Status::Skipped {
                "Skipped: "
            } else {
                ""
            };
            out.push_str(&format!("<pre>{label}{}</pre>", escape(m)));
        }
        out.push_str("<ul>");
        for st in &r.steps {
            out.push_str(&format!(
                "<li class=\"{}\">{} {}</li>",
                st.status.as_str(),
                match st.status {
                    Status::Passed => "✔",
                    Status::Failed => "✘",
                    Status::Skipped => "↷",
                },
                escape(&st.text)
            ));
        }
        out.push_str("</ul>");
        out.push_str(&perf_html::charts(&r.measurements));
        if let Some(trace) = &r.trace {
            if !trace.observations.is_empty() {
                out.push_str(&format!(
                    "<details open><summary>event chain in namespace <code>{}</code> ({} watch events)</summary>{}</details>",
                    escape(&trace.namespace),
                    trace.observations.len(),
                    svg(&trace.observations)
                ));
            }
            for note in &trace.notes {
                out.push_str(&format!("<p><small>recorder: {}</small></p>", escape(note)));
            }
        }
        out.push_str("</section>");
    }
    out.push_str("</body></html>\n");
    out
}

fn anchor(path: &str) -> String {
    path.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::ScenarioResult;

    #[test]
    fn the_page_shows_failures_and_skip_reasons_escaped() {
        let results = Results {
            target: "embedded".into(),
            scenarios: vec![ScenarioResult {
                feature: "CRUD".into(),
                path: "apiserver/crud.feature".into(),
                name: "read <it>".into(),
                line: 4,
                status: Status::Skipped,
                message: Some("@needs-scheduler: no scheduler".into()),
                duration: Default::default(),
                steps: vec![],
                trace: None,
                measurements: vec![],
            }],
            parse_errors: vec![],
        };
        let page = render(&results);
        assert!(page.contains("read &lt;it&gt;"));
        assert!(page.contains("Skipped: @needs-scheduler: no scheduler"));
        assert!(page.contains("0 passed, 0 failed, 1 skipped"));
    }
}
