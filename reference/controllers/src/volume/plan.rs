//! The PersistentVolume binder's decisions (`pkg/controller/volume/persistentvolume`):
//! the smallest Available volume that satisfies a claim, the bound forms of both objects,
//! and each volume's phase. Entry points: [`find_match`], [`bound_pair`], [`volume_phase`].

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::api::core::v1::{ObjectReference, PersistentVolume, PersistentVolumeClaim};
use kube::ResourceExt;

use crate::util::selector::{from_label_selector, matches};
use refkube_helpers::quantity::{Format, Quantity};

/// Claim annotation: binding finished.
pub const BIND_COMPLETED: &str = "pv.kubernetes.io/bind-completed";
/// Annotation on both sides: the controller (not the user) made the binding.
pub const BOUND_BY_CONTROLLER: &str = "pv.kubernetes.io/bound-by-controller";
/// Legacy class annotation.
const BETA_CLASS: &str = "volume.beta.kubernetes.io/storage-class";
/// Event message for a claim nothing can satisfy and no class could provision.
pub const NO_VOLUME_NO_CLASS: &str =
    "no persistent volumes available for this claim and no storage class is set";

/// The claim's class (`GetPersistentVolumeClaimClass`), `""` if none.
pub fn claim_class(c: &PersistentVolumeClaim) -> String {
    c.metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(BETA_CLASS))
        .cloned()
        .or_else(|| c.spec.as_ref().and_then(|s| s.storage_class_name.clone()))
        .unwrap_or_default()
}

/// The volume's class, `""` if none.
pub fn volume_class(v: &PersistentVolume) -> String {
    v.metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(BETA_CLASS))
        .cloned()
        .or_else(|| v.spec.as_ref().and_then(|s| s.storage_class_name.clone()))
        .unwrap_or_default()
}

fn storage_request(c: &PersistentVolumeClaim) -> Quantity {
    c.spec
        .as_ref()
        .and_then(|s| s.resources.as_ref())
        .and_then(|r| r.requests.as_ref())
        .and_then(|r| r.get("storage"))
        .and_then(|q| Quantity::from_api(q).ok())
        .unwrap_or(Quantity::zero(Format::DecimalSI))
}

fn capacity(v: &PersistentVolume) -> Option<Quantity> {
    v.spec
        .as_ref()?
        .capacity
        .as_ref()?
        .get("storage")
        .and_then(|q| Quantity::from_api(q).ok())
}

/// Is the volume's claimRef this claim (by namespace/name, and UID when set)?
pub fn bound_to(v: &PersistentVolume, c: &PersistentVolumeClaim) -> bool {
    let Some(r) = v.spec.as_ref().and_then(|s| s.claim_ref.as_ref()) else {
        return false;
    };
    r.name.as_deref() == c.metadata.name.as_deref()
        && r.namespace.as_deref() == c.metadata.namespace.as_deref()
        && r.uid
            .as_deref()
            .is_none_or(|u| u.is_empty() || Some(u) == c.metadata.uid.as_deref())
}

fn satisfies(v: &PersistentVolume, c: &PersistentVolumeClaim) -> bool {
    let (Some(vs), Some(cs)) = (v.spec.as_ref(), c.spec.as_ref()) else {
        return false;
    };
    if volume_class(v) != claim_class(c) {
        return false;
    }
    if vs.volume_mode.as_deref().unwrap_or("Filesystem")
        != cs.volume_mode.as_deref().unwrap_or("Filesystem")
    {
        return false;
    }
    let have = vs.access_modes.clone().unwrap_or_default();
    if !cs.access_modes.iter().flatten().all(|m| have.contains(m)) {
        return false;
    }
    if capacity(v).is_none_or(|cap| cap < storage_request(c)) {
        return false;
    }
    match from_label_selector(cs.selector.as_ref()) {
        Ok(Some(sel)) => matches(Some(&sel), v.metadata.labels.as_ref()),
        Ok(None) => true,
        Err(_) => false,
    }
}

