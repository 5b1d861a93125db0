//! Taints and tolerations: `Toleration.ToleratesTaint` from `k8s.io/api/core/v1` and
//! `TolerationsTolerateTaint` / `FindMatchingUntoleratedTaint` from component-helpers.

use k8s_openapi::api::core::v1::{Node, Pod, Taint, Toleration};

/// `Toleration.ToleratesTaint`: the effect must match unless the toleration's is empty,
/// the key must match unless the toleration's is empty, then the operator decides:
/// `Equal` (or empty) compares values, `Exists` matches any value, `Lt` / `Gt` compare
/// the values as 64-bit integers (anything that does not parse matches nothing).
pub fn tolerates(toleration: &Toleration, taint: &Taint) -> bool {
    let effect = toleration.effect.as_deref().unwrap_or("");
    if !effect.is_empty() && effect != taint.effect {
        return false;
    }
    let key = toleration.key.as_deref().unwrap_or("");
    if !key.is_empty() && key != taint.key {
        return false;
    }
    let wanted = toleration.value.as_deref().unwrap_or("");
    let actual = taint.value.as_deref().unwrap_or("");
    match toleration.operator.as_deref().unwrap_or("") {
        "" | "Equal" => wanted == actual,
        "Exists" => true,
        op @ ("Lt" | "Gt") => {
            let (Ok(bound), Ok(value)) = (wanted.parse::<i64>(), actual.parse::<i64>()) else {
                return false;
            };
            if op == "Lt" {
                value < bound
            } else {
                value > bound
            }
        }
        _ => false,
    }
}

/// `TolerationsTolerateTaint`: some toleration tolerates the taint.
pub fn tolerations_tolerate(tolerations: &[Toleration], taint: &Taint) -> bool {
    tolerations.iter().any(|t| tolerates(t, taint))
}

/// `FindMatchingUntoleratedTaint`: the first taint passing `filter` that no toleration
/// tolerates.
pub fn find_untolerated<'a>(
    taints: &'a [Taint],
    tolerations: &[Toleration],
    filter: impl Fn(&Taint) -> bool,
) -> Option<&'a Taint> {
    taints
        .iter()
        .filter(|t| filter(t))
        .find(|t| !tolerations_tolerate(tolerations, t))
}

/// The pod's tolerations (empty if none).
pub fn pod_tolerations(pod: &Pod) -> &[Toleration] {
    pod.spec
        .as_ref()
        .and_then(|s| s.tolerations.as_deref())
        .unwrap_or(&[])
}

/// The node's taints (empty if none).
pub fn node_taints(node: &Node) -> &[Taint] {
    node.spec
        .as_ref()
        .and_then(|s| s.taints.as_deref())
        .unwrap_or(&[])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toleration(key: &str, op: &str, value: &str, effect: &str) -> Toleration {
        Toleration {
            key: Some(key.into()),
            operator: Some(op.into()),
            value: Some(value.into()),
            effect: Some(effect.into()),
            ..Toleration::default()
        }
    }

    fn taint(key: &str, value: &str, effect: &str) -> Taint {
        Taint {
            key: key.into(),
            value: Some(value.into()),
            effect: effect.into(),
            ..Taint::default()
        }
    }

    /// `TestTolerationToleratesTaint` from `k8s.io/api/core/v1/toleration_test.go`.
    #[test]
    fn upstream_table() {
        let sla = "node.kubernetes.io/sla";
        let cases = [
            (
                toleration("foo", "Exists", "", "NoSchedule"),
                taint("foo", "", "NoSchedule"),
                true,
            ),
            (
                toleration("foo", "Exists", "", "NoSchedule"),
                taint("foo", "bar", "NoSchedule"),
                true,
            ),
            (
                toleration("", "Exists", "", "NoSchedule"),
                taint("foo", "bar", "NoSchedule"),
                true,
            ),
            (
                toleration("foo", "Equal", "bar", "NoSchedule"),
                taint("foo", "bar", "NoSchedule"),
                true,
            ),
            (
                toleration("foo", "Equal", "value1", "NoSchedule"),
                taint("foo", "value2", "NoSchedule"),
                false,
            ),
            (
                toleration("foo", "Equal", "bar", "NoSchedule"),
                taint("foo", "bar", "NoExecute"),
                false,
            ),
            (
                toleration(sla, "Gt", "950", "NoSchedule"),
                taint(sla, "800", "NoSchedule"),
                false,
            ),
            (
                toleration(sla, "Gt", "750", "NoSchedule"),
                taint(sla, "950", "NoSchedule"),
                true,
            ),
            (
                toleration(sla, "Lt", "800", "NoSchedule"),
                taint(sla, "950", "NoSchedule"),
                false,
            ),
            (
                toleration(sla, "Lt", "950", "NoSchedule"),
                taint(sla, "800", "NoSchedule"),
                true,
            ),
            (
                toleration(sla, "Gt", "950", "NoSchedule"),
                taint(sla, "950", "NoSchedule"),
                false,
            ),
            (
                toleration(sla, "Gt", "950", "NoSchedule"),
                taint(sla, "high", "NoSchedule"),
                false,
            ),
            (
                toleration("test-key", "Gt", "-100", "NoSchedule"),
                taint("test-key", "-200", "NoSchedule"),
                false,
            ),
            (
                toleration("test-key", "Gt", "9223372036854775806", "NoSchedule"),
                taint("test-key", "100", "NoSchedule"),
                false,
            ),
        ];
        for (i, (tol, taint, want)) in cases.iter().enumerate() {
            assert_eq!(
                tolerates(tol, taint),
                *want,
                "case {i}: {tol:?} vs {taint:?}"
            );
        }
    }

    #[test]
    fn empty_operator_means_equal_and_an_empty_key_is_not_checked() {
        let t = taint("k", "v", "NoExecute");
        assert!(tolerates(&toleration("k", "", "v", ""), &t));
        // The function does not enforce validation's "empty key needs Exists" rule.
        assert!(tolerates(&toleration("", "Equal", "v", ""), &t));
        assert!(!tolerates(&toleration("", "Equal", "w", ""), &t));
        assert!(!tolerates(&toleration("k", "Weird", "v", ""), &t));
        let bare = Toleration::default();
        assert!(tolerates(&bare, &taint("k", "", "NoSchedule")));
        assert!(!tolerates(&bare, &t));
    }

    #[test]
    fn the_first_untolerated_taint_passing_the_filter_is_found() {
        let taints = [
            taint("a", "", "NoSchedule"),
            taint("b", "", "NoExecute"),
            taint("c", "", "NoSchedule"),
        ];
        let tolerations = [toleration("a", "Exists", "", "")];
        let no_schedule = |t: &Taint| t.effect == "NoSchedule";
        assert_eq!(
            find_untolerated(&taints, &tolerations, no_schedule).map(|t| t.key.as_str()),
            Some("c")
        );
        assert!(find_untolerated(&taints[..2], &tolerations, no_schedule).is_none());
    }
}
