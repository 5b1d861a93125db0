//! The PodDisruptionBudget printer (upstream `printPodDisruptionBudget`): NAME, MIN
//! AVAILABLE, MAX UNAVAILABLE, ALLOWED DISRUPTIONS, AGE.

use super::{Column, Ctx, Printer, Row, age_col, col, int_at, name, name_col};
use serde_json::{Value, json};

/// The columns and row printer of pod disruption budgets.
pub(crate) fn pod_disruption_budgets() -> (Vec<Column>, Printer) {
    (
        vec![
            name_col(),
            col(
                "Min Available",
                "string",
                0,
                "The minimum number of pods that must be available.",
            ),
            col(
                "Max Unavailable",
                "string",
                0,
                "The maximum number of pods that may be unavailable.",
            ),
            col(
                "Allowed Disruptions",
                "integer",
                0,
                "Calculated number of pods that may be disrupted at this time.",
            ),
            age_col(),
        ],
        print_pdb,
    )
}

/// An IntOrString as its `String()` prints it; `N/A` when unset.
fn int_or_string(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => "N/A".to_string(),
    }
}

fn print_pdb(pdb: &Value, ctx: &Ctx) -> Row {
    vec![
        json!(name(pdb)),
        json!(int_or_string(pdb.pointer("/spec/minAvailable"))),
        json!(int_or_string(pdb.pointer("/spec/maxUnavailable"))),
        json!(int_at(pdb, "/status/disruptionsAllowed")),
        json!(ctx.age(pdb)),
    ]
    .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budgets_print_as_upstream() {
        let (cols, print) = pod_disruption_budgets();
        let names: Vec<&str> = cols.iter().map(|c| c.name).collect();
        assert_eq!(
            names,
            [
                "Name",
                "Min Available",
                "Max Unavailable",
                "Allowed Disruptions",
                "Age"
            ]
        );
        let now = super::super::parse_time("2024-01-01T00:00:30Z").unwrap();
        let pdb = json!({"metadata": {"name": "web", "creationTimestamp": "2024-01-01T00:00:00Z"},
            "spec": {"minAvailable": "50%"}, "status": {"disruptionsAllowed": 1}});
        let row = print(&pdb, &Ctx { now });
        assert_eq!(
            row.cells,
            [
                json!("web"),
                json!("50%"),
                json!("N/A"),
                json!(1),
                json!("30s")
            ]
        );
    }
}
