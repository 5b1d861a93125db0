//! Unit tests of continue tokens and spliced list bodies (`read.rs`).

use super::*;

#[test]
fn a_spliced_member_serialises_exactly_like_the_filled_in_object() {
    let items = vec![
        json!({"b": 1, "a": [true, null]}),
        json!({"metadata": {"name": "x"}}),
    ];
    let refs: Vec<&Value> = items.iter().collect();
    let envelope = json!({"kind": "PodList", "apiVersion": "v1", "metadata": {"resourceVersion": "7"}, "items": null});
    let spliced = Spliced::new(&envelope, "items", &refs);
    let filled = json!({"kind": "PodList", "apiVersion": "v1", "metadata": {"resourceVersion": "7"}, "items": items});
    assert_eq!(
        serde_json::to_string(&spliced).unwrap(),
        serde_json::to_string(&filled).unwrap()
    );
    assert_eq!(
        serde_yaml::to_string(&spliced).unwrap(),
        serde_yaml::to_string(&filled).unwrap()
    );
}

#[test]
fn continue_tokens_round_trip() {
    let t = encode_continue(42, "ns/pod-7");
    assert_eq!(decode_continue(&t).unwrap(), (42, "ns/pod-7".to_string()));
}

#[test]
fn garbage_continue_tokens_are_bad_requests() {
    assert_eq!(decode_continue("!!!").unwrap_err().code, 400);
    let t = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(r#"{"v":"meta.k8s.io/v1","rv":3,"start":"../x\u0000"}"#);
    assert_eq!(decode_continue(&t).unwrap_err().code, 400);
}
