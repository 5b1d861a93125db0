//! Tests of the deployment helpers: fenceposts ([derived] numbers), hash, annotations.

use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec, ReplicaSet};
use k8s_openapi::api::core::v1::PodTemplateSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::*;

fn pct(s: &str) -> IntOrString {
    IntOrString::String(s.into())
}

#[test]
fn default_fenceposts_round_surge_up_and_unavailable_down() {
    assert_eq!(resolve_fenceposts(None, None, 10), Ok((3, 2)));
    assert_eq!(resolve_fenceposts(None, None, 4), Ok((1, 1)));
    assert_eq!(resolve_fenceposts(None, None, 1), Ok((1, 0)));
    assert_eq!(resolve_fenceposts(None, None, 3), Ok((1, 0)));
}

#[test]
fn zero_surge_and_zero_unavailable_becomes_one_unavailable() {
    assert_eq!(
        resolve_fenceposts(Some(&IntOrString::Int(0)), Some(&pct("25%")), 2),
        Ok((0, 1))
    );
    assert_eq!(
        resolve_fenceposts(Some(&IntOrString::Int(0)), Some(&IntOrString::Int(0)), 5),
        Ok((0, 1))
    );
}

#[test]
fn a_bad_percentage_is_an_error() {
    assert_eq!(
        scaled_value(&pct("abc"), 10, true).map_err(|e| e.to_string()),
        Err(
            "invalid value for IntOrString: invalid type: string is not a percentage: \"abc\""
                .to_string()
        )
    );
}

#[test]
fn max_unavailable_is_capped_at_replicas_and_zero_for_zero_replicas() {
    let mut d = Deployment {
        spec: Some(DeploymentSpec {
            replicas: Some(0),
            ..Default::default()
        }),
        ..Default::default()
    };
    assert_eq!(max_unavailable(&d), 0);
    d.spec.as_mut().unwrap().replicas = Some(10);
    assert_eq!((max_surge(&d), max_unavailable(&d)), (3, 2));
}

#[test]
fn safe_encoding_maps_digits_to_the_upstream_alphabet() {
    assert_eq!(safe_encode("0123456789"), "456789bcdf");
}

#[test]
fn fnv32a_matches_the_reference_vectors() {
    assert_eq!(fnv32a(b""), 0x811c_9dc5);
    assert_eq!(fnv32a(b"a"), 0xe40c_292c);
    assert_eq!(fnv32a(b"foobar"), 0xbf9c_f968);
}

#[test]
fn the_template_hash_is_stable_in_format_and_changes_with_the_collision_count() {
    let t = PodTemplateSpec {
        metadata: Some(ObjectMeta {
            labels: Some([("app".into(), "web".into())].into()),
            ..Default::default()
        }),
        spec: None,
    };
    let h = compute_hash(&t, None);
    assert_eq!(h, compute_hash(&t, None));
    assert!(
        !h.is_empty() && h.len() <= 10 && h.chars().all(|c| "456789bcdf".contains(c)),
        "{h}"
    );
    assert_ne!(h, compute_hash(&t, Some(1)));
}

#[test]
fn templates_are_equal_ignoring_the_hash_label() {
    let t = PodTemplateSpec {
        metadata: Some(ObjectMeta {
            labels: Some([("app".into(), "web".into())].into()),
            ..Default::default()
        }),
        spec: None,
    };
    let mut hashed = t.clone();
    hashed
        .metadata
        .as_mut()
        .unwrap()
        .labels
        .as_mut()
        .unwrap()
        .insert(POD_TEMPLATE_HASH.into(), "abc".into());
    assert!(equal_ignore_hash(&t, &hashed));
    let mut other = t.clone();
    other
        .metadata
        .as_mut()
        .unwrap()
        .labels
        .as_mut()
        .unwrap()
        .insert("v".into(), "2".into());
    assert!(!equal_ignore_hash(&t, &other));
}

#[test]
fn explicit_false_and_omitted_fields_are_the_same_template() {
    let omitted: PodTemplateSpec = serde_json::from_value(
        serde_json::json!({"spec": {"containers": [{"name": "c", "image": "nginx"}]}}),
    )
    .unwrap();
    let explicit: PodTemplateSpec =
        serde_json::from_value(serde_json::json!({"metadata": {"generation": 0}, "spec": {"hostNetwork": false, "containers": [{"name": "c", "image": "nginx", "stdin": false, "tty": false}]}})).unwrap();
    assert!(equal_ignore_hash(&omitted, &explicit));
    assert_eq!(compute_hash(&omitted, None), compute_hash(&explicit, None));
}

#[test]
fn rolling_back_to_an_old_replica_set_bumps_its_revision_and_records_history() {
    let d = Deployment {
        metadata: ObjectMeta {
            annotations: Some(
                [
                    ("team".into(), "a".into()),
                    (LAST_APPLIED.into(), "{}".into()),
                ]
                .into(),
            ),
            ..Default::default()
        },
        spec: Some(DeploymentSpec {
            replicas: Some(3),
            ..Default::default()
        }),
        ..Default::default()
    };
    let mut rs = ReplicaSet {
        metadata: ObjectMeta {
            annotations: Some([(REVISION.into(), "1".into())].into()),
            ..Default::default()
        },
        ..Default::default()
    };
    assert!(set_new_rs_annotations(&d, &mut rs, 3, true));
    let ann = rs.metadata.annotations.as_ref().unwrap();
    assert_eq!(ann.get(REVISION).map(String::as_str), Some("3"));
    assert_eq!(ann.get(REVISION_HISTORY).map(String::as_str), Some("1"));
    assert_eq!(ann.get("team").map(String::as_str), Some("a"));
    assert!(!ann.contains_key(LAST_APPLIED));
    assert!(set_new_rs_annotations(&d, &mut rs, 5, true));
    assert_eq!(
        rs.metadata
            .annotations
            .as_ref()
            .unwrap()
            .get(REVISION_HISTORY)
            .map(String::as_str),
        Some("1,3")
    );
}

#[test]
fn a_new_replica_set_gets_desired_and_max_replicas_annotations() {
    let d = Deployment {
        spec: Some(DeploymentSpec {
            replicas: Some(10),
            ..Default::default()
        }),
        ..Default::default()
    };
    let mut rs = ReplicaSet::default();
    set_new_rs_annotations(&d, &mut rs, 1, false);
    assert_eq!(desired_annotation(&rs), Some(10));
    assert_eq!(max_replicas_annotation(&rs), Some(13));
}
