//! Tests of the PV binder decisions.

use std::sync::Arc;

use k8s_openapi::api::core::v1::{
    ObjectReference, PersistentVolume, PersistentVolumeClaim, PersistentVolumeClaimSpec,
    PersistentVolumeSpec, VolumeResourceRequirements,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::*;

fn pv(name: &str, size: &str, modes: &[&str], class: &str) -> Arc<PersistentVolume> {
    Arc::new(PersistentVolume {
        metadata: ObjectMeta {
            name: Some(name.into()),
            ..Default::default()
        },
        spec: Some(PersistentVolumeSpec {
            capacity: Some([("storage".to_string(), Quantity(size.into()))].into()),
            access_modes: Some(modes.iter().map(|m| (*m).to_string()).collect()),
            storage_class_name: Some(class.into()),
            ..Default::default()
        }),
        status: None,
    })
}

fn pvc(size: &str, modes: &[&str], class: &str) -> PersistentVolumeClaim {
    PersistentVolumeClaim {
        metadata: ObjectMeta {
            name: Some("data".into()),
            namespace: Some("default".into()),
            uid: Some("pvc-uid".into()),
            ..Default::default()
        },
        spec: Some(PersistentVolumeClaimSpec {
            access_modes: Some(modes.iter().map(|m| (*m).to_string()).collect()),
            storage_class_name: Some(class.into()),
            resources: Some(VolumeResourceRequirements {
                requests: Some([("storage".to_string(), Quantity(size.into()))].into()),
                ..Default::default()
            }),
            ..Default::default()
        }),
        status: None,
    }
}

#[test]
fn the_smallest_volume_that_fits_is_chosen() {
    let vols = vec![
        pv("big", "10Gi", &["ReadWriteOnce"], ""),
        pv("small", "1Gi", &["ReadWriteOnce"], ""),
        pv("tiny", "500Mi", &["ReadWriteOnce"], ""),
    ];
    assert_eq!(
        find_match(&pvc("1Gi", &["ReadWriteOnce"], ""), &vols)
            .unwrap()
            .name_any(),
        "small"
    );
}

#[test]
fn access_modes_and_storage_class_must_match() {
    let vols = vec![
        pv("rwo", "5Gi", &["ReadWriteOnce"], ""),
        pv("fast", "5Gi", &["ReadWriteMany"], "fast"),
    ];
    assert!(find_match(&pvc("1Gi", &["ReadWriteMany"], ""), &vols).is_none());
    assert_eq!(
        find_match(&pvc("1Gi", &["ReadWriteMany"], "fast"), &vols)
            .unwrap()
            .name_any(),
        "fast"
    );
}

#[test]
fn claimed_volumes_are_skipped_unless_pre_bound_to_this_claim() {
    let mut taken = (*pv("taken", "1Gi", &["ReadWriteOnce"], "")).clone();
    taken.spec.as_mut().unwrap().claim_ref = Some(ObjectReference {
        name: Some("other".into()),
        namespace: Some("default".into()),
        ..Default::default()
    });
    assert!(
        find_match(
            &pvc("1Gi", &["ReadWriteOnce"], ""),
            &[Arc::new(taken.clone())]
        )
        .is_none()
    );
    taken.spec.as_mut().unwrap().claim_ref = Some(ObjectReference {
        name: Some("data".into()),
        namespace: Some("default".into()),
        ..Default::default()
    });
    let big = pv("smaller", "1Gi", &["ReadWriteOnce"], "");
    assert_eq!(
        find_match(&pvc("1Gi", &["ReadWriteOnce"], ""), &[big, Arc::new(taken)])
            .unwrap()
            .name_any(),
        "taken"
    );
}

#[test]
fn binding_sets_claim_ref_volume_name_and_annotations() {
    let (v, c) = bound_pair(
        &pv("small", "1Gi", &["ReadWriteOnce"], ""),
        &pvc("1Gi", &["ReadWriteOnce"], ""),
    );
    let r = v.spec.unwrap().claim_ref.unwrap();
    assert_eq!(
        (r.kind.as_deref(), r.name.as_deref(), r.uid.as_deref()),
        (Some("PersistentVolumeClaim"), Some("data"), Some("pvc-uid"))
    );
    assert_eq!(
        v.metadata
            .annotations
            .unwrap()
            .get(BOUND_BY_CONTROLLER)
            .map(String::as_str),
        Some("yes")
    );
    assert_eq!(c.spec.unwrap().volume_name.as_deref(), Some("small"));
    let ann = c.metadata.annotations.unwrap();
    assert_eq!(
        (
            ann.get(BIND_COMPLETED).map(String::as_str),
            ann.get(BOUND_BY_CONTROLLER).map(String::as_str)
        ),
        (Some("yes"), Some("yes"))
    );
}

#[test]
fn a_volume_whose_claim_is_gone_is_released_or_deleted_by_policy() {
    let claim = pvc("1Gi", &["ReadWriteOnce"], "");
    let (bound, bound_claim) = bound_pair(&pv("v", "1Gi", &["ReadWriteOnce"], ""), &claim);
    assert_eq!(
        volume_phase(&bound, Some(&bound_claim)),
        VolumePhase::Set("Bound")
    );
    assert_eq!(volume_phase(&bound, None), VolumePhase::Set("Released"));
    let mut deleting = bound.clone();
    deleting
        .spec
        .as_mut()
        .unwrap()
        .persistent_volume_reclaim_policy = Some("Delete".into());
    assert_eq!(volume_phase(&deleting, None), VolumePhase::Delete);
    assert_eq!(
        volume_phase(&pv("free", "1Gi", &[], ""), None),
        VolumePhase::Set("Available")
    );
}
