//! TaintToleration: filters nodes with untolerated NoSchedule/NoExecute taints and scores
//! against untolerated PreferNoSchedule taints (k8s-behaviour.md §1.6).

use k8s_openapi::api::core::v1::{Pod, Toleration};

use crate::framework::{
    CycleState, FilterPlugin, MAX_NODE_SCORE, NodeInfo, NodeScore, Plugin, ScorePlugin, Status,
    default_normalize_score,
};
use refkube_helpers::taints::{node_taints, pod_tolerations, tolerations_tolerate};

/// Plugin name.
pub const NAME: &str = "TaintToleration";

/// `"node(s) had untolerated taint {key: value}"`.
pub fn err_reason_untolerated(key: &str, value: &str) -> String {
    format!("node(s) had untolerated taint {{{key}: {value}}}")
}

/// The TaintToleration plugin.
#[derive(Debug, Default)]
pub struct TaintToleration;

impl Plugin for TaintToleration {
    fn name(&self) -> &'static str {
        NAME
    }
    fn as_filter(&self) -> Option<&dyn FilterPlugin> {
        Some(self)
    }
    fn as_score(&self) -> Option<&dyn ScorePlugin> {
        Some(self)
    }
}

impl FilterPlugin for TaintToleration {
    fn filter(&self, _state: &CycleState, pod: &Pod, node: &NodeInfo) -> Status {
        let tolerations = pod_tolerations(pod);
        let untolerated = node_taints(&node.node).iter().find(|t| {
            (t.effect == "NoSchedule" || t.effect == "NoExecute")
                && !tolerations_tolerate(tolerations, t)
        });
        match untolerated {
            None => Status::success(),
            Some(t) => Status::unresolvable(err_reason_untolerated(
                &t.key,
                t.value.as_deref().unwrap_or(""),
            )),
        }
    }
}

impl ScorePlugin for TaintToleration {
    fn score(&self, _state: &CycleState, pod: &Pod, node: &NodeInfo) -> Result<i64, Status> {
        let prefer: Vec<Toleration> = pod_tolerations(pod)
            .iter()
            .filter(|t| {
                matches!(
                    t.effect.as_deref(),
                    None | Some("") | Some("PreferNoSchedule")
                )
            })
            .cloned()
            .collect();
        let count = node_taints(&node.node)
            .iter()
            .filter(|t| t.effect == "PreferNoSchedule" && !tolerations_tolerate(&prefer, t))
            .count();
        Ok(i64::try_from(count).unwrap_or(i64::MAX))
    }

    fn normalize(&self, _state: &CycleState, _pod: &Pod, scores: &mut [NodeScore]) -> Status {
        default_normalize_score(MAX_NODE_SCORE, true, scores);
        Status::success()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framework::Code;
    use crate::testing::{node, node_info, pod};
    use serde_json::json;

    fn tainted(taints: serde_json::Value) -> NodeInfo {
        node_info(
            node("n1", "1", "1Gi", json!({"spec": {"taints": taints}})),
            &[],
        )
    }

    #[test]
    fn the_first_untolerated_taint_is_reported() {
        let n = tainted(json!([
            {"key": "a", "value": "1", "effect": "PreferNoSchedule"},
            {"key": "b", "value": "2", "effect": "NoSchedule"},
            {"key": "c", "value": "3", "effect": "NoExecute"}]));
        let s = TaintToleration.filter(&CycleState::default(), &pod("p", json!({})), &n);
        assert_eq!(s.code, Code::UnschedulableAndUnresolvable);
        assert_eq!(s.reasons, vec!["node(s) had untolerated taint {b: 2}"]);
    }

    #[test]
    fn tolerated_and_prefer_no_schedule_taints_pass_the_filter() {
        let n = tainted(json!([
            {"key": "a", "effect": "PreferNoSchedule"},
            {"key": "b", "value": "2", "effect": "NoSchedule"}]));
        let p = pod(
            "p",
            json!({"tolerations": [{"key": "b", "operator": "Equal", "value": "2"}]}),
        );
        assert!(
            TaintToleration
                .filter(&CycleState::default(), &p, &n)
                .is_success()
        );
    }

    #[test]
    fn score_counts_untolerated_prefer_no_schedule_taints_and_normalizes_reversed() {
        let n = tainted(json!([
            {"key": "a", "effect": "PreferNoSchedule"},
            {"key": "b", "effect": "PreferNoSchedule"}]));
        let p = pod(
            "p",
            json!({"tolerations": [{"key": "a", "operator": "Exists", "effect": "PreferNoSchedule"},
            {"key": "b", "operator": "Exists", "effect": "NoSchedule"}]}),
        );
        assert_eq!(
            TaintToleration
                .score(&CycleState::default(), &p, &n)
                .unwrap(),
            1
        );
        let mut scores = vec![
            NodeScore {
                name: "x".into(),
                score: 2,
            },
            NodeScore {
                name: "y".into(),
                score: 1,
            },
            NodeScore {
                name: "z".into(),
                score: 0,
            },
        ];
        TaintToleration.normalize(&CycleState::default(), &p, &mut scores);
        assert_eq!(
            scores.iter().map(|s| s.score).collect::<Vec<_>>(),
            vec![0, 50, 100]
        );
        let mut zeros = vec![NodeScore {
            name: "x".into(),
            score: 0,
        }];
        TaintToleration.normalize(&CycleState::default(), &p, &mut zeros);
        assert_eq!(zeros[0].score, 100);
    }
}
