//! The event-chain picture: an inline SVG of the writes a scenario observed over time.
//!
//! Entry point: [`svg`]. One lane per object (kind/name), one mark per watch event:
//! green = ADDED, blue = MODIFIED, red = DELETED; hovering a mark shows the event.

use crate::observe::Observation;

/// Lanes beyond this many are folded into the last one, to keep the picture readable.
const MAX_LANES: usize = 30;

/// Escapes text for XML.
pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The SVG for a scenario's observations (empty string when there are none).
pub fn svg(observations: &[Observation]) -> String {
    if observations.is_empty() {
        return String::new();
    }
    let mut order: Vec<String> = Vec::new();
    for o in observations {
        let lane = format!("{}/{}", o.kind, o.name);
        if !order.contains(&lane) {
            order.push(lane);
        }
    }
    let lane_of = |o: &Observation| {
        let l = format!("{}/{}", o.kind, o.name);
        order
            .iter()
            .position(|x| *x == l)
            .unwrap_or(0)
            .min(MAX_LANES - 1)
    };
    let end = observations
        .iter()
        .map(|o| o.at.as_millis())
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let (label_w, plot_w, lane_h) = (260.0, 640.0, 18.0);
    let n_lanes = order.len().min(MAX_LANES);
    let height = 30.0 + lane_h * n_lanes as f64;
    let mut out = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{}" height="{height}" font-family="monospace" font-size="11">"#,
        label_w + plot_w + 20.0
    );
    for (i, lane) in order.iter().take(MAX_LANES).enumerate() {
        let y = 20.0 + lane_h * i as f64;
        let label = if i == MAX_LANES - 1 && order.len() > MAX_LANES {
            format!("… {} more objects", order.len() - MAX_LANES + 1)
        } else {
            lane.clone()
        };
        out.push_str(&format!(
            r##"<text x="4" y="{}">{}</text><line x1="{label_w}" y1="{}" x2="{}" y2="{}" stroke="#ddd"/>"##,
            y + 4.0,
            escape(&truncate(&label, 38)),
            y,
            label_w + plot_w,
            y
        ));
    }
    for o in observations {
        let x = label_w + plot_w * (o.at.as_millis() as f64 / end);
        let y = 20.0 + lane_h * lane_of(o) as f64;
        let colour = match o.event.as_str() {
            "ADDED" => "#2a2",
            "DELETED" => "#d22",
            _ => "#27d",
        };
        out.push_str(&format!(
            r#"<circle cx="{x:.1}" cy="{y}" r="4" fill="{colour}"><title>{}</title></circle>"#,
            escape(&format!(
                "#{} +{}ms {} {}/{} rv={}",
                o.seq,
                o.at.as_millis(),
                o.event,
                o.kind,
                o.name,
                o.resource_version
            ))
        ));
    }
    out.push_str(&format!(
        r#"<text x="{label_w}" y="{}">0 ms</text><text x="{}" y="{}" text-anchor="end">{end} ms</text></svg>"#,
        height - 2.0,
        label_w + plot_w,
        height - 2.0
    ));
    out
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(n - 1).collect::<String>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn obs(seq: usize, kind: &str, name: &str, event: &str, ms: u64) -> Observation {
        Observation {
            seq,
            at: Duration::from_millis(ms),
            kind: kind.into(),
            name: name.into(),
            event: event.into(),
            resource_version: (seq + 10).to_string(),
            object: serde_json::Value::Null,
        }
    }

    #[test]
    fn one_lane_per_object_and_one_mark_per_event() {
        let s = svg(&[
            obs(0, "Deployment", "web", "ADDED", 0),
            obs(1, "ReplicaSet", "web-abc", "ADDED", 5),
            obs(2, "Deployment", "web", "MODIFIED", 9),
        ]);
        assert_eq!(s.matches("<circle").count(), 3);
        assert_eq!(s.matches("<line").count(), 2);
        assert!(s.contains("Deployment/web"));
        assert!(s.contains("MODIFIED Deployment/web rv=12"));
    }

    #[test]
    fn no_observations_no_picture() {
        assert!(svg(&[]).is_empty());
    }
}
