//! A small request must not make the server build something huge: upstream's JSON patch
//! limits (operation count, bytes `copy` may add) and the bound on what a YAML
//! document's aliases may expand to, through the public entry points.

#![allow(clippy::unwrap_used)]

use refkube_resources::decode::{FieldValidation, Format, decode};
use refkube_resources::patch::{PatchKind, apply_patch};
use refkube_resources::registry::lookup;
use serde_json::{Value, json};

fn pods() -> &'static refkube_resources::ResourceInfo {
    lookup("", "v1", "pods").unwrap()
}

fn configmaps() -> &'static refkube_resources::ResourceInfo {
    lookup("", "v1", "configmaps").unwrap()
}

/// The error of a request that must be refused; an accepted one is not printed (it
/// may be megabytes).
fn refused<T, E>(r: Result<T, E>) -> E {
    match r {
        Ok(_) => panic!("the request was accepted"),
        Err(e) => e,
    }
}

fn pod_with_a_kib_value() -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
           "spec": {"l": ["x".repeat(1024)]}})
}

/// `n` copies of the list into itself: each doubles it (1 KiB, 2 KiB, 4 KiB ...).
fn doubling_copies(n: usize) -> Vec<u8> {
    let op = json!({"op": "copy", "from": "/spec/l", "path": "/spec/l/-"});
    serde_json::to_vec(&vec![op; n]).unwrap()
}

#[test]
fn a_json_patch_holds_at_most_ten_thousand_operations() {
    let op = json!({"op": "test", "path": "/metadata/name", "value": "p"});
    let fits = serde_json::to_vec(&vec![op.clone(); 10_000]).unwrap();
    assert!(apply_patch(pods(), PatchKind::Json, &pod_with_a_kib_value(), &fits).is_ok());
    let over = serde_json::to_vec(&vec![op; 10_001]).unwrap();
    let err = refused(apply_patch(
        pods(),
        PatchKind::Json,
        &pod_with_a_kib_value(),
        &over,
    ));
    assert_eq!(err.code, 413);
    assert_eq!(
        err.message,
        "The allowed maximum operations in a JSON patch is 10000, got 10001"
    );
}

#[test]
fn copies_may_add_at_most_three_mib_to_the_object() {
    // Eleven doublings add 2047 KiB: allowed. The twelfth would bring it to 4095 KiB.
    let doc = pod_with_a_kib_value();
    let out = apply_patch(pods(), PatchKind::Json, &doc, &doubling_copies(11)).unwrap();
    assert_eq!(out["spec"]["l"].as_array().unwrap().len(), 12);
    let err = refused(apply_patch(
        pods(),
        PatchKind::Json,
        &doc,
        &doubling_copies(13),
    ));
    assert_eq!(err.code, 422, "{}", err.message);
    assert!(
        err.message
            .starts_with("Unable to complete the copy, the accumulated size increase of copy is ")
            && err.message.ends_with(", exceeding the limit 3145728"),
        "{}",
        err.message
    );
}

/// A ConfigMap whose value of `size` bytes is anchored once and aliased `aliases` times.
fn alias_bomb(size: usize, aliases: usize) -> Vec<u8> {
    let mut y = format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bomb\ndata:\n  a: &a \"{}\"\n",
        "x".repeat(size)
    );
    for i in 0..aliases {
        y.push_str(&format!("  b{i}: *a\n"));
    }
    y.into_bytes()
}

#[test]
fn a_yaml_body_whose_aliases_expand_far_past_its_size_is_refused() {
    let small = alias_bomb(1024, 4);
    assert!(decode(configmaps(), &small, Format::Yaml, FieldValidation::Strict).is_ok());
    // 512 KiB spelled out once, 16 times by alias: 8.5 MiB from a 0.5 MiB body.
    let bomb = alias_bomb(512 * 1024, 16);
    let err = refused(decode(
        configmaps(),
        &bomb,
        Format::Yaml,
        FieldValidation::Strict,
    ));
    assert!(err.0.contains("excessive aliasing"), "{err}");
}

#[test]
fn an_apply_patch_whose_aliases_expand_far_past_its_size_is_refused() {
    let original = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "bomb"}});
    let err = refused(apply_patch(
        configmaps(),
        PatchKind::Apply,
        &original,
        &alias_bomb(512 * 1024, 16),
    ));
    assert_eq!(err.code, 400);
    assert!(
        err.message.contains("excessive aliasing"),
        "{}",
        err.message
    );
}