/// `findMatchingVolume`: a volume pre-bound to this claim if it fits, else the smallest
/// unclaimed, non-deleting volume that satisfies it.
pub fn find_match(
    c: &PersistentVolumeClaim,
    volumes: &[Arc<PersistentVolume>],
) -> Option<Arc<PersistentVolume>> {
    if let Some(v) = volumes.iter().find(|v| bound_to(v, c) && satisfies(v, c)) {
        return Some(v.clone());
    }
    volumes
        .iter()
        .filter(|v| {
            v.spec.as_ref().and_then(|s| s.claim_ref.as_ref()).is_none()
                && v.metadata.deletion_timestamp.is_none()
        })
        .filter(|v| satisfies(v, c))
        .min_by_key(|v| {
            let cap = capacity(v);
            // Volumes without a readable capacity sort last.
            (cap.is_none(), cap, v.name_any())
        })
        .cloned()
}

/// The volume and claim as they look once bound to each other (`bindVolumeToClaim`,
/// `bindClaimToVolume`); statuses are set separately (`Bound` on both sides).
pub fn bound_pair(
    v: &PersistentVolume,
    c: &PersistentVolumeClaim,
) -> (PersistentVolume, PersistentVolumeClaim) {
    let mut volume = v.clone();
    let user_bound_volume = v.spec.as_ref().and_then(|s| s.claim_ref.as_ref()).is_some();
    let spec = volume.spec.get_or_insert_with(Default::default);
    spec.claim_ref = Some(ObjectReference {
        api_version: Some("v1".into()),
        kind: Some("PersistentVolumeClaim".into()),
        namespace: c.metadata.namespace.clone(),
        name: c.metadata.name.clone(),
        uid: c.metadata.uid.clone(),
        resource_version: c.metadata.resource_version.clone(),
        field_path: None,
    });
    if !user_bound_volume {
        volume
            .metadata
            .annotations
            .get_or_insert_with(BTreeMap::new)
            .insert(BOUND_BY_CONTROLLER.into(), "yes".into());
    }
    let mut claim = c.clone();
    let user_bound_claim = c
        .spec
        .as_ref()
        .and_then(|s| s.volume_name.as_deref())
        .is_some_and(|n| !n.is_empty());
    claim.spec.get_or_insert_with(Default::default).volume_name = v.metadata.name.clone();
    let ann = claim.metadata.annotations.get_or_insert_with(BTreeMap::new);
    ann.insert(BIND_COMPLETED.into(), "yes".into());
    if !user_bound_claim {
        ann.insert(BOUND_BY_CONTROLLER.into(), "yes".into());
    }
    (volume, claim)
}

/// What should happen to a volume.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VolumePhase {
    /// Set this phase (if different).
    Set(&'static str),
    /// Reclaim policy Delete and its claim is gone: delete the volume object.
    Delete,
}

/// `syncVolume`: the phase a volume should have given the claim it references.
pub fn volume_phase(v: &PersistentVolume, claim: Option<&PersistentVolumeClaim>) -> VolumePhase {
    let Some(r) = v.spec.as_ref().and_then(|s| s.claim_ref.as_ref()) else {
        return VolumePhase::Set("Available");
    };
    let uid = r.uid.as_deref().unwrap_or_default();
    match claim {
        // Pre-bound by a user to a claim that does not exist yet: still available to it.
        None if uid.is_empty() => VolumePhase::Set("Available"),
        Some(c) if uid.is_empty() || c.metadata.uid.as_deref() == Some(uid) => {
            if c.spec.as_ref().and_then(|s| s.volume_name.as_deref()) == v.metadata.name.as_deref()
            {
                VolumePhase::Set("Bound")
            } else {
                VolumePhase::Set(current_phase(v).unwrap_or("Available"))
            }
        }
        // The claim was deleted (or replaced): release or delete per reclaim policy.
        _ => match v
            .spec
            .as_ref()
            .and_then(|s| s.persistent_volume_reclaim_policy.as_deref())
            .unwrap_or("Retain")
        {
            "Delete" => VolumePhase::Delete,
            _ => VolumePhase::Set("Released"),
        },
    }
}

fn current_phase(v: &PersistentVolume) -> Option<&'static str> {
    match v.status.as_ref()?.phase.as_deref()? {
        "Pending" => Some("Pending"),
        "Available" => Some("Available"),
        "Bound" => Some("Bound"),
        "Released" => Some("Released"),
        "Failed" => Some("Failed"),
        _ => None,
    }
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
