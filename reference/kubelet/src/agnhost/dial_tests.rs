//! Tests of netexec's `/dial`: parameter validation, the JSON shape, and real tries
//! against netexec servers on 127.0.0.x addresses.

use std::collections::HashMap;
use std::time::Duration;

use super::*;
use crate::agnhost::netexec::{router_with, udp_reply};

fn q(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn short() -> DialConfig {
    DialConfig::default().timeout(Duration::from_millis(500))
}

#[test]
fn parameters_are_validated_with_upstreams_messages() {
    let d = parse(&q(&[
        ("request", "hostname"),
        ("host", "10.0.0.1"),
        ("port", "80"),
    ]))
    .unwrap();
    assert_eq!((d.protocol, d.tries, d.port), (Protocol::Http, 1, 80));
    let d = parse(&q(&[
        ("request", "echo hi"),
        ("protocol", "UDP"),
        ("host", "h"),
        ("port", "53"),
        ("tries", "3"),
    ]))
    .unwrap();
    assert_eq!((d.protocol, d.tries), (Protocol::Udp, 3));
    let err = |p: &[(&str, &str)]| parse(&q(p)).unwrap_err();
    assert_eq!(
        err(&[("request", "x"), ("tries", "two")]),
        "tries parameter is invalid. strconv.Atoi: parsing \"two\": invalid syntax"
    );
    assert_eq!(
        err(&[("host", "h"), ("port", "1")]),
        "request parameter not specified. <nil>"
    );
    assert_eq!(
        err(&[("request", "x"), ("protocol", "sctp2"), ("port", "1")]),
        "unsupported protocol. sctp2"
    );
    assert_eq!(
        err(&[("request", "x"), ("host", "h"), ("port", "http")]),
        "host and/or port param are invalid. address h:http: invalid port (tcp)"
    );
}

#[test]
fn responses_are_listed_only_when_the_last_try_answered() {
    let both = Outcome {
        responses: vec!["a".into()],
        errors: vec!["e".into()],
        last: "a".into(),
    };
    assert_eq!(
        render(&both).to_string(),
        r#"{"errors":["e"],"responses":["a"]}"#
    );
    let last_failed = Outcome {
        last: String::new(),
        ..both
    };
    assert_eq!(render(&last_failed).to_string(), r#"{"errors":["e"]}"#);
    assert_eq!(render(&Outcome::default()).to_string(), "{}");
}

async fn netexec_http(ip: &str) -> u16 {
    let listener = tokio::net::TcpListener::bind((ip, 0)).await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let app = router_with(short()).into_make_service_with_connect_info::<std::net::SocketAddr>();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    port
}

async fn netexec_udp(ip: &str) -> u16 {
    let sock = tokio::net::UdpSocket::bind((ip, 0)).await.unwrap();
    let port = sock.local_addr().unwrap().port();
    tokio::spawn(async move {
        let mut buf = vec![0u8; 2048];
        while let Ok((n, peer)) = sock.recv_from(&mut buf).await {
            if let Some(reply) = udp_reply(&String::from_utf8_lossy(&buf[..n]), peer) {
                let _ = sock.send_to(reply.as_bytes(), peer).await;
            }
        }
    });
    port
}

async fn closed_port(ip: &str) -> u16 {
    let l = tokio::net::TcpListener::bind((ip, 0)).await.unwrap();
    l.local_addr().unwrap().port()
}

async fn dial_via(client_port: u16, query: &str) -> (u16, String) {
    let url = format!("http://127.0.0.81:{client_port}/dial?{query}");
    let resp = reqwest::get(&url).await.unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

#[tokio::test]
async fn an_http_dial_reports_the_hostname_of_every_try() {
    let client = netexec_http("127.0.0.81").await;
    let target = netexec_http("127.0.0.82").await;
    let (code, body) = dial_via(
        client,
        &format!("request=hostname&protocol=http&host=127.0.0.82&port={target}&tries=3"),
    )
    .await;
    assert_eq!(code, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    let me = crate::agnhost::hostname();
    assert_eq!(v, serde_json::json!({"responses": [me, me, me]}));
}

#[tokio::test]
async fn a_refused_http_dial_is_reported_in_gos_words() {
    let client = netexec_http("127.0.0.81").await;
    let port = closed_port("127.0.0.83").await;
    let (code, body) = dial_via(
        client,
        &format!("request=hostname&host=127.0.0.83&port={port}&tries=2"),
    )
    .await;
    assert_eq!(code, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    let e = format!(
        "Get \"http://127.0.0.83:{port}/hostname\": dial tcp 127.0.0.83:{port}: connect: connection refused"
    );
    assert_eq!(v, serde_json::json!({"errors": [e, e]}));
}

#[tokio::test]
async fn bad_parameters_are_a_400_with_the_reason() {
    let client = netexec_http("127.0.0.81").await;
    let (code, body) = dial_via(client, "host=127.0.0.1&port=1").await;
    assert_eq!(
        (code, body.as_str()),
        (400, "request parameter not specified. <nil>\n")
    );
    let (code, body) = dial_via(client, "request=x&host=no-such-host.invalid&port=1").await;
    assert_eq!(code, 400);
    assert!(
        body.starts_with("host and/or port param are invalid. lookup no-such-host.invalid"),
        "{body}"
    );
}

#[tokio::test]
async fn a_udp_dial_sends_the_request_as_a_datagram() {
    let port = netexec_udp("127.0.0.84").await;
    let d = parse(&q(&[
        ("request", "echo hello"),
        ("protocol", "udp"),
        ("host", "127.0.0.84"),
        ("port", &port.to_string()),
        ("tries", "2"),
    ]))
    .unwrap();
    let addr = resolve(&d).await.unwrap();
    let out = run(&d, addr, &short()).await;
    assert_eq!(out.responses, vec!["hello", "hello"]);
    assert!(out.errors.is_empty());
}

#[tokio::test]
async fn a_udp_dial_to_a_closed_port_fails_to_read() {
    let port = closed_port("127.0.0.85").await;
    let d = parse(&q(&[
        ("request", "hostname"),
        ("protocol", "udp"),
        ("host", "127.0.0.85"),
        ("port", &port.to_string()),
    ]))
    .unwrap();
    let addr = resolve(&d).await.unwrap();
    let out = run(&d, addr, &short()).await;
    assert!(out.responses.is_empty());
    assert_eq!(out.errors.len(), 1);
    assert!(
        out.errors[0].starts_with("reading from udp connection failed. err:'read udp ")
            && out.errors[0].ends_with(&format!("->127.0.0.85:{port}: read: connection refused'")),
        "{:?}",
        out.errors
    );
}
