//! The real kubectl against the server: apply, get (-o wide / yaml), label, annotate,
//! patch (json, merge, strategic), scale, describe, watch, componentstatuses, delete.
//! kubectl's behaviour is the specification here.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};

const MANIFEST: &str = r#"apiVersion: v1
kind: Namespace
metadata:
  name: kt
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: kt
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: nginx:1.25
        ports:
        - containerPort: 80
---
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: kt
spec:
  selector: {app: web}
  ports:
  - port: 80
    targetPort: 80
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: cfg
  namespace: kt
data:
  a: "1"
"#;

struct Kubectl {
    kubeconfig: PathBuf,
    cache: PathBuf,
}

impl Kubectl {
    fn new(dir: &Path, url: &str) -> Self {
        let kubeconfig = dir.join("kubeconfig");
        std::fs::write(
            &kubeconfig,
            format!("apiVersion: v1\nkind: Config\nclusters:\n- name: t\n  cluster:\n    server: {url}\ncontexts:\n- name: t\n  context:\n    cluster: t\n    user: t\ncurrent-context: t\nusers:\n- name: t\n  user: {{}}\n"),
        )
        .unwrap();
        Self {
            kubeconfig,
            cache: dir.join("cache"),
        }
    }

    fn command(&self, args: &[&str]) -> tokio::process::Command {
        let mut c = tokio::process::Command::new("kubectl");
        c.arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .arg("--cache-dir")
            .arg(&self.cache)
            .args(args);
        c
    }

    /// Runs kubectl; returns stdout, failing the test with stderr on a non-zero exit.
    async fn ok(&self, args: &[&str]) -> String {
        let out = self
            .command(args)
            .output()
            .await
            .expect("kubectl runs (is it on PATH?)");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "kubectl {args:?} failed:\n{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
    }

    async fn err(&self, args: &[&str]) -> String {
        let out = self.command(args).output().await.unwrap();
        assert!(!out.status.success(), "kubectl {args:?} should fail");
        String::from_utf8_lossy(&out.stderr).into_owned()
    }
}

