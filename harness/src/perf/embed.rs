//! Puts every measurement into the Cucumber JSON report (`--json`), as an embedding of the
//! step that took it (`mime_type: application/json`, the measurement base64-encoded, as
//! the format wants), so tools that read Cucumber JSON find the figures beside the steps.
//!
//! Entry point: [`embed`], called once the run has written the file. The match is by
//! feature file, scenario line and step line.

use std::path::Path;

use anyhow::Context as _;
use base64::Engine as _;
use serde_json::{Value, json};

use crate::report::Results;

/// The `name` every measurement embedding carries.
pub const EMBEDDING_NAME: &str = "kubeproof measurement";

/// Adds the measurements of `results` to the Cucumber JSON file at `path`.
pub fn embed(path: &Path, results: &Results) -> anyhow::Result<()> {
    if results.scenarios.iter().all(|s| s.measurements.is_empty()) {
        return Ok(());
    }
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut features: Value = serde_json::from_str(&text)
        .with_context(|| format!("{} is not Cucumber JSON", path.display()))?;
    embed_into(&mut features, results);
    std::fs::write(path, serde_json::to_string(&features)?)
        .with_context(|| format!("writing {}", path.display()))
}

/// The pure part: edits the parsed Cucumber JSON.
pub fn embed_into(features: &mut Value, results: &Results) {
    let Some(features) = features.as_array_mut() else {
        return;
    };
    for r in results
        .scenarios
        .iter()
        .filter(|s| !s.measurements.is_empty())
    {
        let element = features
            .iter_mut()
            .filter(|f| {
                f.get("uri")
                    .and_then(Value::as_str)
                    .is_some_and(|u| u.ends_with(&r.path))
            })
            .filter_map(|f| f.get_mut("elements").and_then(Value::as_array_mut))
            .flatten()
            .find(|e| {
                e.get("line").and_then(Value::as_u64) == Some(r.line as u64)
                    && e.get("type").and_then(Value::as_str) == Some("scenario")
            });
        let Some(steps) = element
            .and_then(|e| e.get_mut("steps"))
            .and_then(Value::as_array_mut)
        else {
            continue;
        };
        for m in &r.measurements {
            let Ok(body) = serde_json::to_vec(m) else {
                continue;
            };
            let at = steps
                .iter()
                .position(|s| s.get("line").and_then(Value::as_u64) == Some(m.line as u64))
                .or(steps.len().checked_sub(1));
            let Some(step) = at.and_then(|i| steps.get_mut(i)) else {
                continue;
            };
            let embedding = json!({
                "data": base64::engine::general_purpose::STANDARD.encode(body),
                "mime_type": "application/json",
                "name": EMBEDDING_NAME,
            });
            match step.get_mut("embeddings").and_then(Value::as_array_mut) {
                Some(list) => list.push(embedding),
                None => {
                    if let Some(obj) = step.as_object_mut() {
                        obj.insert("embeddings".into(), json!([embedding]));
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::perf::Measurement;
    use crate::report::{ScenarioResult, Status};

    #[test]
    fn a_measurement_lands_on_the_step_that_took_it() {
        let mut cucumber = json!([{
            "uri": "features/performance/startup.feature",
            "elements": [{"type": "scenario", "line": 7, "steps": [
                {"line": 8, "name": "I start 10 Pods"},
                {"line": 15, "name": "the p99 ..."}
            ]}]
        }]);
        let results = Results {
            target: "embedded".into(),
            scenarios: vec![ScenarioResult {
                feature: "f".into(),
                path: "performance/startup.feature".into(),
                name: "s".into(),
                line: 7,
                status: Status::Passed,
                message: None,
                duration: Default::default(),
                steps: vec![],
                trace: None,
                measurements: vec![
                    Measurement::latency("pod startup latency", vec![5.0]).at_line(8),
                ],
            }],
            parse_errors: vec![],
        };
        embed_into(&mut cucumber, &results);
        let e = &cucumber[0]["elements"][0]["steps"][0]["embeddings"][0];
        assert_eq!(e["mime_type"], "application/json");
        let data = base64::engine::general_purpose::STANDARD
            .decode(e["data"].as_str().unwrap())
            .unwrap();
        let back: Measurement = serde_json::from_slice(&data).unwrap();
        assert_eq!(back.name, "pod startup latency");
        assert!(
            cucumber[0]["elements"][0]["steps"][1]
                .get("embeddings")
                .is_none()
        );
    }
}
