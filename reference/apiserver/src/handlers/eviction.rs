//! POST `pods/{name}/eviction` (upstream `pkg/registry/core/pod/storage/eviction.go`): a
//! delete that honours the PodDisruptionBudget selecting the pod. Terminal, pending and
//! terminating pods go without looking at budgets; otherwise the one matching budget
//! must allow a disruption, which is taken (disruptionsAllowed - 1, the pod recorded
//! in `disruptedPods`) before the pod gets `DisruptionTarget` and is deleted.
//!
//! Entry point: [`evict`].

use axum::response::Response;
use refkube_helpers::labels::LabelSelector;
use refkube_resources::ResourceInfo;
use serde_json::{Value, json};

use super::Ctx;
use super::delete::{DeleteOptions, delete_object};
use super::update::{Target, commit};
use crate::keys;
use crate::status::{ApiError, success};

/// Conflict retries, as upstream's `EvictionsRetry` (20 steps).
const RETRIES: usize = 20;
/// More unconfirmed evictions than this and the budget refuses (`MaxDisruptedPodSize`).
const MAX_DISRUPTED_PODS: usize = 2000;
const TOO_MANY: &str = "Cannot evict pod as it would violate the pod's disruption budget.";

fn pdbs_info() -> Result<&'static ResourceInfo, ApiError> {
    refkube_resources::registry::lookup("policy", "v1", "poddisruptionbudgets")
        .ok_or_else(|| ApiError::internal("poddisruptionbudgets are not served"))
}

/// Upstream's `createTooManyRequestsError` and the zero-budget refusal: 429 with a
/// `DisruptionBudget` cause.
fn too_many_requests(retry_after: i64, cause: String) -> ApiError {
    let mut e = ApiError::new(429, "TooManyRequests", TOO_MANY);
    let mut details = json!({"causes": [{"reason": "DisruptionBudget", "message": cause}]});
    if retry_after > 0 {
        details["retryAfterSeconds"] = json!(retry_after);
    }
    e.details = Some(details);
    e
}

fn still_processing(pdb: &str) -> ApiError {
    too_many_requests(
        10,
        format!("The disruption budget {pdb} is still being processed by the server."),
    )
}

fn pdb_forbidden(name: &str, why: &str) -> ApiError {
    let mut e = ApiError::new(
        403,
        "Forbidden",
        format!("poddisruptionbudget.policy {name:?} is forbidden: {why}"),
    );
    e.details = Some(json!({"name": name, "group": "policy", "kind": "poddisruptionbudget"}));
    e
}

fn phase(pod: &Value) -> &str {
    pod["status"]["phase"].as_str().unwrap_or_default()
}

/// Pods whose eviction disrupts nothing: terminal, not started, or already going.
fn can_ignore_pdb(pod: &Value) -> bool {
    matches!(phase(pod), "Succeeded" | "Failed" | "Pending")
        || !keys::meta_str(pod, "deletionTimestamp").is_empty()
}

/// Terminal pods cannot turn ready again, so no race needs guarding.
fn should_enforce_resource_version(pod: &Value) -> bool {
    !matches!(phase(pod), "Succeeded" | "Failed")
}

