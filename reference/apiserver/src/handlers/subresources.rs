//! Subresources other than status: `scale` (autoscaling/v1 Scale for deployments,
//! replicasets, statefulsets and replicationcontrollers), `pods/binding` and
//! `pods/eviction`.
//!
//! Entry points: [`scale_get`], [`scale_put`], [`scale_patch`], [`bind`], [`evict`].

use axum::response::Response;
use refkube_resources::ResourceInfo;
use refkube_resources::patch::apply_patch;
use refkube_resources::types::go;
use serde_json::{Value, json};

use super::Ctx;
use super::read::fetch;
use super::update::{Target, commit, patch_error, patch_kind};
use crate::keys;
use crate::status::{ApiError, success};

/// Renders a label selector object (`matchLabels` + `matchExpressions`) or an RC's
/// plain map as the string `Scale.status.selector` carries.
pub fn selector_string(sel: &Value) -> String {
    let mut parts = Vec::new();
    let labels = sel.get("matchLabels").unwrap_or(sel);
    if let Some(m) = labels.as_object() {
        for (k, v) in m {
            if let Some(v) = v.as_str() {
                parts.push(format!("{k}={v}"));
            }
        }
    }
    for e in sel["matchExpressions"].as_array().into_iter().flatten() {
        let key = e["key"].as_str().unwrap_or_default();
        let vals: Vec<&str> = e["values"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        match e["operator"].as_str().unwrap_or_default() {
            "In" => parts.push(format!("{key} in ({})", vals.join(","))),
            "NotIn" => parts.push(format!("{key} notin ({})", vals.join(","))),
            "Exists" => parts.push(key.to_string()),
            "DoesNotExist" => parts.push(format!("!{key}")),
            _ => {}
        }
    }
    parts.sort();
    parts.join(",")
}

/// The Scale view of a scalable object, in Go's form.
fn to_scale(obj: &Value) -> Value {
    let meta = &obj["metadata"];
    let mut scale = json!({
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            "name": meta["name"], "namespace": meta["namespace"], "uid": meta["uid"],
            "resourceVersion": meta["resourceVersion"], "creationTimestamp": meta["creationTimestamp"],
        },
        "spec": {"replicas": obj["spec"]["replicas"].as_i64().unwrap_or(1)},
        "status": {
            "replicas": obj["status"]["replicas"].as_i64().unwrap_or(0),
            "selector": selector_string(&obj["spec"]["selector"]),
        },
    });
    go::normalize_as("autoscaling/v1.Scale", &mut scale);
    scale
}

/// A custom kind's scale subresource, at the paths its CRD names.
fn custom_scale(info: &ResourceInfo) -> Option<&'static refkube_resources::crd::ScaleSpec> {
    info.custom.and_then(|c| c.scale.as_ref())
}

fn scale_error(e: refkube_resources::crd::ScaleError) -> ApiError {
    match e {
        refkube_resources::crd::ScaleError::Internal(m) => ApiError::internal(m),
        refkube_resources::crd::ScaleError::BadRequest(m) => ApiError::bad_request(m),
    }
}

/// The Scale a GET answers (custom kinds: at their CRD's paths).
fn read_scale(info: &ResourceInfo, obj: &Value) -> Result<Value, ApiError> {
    match custom_scale(info) {
        Some(spec) => refkube_resources::crd::read_scale(obj, spec).map_err(scale_error),
        None => Ok(to_scale(obj)),
    }
}

pub async fn scale_get(ctx: &Ctx, name: &str) -> Result<Response, ApiError> {
    let (obj, _) = fetch(ctx, name).await?;
    Ok(ctx.output.render(200, &read_scale(ctx.path.info, &obj)?))
}

/// Writes `scale.spec.replicas` into the parent, honouring a resourceVersion precondition.
async fn write_scale(
    ctx: &Ctx,
    name: &str,
    scale: &Value,
    old: Value,
    rev: i64,
) -> Result<Response, ApiError> {
    let info = ctx.path.info;
    let rv = keys::meta_str(scale, "resourceVersion");
    if !rv.is_empty() && rv != rev.to_string() {
        return Err(ApiError::conflict_modified(info, name));
    }
    let replicas = scale["spec"]["replicas"].as_i64().unwrap_or(0);
    if replicas < 0 {
        return Err(ApiError::new(
            422,
            "Invalid",
            format!(
                "Scale.autoscaling \"{name}\" is invalid: spec.replicas: Invalid value: {replicas}: must be greater than or equal to 0"
            ),
        ));
    }
    let mut new = old.clone();
    match custom_scale(info) {
        Some(spec) => {
            refkube_resources::crd::write_scale(&mut new, spec, replicas).map_err(scale_error)?
        }
        None => new["spec"]["replicas"] = json!(replicas),
    }
    super::update::record_managed_fields(ctx, Some(&old), &mut new, "scale");
    let ns = ctx.path.namespace.as_deref();
    let out = commit(
        &ctx.state,
        info,
        ns,
        name,
        &old,
        rev,
        new,
        Target::Main,
        ctx.dry_run(),
    )
    .await?;
    Ok(ctx.output.render(200, &read_scale(info, &out)?))
}

