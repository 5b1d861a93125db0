//! CustomResourceDefinitions in the API server: the kinds they define, served beside
//! the built-in ones, and the controllers upstream's apiextensions-apiserver runs
//! (naming and establishing, and the cleanup of a deleted CRD's objects).
//!
//! Entry points: [`CustomKinds`] (held in [`crate::state::AppState`]), [`controller::spawn`],
//! [`mark_terminating`] (the first DELETE of a CRD).

pub mod controller;

use std::sync::{Arc, RwLock};

use refkube_resources::ResourceInfo;
use serde_json::{Value, json};

/// The finalizer every deleted CRD carries until its objects are gone.
pub const CLEANUP_FINALIZER: &str = "customresourcecleanup.apiextensions.k8s.io";

pub fn is_crd(info: &ResourceInfo) -> bool {
    info.group == "apiextensions.k8s.io" && info.plural == "customresourcedefinitions"
}

/// The CRD registry entry (built in).
pub fn crd_info() -> Option<&'static ResourceInfo> {
    refkube_resources::registry::lookup("apiextensions.k8s.io", "v1", "customresourcedefinitions")
}

/// The kinds the Established CRDs define, as this API server currently serves them.
#[derive(Default)]
pub struct CustomKinds {
    served: RwLock<Arc<Served>>,
}

/// One consistent view: the kinds and the discovery documents built from them.
#[derive(Default)]
pub struct Served {
    /// Every kind requests are routed to (its CRD's names are accepted).
    pub routed: Vec<&'static ResourceInfo>,
    /// The kinds of Established CRDs: what discovery and OpenAPI list.
    pub kinds: Vec<&'static ResourceInfo>,
    /// The aggregated discovery documents of built-in plus these kinds (`[apis, api]`).
    pub aggregated: Option<Arc<[crate::discovery::Aggregated; 2]>>,
}

impl std::fmt::Debug for CustomKinds {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CustomKinds")
            .field("routed", &self.current().routed.len())
            .finish()
    }
}

impl CustomKinds {
    pub fn current(&self) -> Arc<Served> {
        self.served
            .read()
            .map(|s| s.clone())
            .unwrap_or_else(|p| p.into_inner().clone())
    }

    /// The custom kind served at `/apis/{group}/{version}/{plural}`.
    pub fn lookup(
        &self,
        group: &str,
        version: &str,
        plural: &str,
    ) -> Option<&'static ResourceInfo> {
        self.current()
            .routed
            .iter()
            .find(|r| r.group == group && r.version == version && r.plural == plural)
            .copied()
    }

    /// Routes requests to `routed` and lists `kinds` in discovery from now on (unchanged
    /// sets keep their documents).
    pub fn replace(&self, routed: Vec<&'static ResourceInfo>, kinds: Vec<&'static ResourceInfo>) {
        let current = self.current();
        if current.routed == routed && current.kinds == kinds {
            return;
        }
        let aggregated = (!kinds.is_empty()).then(|| {
            Arc::new([false, true].map(|core| crate::discovery::Aggregated::build(core, &kinds)))
        });
        let next = Arc::new(Served {
            routed,
            kinds,
            aggregated,
        });
        match self.served.write() {
            Ok(mut s) => *s = next,
            Err(p) => *p.into_inner() = next,
        }
    }
}

/// Whether the CRD's `Established` condition is True.
pub fn established(crd: &Value) -> bool {
    condition_true(crd, "Established")
}

pub(crate) fn condition_true(crd: &Value, kind: &str) -> bool {
    crd["status"]["conditions"].as_array().is_some_and(|cs| {
        cs.iter()
            .any(|c| c["type"] == kind && c["status"] == "True")
    })
}

/// Sets (or replaces) one status condition, keeping the transition time when the status
/// did not change, as upstream's `SetCRDCondition` does.
pub fn set_condition(crd: &mut Value, kind: &str, status: &str, reason: &str, message: &str) {
    let now = crate::admission::now_rfc3339();
    if !crd["status"].is_object() {
        crd["status"] = json!({});
    }
    let conds = &mut crd["status"]["conditions"];
    if !conds.is_array() {
        *conds = json!([]);
    }
    let Some(list) = conds.as_array_mut() else {
        return;
    };
    let new = json!({
        "type": kind, "status": status, "lastTransitionTime": now,
        "reason": reason, "message": message,
    });
    match list.iter_mut().find(|c| c["type"] == kind) {
        Some(c) => {
            let time = if c["status"] == status {
                c["lastTransitionTime"].clone()
            } else {
                json!(now)
            };
            *c = new;
            c["lastTransitionTime"] = time;
        }
        None => list.push(new),
    }
}

/// Upstream's first DELETE of a CRD: the cleanup finalizer and the Terminating
/// condition go on with the deletionTimestamp, so the objects are removed before it.
pub fn mark_terminating(crd: &mut Value) {
    let m = &mut crd["metadata"];
    let has = m["finalizers"]
        .as_array()
        .is_some_and(|f| f.iter().any(|x| x == CLEANUP_FINALIZER));
    if !has {
        match m["finalizers"].as_array_mut() {
            Some(f) => f.push(json!(CLEANUP_FINALIZER)),
            None => m["finalizers"] = json!([CLEANUP_FINALIZER]),
        }
    }
    set_condition(
        crd,
        "Terminating",
        "True",
        "InstanceDeletionPending",
        "CustomResourceDefinition marked for deletion; CustomResource deletion will begin soon",
    );
}

/// Upstream refuses new objects of a kind whose CRD is being deleted (405).
pub fn check_not_terminating(
    state: &crate::state::AppState,
    info: &ResourceInfo,
) -> Result<(), crate::status::ApiError> {
    let Some(custom) = info.custom else {
        return Ok(());
    };
    let Some(cache) = crd_info().and_then(|i| state.caches.get(i)) else {
        return Ok(());
    };
    let (crds, _) = cache.snapshot(None);
    let terminating = crds.iter().any(|c| {
        c.name() == custom.crd_name
            && c.value()
                .is_ok_and(|crd| condition_true(&crd, "Terminating"))
    });
    if terminating {
        return Err(crate::status::ApiError {
            code: 405,
            reason: "MethodNotAllowed",
            message: "create not allowed while custom resource definition is terminating".into(),
            details: Some(json!({"group": info.group, "kind": info.plural})),
        });
    }
    Ok(())
}