fn is_ready(pod: &Value) -> bool {
    pod["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|c| c["type"] == "Ready" && c["status"] == "True")
}

fn conflict(e: &ApiError) -> bool {
    e.code == 409
}

/// The budgets in the pod's namespace whose non-empty selector matches it.
async fn matching_pdbs(ctx: &Ctx, ns: &str, pod: &Value) -> Result<Vec<Value>, ApiError> {
    let info = pdbs_info()?;
    let list = ctx
        .state
        .store
        .list(&keys::prefix(info, Some(ns)), Default::default())
        .await?;
    let labels = keys::labels(pod);
    let mut out = Vec::new();
    for kv in &list.items {
        let pdb = keys::decode_kv(info, kv)?;
        // A nil, empty or invalid selector matches no pod here.
        let sel = pdb.pointer("/spec/selector").filter(|s| !s.is_null());
        if let Some(Ok(Some(s))) = sel.map(LabelSelector::from_object)
            && !s.is_empty()
            && s.matches(&labels)
        {
            out.push(pdb);
        }
    }
    Ok(out)
}

/// Upstream's `UpdateDisruptionAllowedCondition`, for a budget the eviction empties.
pub fn set_disruption_allowed_condition(status: &mut Value, now: &str) {
    let allowed = status["disruptionsAllowed"].as_i64().unwrap_or(0) > 0;
    let (st, reason) = if allowed {
        ("True", "SufficientPods")
    } else {
        ("False", "InsufficientPods")
    };
    let generation = status["observedGeneration"].clone();
    let mut conds: Vec<Value> = status["conditions"].as_array().cloned().unwrap_or_default();
    match conds.iter_mut().find(|c| c["type"] == "DisruptionAllowed") {
        Some(c) => {
            if c["status"] != st {
                c["lastTransitionTime"] = json!(now);
            }
            c["status"] = json!(st);
            c["reason"] = json!(reason);
            c["message"] = json!("");
            c["observedGeneration"] = generation;
        }
        None => conds.push(json!({"type": "DisruptionAllowed", "status": st,
            "observedGeneration": generation, "lastTransitionTime": now,
            "reason": reason, "message": ""})),
    }
    status["conditions"] = json!(conds);
}

/// `checkAndDecrement`: takes one disruption from the budget, or refuses.
async fn check_and_decrement(
    ctx: &Ctx,
    ns: &str,
    pod_name: &str,
    pdb: &Value,
    dry_run: bool,
) -> Result<(), ApiError> {
    let name = keys::meta_str(pdb, "name");
    let status = &pdb["status"];
    let observed = status["observedGeneration"].as_i64().unwrap_or(0);
    if observed < pdb["metadata"]["generation"].as_i64().unwrap_or(0) {
        return Err(still_processing(name));
    }
    let allowed = status["disruptionsAllowed"].as_i64().unwrap_or(0);
    if allowed < 0 {
        return Err(pdb_forbidden(name, "pdb disruptions allowed is negative"));
    }
    let disrupted = status["disruptedPods"].as_object().map_or(0, |m| m.len());
    if disrupted > MAX_DISRUPTED_PODS {
        return Err(pdb_forbidden(
            name,
            "DisruptedPods map too big - too many evictions not confirmed by PDB controller",
        ));
    }
    if allowed == 0 {
        let cause = format!(
            "The disruption budget {name} needs {} healthy pods and has {} currently",
            status["desiredHealthy"].as_i64().unwrap_or(0),
            status["currentHealthy"].as_i64().unwrap_or(0)
        );
        return Err(too_many_requests(0, cause));
    }
    if dry_run {
        return Ok(());
    }
    let now = crate::admission::now_rfc3339();
    let mut new = pdb.clone();
    new["status"]["disruptionsAllowed"] = json!(allowed - 1);
    if allowed - 1 == 0 {
        set_disruption_allowed_condition(&mut new["status"], &now);
    }
    if !new["status"]["disruptedPods"].is_object() {
        new["status"]["disruptedPods"] = json!({});
    }
    new["status"]["disruptedPods"][pod_name] = json!(now);
    let rev: i64 = keys::meta_str(pdb, "resourceVersion").parse().unwrap_or(0);
    let info = pdbs_info()?;
    commit(
        &ctx.state,
        info,
        Some(ns),
        name,
        pdb,
        rev,
        new,
        Target::Status,
        false,
    )
    .await?;
    Ok(())
}

/// Re-reads a budget after a conflict.
async fn reread(ctx: &Ctx, ns: &str, name: &str) -> Result<Value, ApiError> {
    let info = pdbs_info()?;
    match ctx
        .state
        .store
        .get(&keys::key(info, Some(ns), name))
        .await?
    {
        Some(kv) => keys::decode_kv(info, &kv),
        None => Err(ApiError::not_found(info, name)),
    }
}

/// `addConditionAndDeletePod`: marks the pod `DisruptionTarget` (not on a dry run), then
/// deletes it under the options' preconditions.
async fn add_condition_and_delete(
    ctx: &Ctx,
    ns: &str,
    name: &str,
    opts: &DeleteOptions,
) -> Result<(), ApiError> {
    let info = ctx.path.info;
    let mut opts = opts.clone();
    if !opts.dry_run {
        let (pod, rev) = super::read::fetch(ctx, name).await?;
        super::delete::check_resource_version(info, name, &opts, rev)?;
        let mut new = pod.clone();
        let now = crate::admission::now_rfc3339();
        let mut conds: Vec<Value> = pod["status"]["conditions"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let cond = json!({"type": "DisruptionTarget", "status": "True", "lastProbeTime": null,
            "lastTransitionTime": now, "reason": "EvictionByEvictionAPI",
            "message": "Eviction API: evicting"});
        match conds.iter_mut().find(|c| c["type"] == "DisruptionTarget") {
            Some(c) if c["status"] == "True" => {
                c["reason"] = cond["reason"].clone();
                c["message"] = cond["message"].clone();
            }
            Some(c) => *c = cond,
            None => conds.push(cond),
        }
        new["status"]["conditions"] = json!(conds);
        let out = commit(
            &ctx.state,
            info,
            Some(ns),
            name,
            &pod,
            rev,
            new,
            Target::Status,
            false,
        )
        .await?;
        if opts.precondition_rv.is_some() {
            // Our own write moved the version the caller pinned.
            opts.precondition_rv = Some(keys::meta_str(&out, "resourceVersion").to_string());
        }
    }
    delete_object(&ctx.state, info, Some(ns), name, &opts).await?;
    Ok(())
}

/// POST pods/{name}/eviction.
pub async fn evict(ctx: &Ctx, name: &str) -> Result<Response, ApiError> {
    let eviction = ctx.body_value()?;
    if let Some(n) = eviction["metadata"]["name"].as_str()
        && n != name
    {
        return Err(ApiError::bad_request(
            "name in URL does not match name in Eviction object",
        ));
    }
    let ns = ctx.path.namespace.clone().unwrap_or_default();
    // NodeRestriction: a kubelet evicts only pods bound to itself.
    let pods = refkube_resources::registry::lookup("", "v1", "pods")
        .ok_or_else(|| ApiError::internal("pods are not registered"))?;
    let admitted = json!({"metadata": {"name": name, "namespace": ns}});
    crate::authz::admission::admit(
        &ctx.state,
        pods,
        crate::authz::noderestriction::Operation::Create,
        "eviction",
        Some(&admitted),
        None,
    )?;
    let opts = DeleteOptions::from_value(&eviction["deleteOptions"], ctx)?;
    let caller_pinned = opts.precondition_rv.is_some();
    let done = || Ok(ctx.output.render(201, &success(201, None)));

    // Pods a budget does not guard are deleted at once, retrying lost races unless the
    // caller pinned a resourceVersion.
    let mut pod;
    let mut attempt = 0;
    loop {
        let (p, rev) = super::read::fetch(ctx, name).await?;
        pod = p;
        if !can_ignore_pdb(&pod) {
            break;
        }
        let mut o = opts.clone();
        if should_enforce_resource_version(&pod) && !caller_pinned {
            o.precondition_rv = Some(rev.to_string());
        }
        match add_condition_and_delete(ctx, &ns, name, &o).await {
            Ok(()) => return done(),
            Err(e) if conflict(&e) && !caller_pinned && attempt < RETRIES => attempt += 1,
            Err(e) => return Err(e),
        }
    }

    let pdbs = matching_pdbs(ctx, &ns, &pod).await?;
    if pdbs.len() > 1 {
        return Err(ApiError::new(
            500,
            "",
            "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.",
        ));
    }
    let mut guard_rv = false;
    let mut pdb_name = String::new();
    if let Some(first) = pdbs.into_iter().next() {
        pdb_name = keys::meta_str(&first, "name").to_string();
        let status = &first["status"];
        let current = status["currentHealthy"].as_i64().unwrap_or(0);
        let desired = status["desiredHealthy"].as_i64().unwrap_or(0);
        if !is_ready(&pod) {
            let always = first["spec"]["unhealthyPodEvictionPolicy"] == "AlwaysAllow";
            // An unready pod counts for nothing: deleting it disrupts nobody while the
            // budget is met (or the policy says so).
            guard_rv = always || (current >= desired && desired > 0);
        }
        if !guard_rv {
            let mut pdb = first;
            let mut attempt = 0;
            loop {
                match check_and_decrement(ctx, &ns, name, &pdb, opts.dry_run).await {
                    Ok(()) => break,
                    Err(e) if conflict(&e) && attempt < RETRIES => {
                        attempt += 1;
                        pdb = reread(ctx, &ns, &pdb_name).await?;
                    }
                    Err(e) => return Err(e),
                }
            }
        }
    }
    let mut o = opts.clone();
    if guard_rv {
        // The pod must still be the unready one we judged.
        o.precondition_rv = Some(keys::meta_str(&pod, "resourceVersion").to_string());
    }
    match add_condition_and_delete(ctx, &ns, name, &o).await {
        Ok(()) => done(),
        Err(e) if conflict(&e) && guard_rv && !caller_pinned => Err(still_processing(&pdb_name)),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_running_live_pods_consult_budgets() {
        assert!(can_ignore_pdb(&json!({"status": {"phase": "Pending"}})));
        assert!(can_ignore_pdb(&json!({"status": {"phase": "Succeeded"}})));
        assert!(can_ignore_pdb(
            &json!({"metadata": {"deletionTimestamp": "2024-01-01T00:00:00Z"}, "status": {"phase": "Running"}})
        ));
        assert!(!can_ignore_pdb(&json!({"status": {"phase": "Running"}})));
        assert!(!should_enforce_resource_version(
            &json!({"status": {"phase": "Failed"}})
        ));
    }

    #[test]
    fn a_refusal_carries_the_disruption_budget_cause() {
        let s = too_many_requests(0, "why".into()).to_status();
        assert_eq!(s["code"], 429);
        assert_eq!(s["reason"], "TooManyRequests");
        assert_eq!(s["message"], TOO_MANY);
        assert_eq!(
            s["details"]["causes"],
            json!([{"reason": "DisruptionBudget", "message": "why"}])
        );
        assert!(s["details"].get("retryAfterSeconds").is_none());
        assert_eq!(
            still_processing("web").to_status()["details"]["retryAfterSeconds"],
            10
        );
    }

    #[test]
    fn emptying_a_budget_flips_its_condition() {
        let mut st = json!({"disruptionsAllowed": 0, "observedGeneration": 2,
            "conditions": [{"type": "DisruptionAllowed", "status": "True",
                "lastTransitionTime": "old", "reason": "SufficientPods", "message": ""}]});
        set_disruption_allowed_condition(&mut st, "now");
        let c = &st["conditions"][0];
        assert_eq!(c["status"], "False");
        assert_eq!(c["reason"], "InsufficientPods");
        assert_eq!(c["lastTransitionTime"], "now");
        assert_eq!(c["observedGeneration"], 2);
    }
}