pub async fn scale_put(ctx: &Ctx, name: &str) -> Result<Response, ApiError> {
    let scale = ctx.body_value()?;
    let (old, rev) = fetch(ctx, name).await?;
    write_scale(ctx, name, &scale, old, rev).await
}

pub async fn scale_patch(ctx: &Ctx, name: &str) -> Result<Response, ApiError> {
    let kind = patch_kind(ctx)?;
    let (old, rev) = fetch(ctx, name).await?;
    // The Scale has no lists, so every patch type reads the same on it.
    let current = match custom_scale(ctx.path.info) {
        Some(spec) => refkube_resources::crd::scale_for_update(&old, spec).map_err(scale_error)?,
        None => to_scale(&old),
    };
    let scale = apply_patch(ctx.path.info, kind, &current, &ctx.body).map_err(patch_error)?;
    write_scale(ctx, name, &scale, old, rev).await
}

/// POST pods/{name}/binding: sets spec.nodeName and PodScheduled=True.
pub async fn bind(ctx: &Ctx, name: &str) -> Result<Response, ApiError> {
    let info = ctx.path.info;
    let binding = ctx.body_value()?;
    let target = binding["target"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    if target.is_empty() {
        return Err(ApiError::new(
            422,
            "Invalid",
            format!("Binding \"{name}\" is invalid: target.name: Required value"),
        ));
    }
    let ns = ctx.path.namespace.as_deref();
    for _ in 0..10 {
        let (old, rev) = fetch(ctx, name).await?;
        let current = old["spec"]["nodeName"].as_str().unwrap_or_default();
        if !keys::meta_str(&old, "deletionTimestamp").is_empty() {
            return Err(ApiError::conflict(
                "pods/binding",
                info,
                name,
                &format!("pod {name} is being deleted, cannot be assigned to a host"),
            ));
        }
        if !current.is_empty() {
            return Err(ApiError::conflict(
                "pods/binding",
                info,
                name,
                &format!("pod {name} is already assigned to node {current:?}"),
            ));
        }
        let mut new = old.clone();
        new["spec"]["nodeName"] = json!(target);
        if let Some(ann) = binding["metadata"]["annotations"].as_object() {
            for (k, v) in ann {
                new["metadata"]["annotations"][k] = v.clone();
            }
        }
        let mut conds: Vec<Value> = new["status"]["conditions"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        conds.retain(|c| c["type"] != "PodScheduled");
        conds.push(
            json!({"type": "PodScheduled", "status": "True", "lastProbeTime": null,
            "lastTransitionTime": crate::admission::now_rfc3339()}),
        );
        new["status"]["conditions"] = json!(conds);
        go::normalize(info, &mut new);
        // Binding writes spec and status together, bypassing the main-resource rule.
        let key = keys::key(info, ns, name);
        match ctx
            .state
            .store
            .update(&key, rev, keys::encode(info, &new)?)
            .await
        {
            Ok(_) => return Ok(ctx.output.render(201, &success(201, None))),
            Err(refkube_store::StoreError::Conflict { .. }) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::conflict_modified(info, name))
}

/// POST pods/{name}/eviction: a delete that honours PodDisruptionBudgets (see
/// [`super::eviction`]).
pub async fn evict(ctx: &Ctx, name: &str) -> Result<Response, ApiError> {
    super::eviction::evict(ctx, name).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selectors_render_like_metav1_formatlabelselector() {
        let s = json!({"matchLabels": {"app": "web"}, "matchExpressions": [{"key": "tier", "operator": "In", "values": ["a", "b"]}]});
        assert_eq!(selector_string(&s), "app=web,tier in (a,b)");
        assert_eq!(selector_string(&json!({"app": "rc"})), "app=rc");
    }
}
