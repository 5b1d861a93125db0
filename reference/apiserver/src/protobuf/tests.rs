//! Round trips of hand-encoded protobuf bodies.

use super::*;

fn varint(mut v: u64, out: &mut Vec<u8>) {
    loop {
        let b = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

fn ld(tag: u64, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    varint(tag << 3 | 2, &mut out);
    varint(body.len() as u64, &mut out);
    out.extend_from_slice(body);
    out
}

fn int(tag: u64, v: u64) -> Vec<u8> {
    let mut out = Vec::new();
    varint(tag << 3, &mut out);
    varint(v, &mut out);
    out
}

fn envelope(api_version: &str, kind: &str, raw: &[u8]) -> Vec<u8> {
    let tm = [ld(1, api_version.as_bytes()), ld(2, kind.as_bytes())].concat();
    [b"k8s\0".to_vec(), ld(1, &tm), ld(2, raw)].concat()
}

#[test]
fn a_configmap_decodes_with_metadata_maps_and_no_empty_strings() {
    let labels = [ld(1, b"app"), ld(2, b"web")].concat();
    let meta = [ld(1, b"cfg"), ld(3, b""), ld(11, &labels)].concat();
    let data = [ld(1, b"a"), ld(2, b"1")].concat();
    let cm = [ld(1, &meta), ld(2, &data)].concat();
    let v = to_json(&envelope("v1", "ConfigMap", &cm)).unwrap();
    assert_eq!(
        v,
        json!({"apiVersion": "v1", "kind": "ConfigMap",
               "metadata": {"name": "cfg", "labels": {"app": "web"}}, "data": {"a": "1"}})
    );
}

#[test]
fn deployments_decode_nested_specs_int_or_string_and_negative_numbers() {
    let container = [ld(1, b"web"), ld(2, b"nginx")].concat();
    let pod_spec = ld(2, &container);
    let template = ld(2, &pod_spec);
    let max_surge = [int(1, 1), ld(3, b"25%")].concat();
    let rolling = ld(2, &max_surge);
    let strategy = [ld(1, b"RollingUpdate"), ld(2, &rolling)].concat();
    let spec = [
        int(1, 3),
        ld(3, &template),
        ld(4, &strategy),
        int(5, u64::MAX),
    ]
    .concat();
    let d = [ld(1, &ld(1, b"d")), ld(2, &spec)].concat();
    let v = to_json(&envelope("apps/v1", "Deployment", &d)).unwrap();
    assert_eq!(v["spec"]["replicas"], 3);
    assert_eq!(v["spec"]["minReadySeconds"], -1);
    assert_eq!(
        v["spec"]["template"]["spec"]["containers"][0]["image"],
        "nginx"
    );
    assert_eq!(v["spec"]["strategy"]["rollingUpdate"]["maxSurge"], "25%");
}

#[test]
fn malformed_bodies_are_errors_not_panics() {
    assert_eq!(to_json(b"{}"), Err(ProtoError::NoMagic));
    assert!(to_json(b"k8s\0\x0a\xff").is_err());
    assert!(to_json(&envelope("v1", "Nope", b"")).is_err());
    let truncated = envelope("v1", "ConfigMap", &ld(1, b"xx"));
    assert!(to_json(&truncated[..truncated.len() - 1]).is_err());
}

#[test]
fn a_body_whose_json_form_exceeds_the_decoder_limit_is_refused() {
    let meta = ld(1, b"cfg");
    let data = [ld(1, b"a"), ld(2, b"1")].concat();
    let body = envelope("v1", "ConfigMap", &[ld(1, &meta), ld(2, &data)].concat());
    assert!(to_json_within(&body, 1000).is_ok());
    assert!(matches!(
        to_json_within(&body, 10),
        Err(ProtoError::TooLarge { limit: 10, .. })
    ));
}