#[tokio::test]
async fn kubectl_drives_the_server_like_a_real_cluster() {
    let s = common::start().await;
    let dir = tempfile::tempdir().unwrap();
    let k = Kubectl::new(dir.path(), &s.url);
    let manifest = dir.path().join("app.yaml");
    std::fs::write(&manifest, MANIFEST).unwrap();
    let m = manifest.to_str().unwrap();

    let out = k.ok(&["apply", "-f", m]).await;
    for line in [
        "namespace/kt created",
        "deployment.apps/web created",
        "service/web created",
        "configmap/cfg created",
    ] {
        assert!(out.contains(line), "{out}");
    }
    let out = k.ok(&["apply", "-f", m]).await;
    assert_eq!(out.matches("unchanged").count(), 4, "{out}");

    let wide = k.ok(&["-n", "kt", "get", "deploy", "-o", "wide"]).await;
    assert!(
        wide.lines().next().unwrap().contains("CONTAINERS"),
        "{wide}"
    );
    assert!(
        wide.contains("nginx:1.25") && wide.contains("app=web"),
        "{wide}"
    );
    let yaml = k.ok(&["-n", "kt", "get", "svc", "web", "-o", "yaml"]).await;
    assert!(yaml.contains("clusterIP: 10.0.0."), "{yaml}");

    assert!(
        k.ok(&["-n", "kt", "label", "deploy", "web", "tier=front"])
            .await
            .contains("labeled")
    );
    assert!(
        k.ok(&["-n", "kt", "annotate", "deploy", "web", "note=hi"])
            .await
            .contains("annotated")
    );
    k.ok(&[
        "-n",
        "kt",
        "patch",
        "deploy",
        "web",
        "--type=merge",
        "-p",
        r#"{"spec":{"replicas":3}}"#,
    ])
    .await;
    k.ok(&[
        "-n",
        "kt",
        "patch",
        "deploy",
        "web",
        "--type=json",
        "-p",
        r#"[{"op":"replace","path":"/spec/replicas","value":4}]"#,
    ])
    .await;
    k.ok(&[
        "-n",
        "kt",
        "patch",
        "deploy",
        "web",
        "--type=strategic",
        "-p",
        r#"{"spec":{"template":{"spec":{"containers":[{"name":"web","image":"nginx:1.26"}]}}}}"#,
    ])
    .await;
    let got = k.ok(&["-n", "kt", "get", "deploy", "web", "-o", "jsonpath={.spec.replicas} {.spec.template.spec.containers[0].image} {.metadata.labels.tier} {.metadata.annotations.note}"]).await;
    assert_eq!(got, "4 nginx:1.26 front hi");
    assert!(
        k.ok(&["-n", "kt", "scale", "deploy", "web", "--replicas=5"])
            .await
            .contains("scaled")
    );
    let described = k.ok(&["-n", "kt", "describe", "deploy", "web"]).await;
    assert!(described.contains("5 desired"), "{described}");
    assert!(described.contains("tier=front"), "{described}");

    assert_eq!(
        k.ok(&["auth", "can-i", "create", "pods"]).await.trim(),
        "yes"
    );
    let who = k.ok(&["auth", "whoami"]).await;
    assert!(who.contains("system:admin"), "{who}");

    let cs = k.ok(&["get", "componentstatuses"]).await;
    assert!(cs.contains("etcd-0") && cs.contains("Healthy"), "{cs}");

    // kubectl get --watch prints a row for a change made after it started.
    let mut watch = k
        .command(&["-n", "kt", "get", "cm", "--watch", "--output-watch-events"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(watch.stdout.take().unwrap()).lines();
    let first = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(first.contains("EVENT"), "{first}");
    k.ok(&[
        "-n",
        "kt",
        "patch",
        "cm",
        "cfg",
        "-p",
        r#"{"data":{"b":"2"}}"#,
    ])
    .await;
    let mut seen = Vec::new();
    let found = tokio::time::timeout(Duration::from_secs(20), async {
        while let Ok(Some(l)) = lines.next_line().await {
            seen.push(l.clone());
            if l.contains("MODIFIED") && l.contains("cfg") {
                return true;
            }
        }
        false
    })
    .await;
    watch.kill().await.unwrap();
    assert_eq!(found, Ok(true), "{seen:?}");

    // Typed generators send protobuf bodies.
    let out = k
        .ok(&[
            "-n",
            "kt",
            "create",
            "deployment",
            "gen",
            "--image=busybox:1.36",
            "--replicas=2",
        ])
        .await;
    assert!(out.contains("deployment.apps/gen created"), "{out}");
    let got = k.ok(&["-n", "kt", "get", "deploy", "gen", "-o", "jsonpath={.spec.replicas} {.spec.template.spec.containers[0].image} {.spec.selector.matchLabels.app}"]).await;
    assert_eq!(got, "2 busybox:1.36 gen");
    k.ok(&[
        "-n",
        "kt",
        "create",
        "configmap",
        "made",
        "--from-literal=k=v",
    ])
    .await;
    assert_eq!(
        k.ok(&["-n", "kt", "get", "cm", "made", "-o", "jsonpath={.data.k}"])
            .await,
        "v"
    );
    k.ok(&[
        "-n",
        "kt",
        "create",
        "secret",
        "generic",
        "s",
        "--from-literal=p=w",
    ])
    .await;
    assert_eq!(
        k.ok(&["-n", "kt", "get", "secret", "s", "-o", "jsonpath={.data.p}"])
            .await,
        "dw=="
    );
    k.ok(&["create", "namespace", "made-ns"]).await;
    k.ok(&["-n", "kt", "delete", "deploy/gen", "cm/made"]).await;

    let missing = k.err(&["-n", "kt", "get", "cm", "nope"]).await;
    assert!(
        missing.contains(r#"Error from server (NotFound): configmaps "nope" not found"#),
        "{missing}"
    );

    let deleted = k.ok(&["delete", "-f", m, "--wait=false"]).await;
    assert!(
        deleted.contains("deployment.apps \"web\" deleted"),
        "{deleted}"
    );
    let left = k
        .ok(&["-n", "kt", "get", "deploy,svc,cm", "-o", "name"])
        .await;
    assert!(left.trim().is_empty(), "{left}");
}
