//! Steps for `certificates.k8s.io/v1` CertificateSigningRequests: a key and request made
//! with openssl as a user would, the request submitted, approved as `kubectl certificate
//! approve` does (the `/approval` subresource), and the issued certificate checked with
//! `openssl verify` against the CA the cluster publishes in `kube-root-ca.crt`.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context as _, anyhow};
use base64::Engine as _;
use cucumber::{given, then, when};
use kube::api::{Api, DynamicObject, PostParams};
use serde_json::json;

use super::Outcome;
use crate::kinds;
use crate::world::KubeWorld;

const KIND: &str = "CertificateSigningRequest";

/// Where the scenario's key, request and certificate files live.
fn workdir(world: &KubeWorld) -> anyhow::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("kubeproof-csr-{}", world.namespace));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir)
}

fn openssl(args: &[&str]) -> anyhow::Result<String> {
    let out = Command::new("openssl")
        .args(args)
        .output()
        .context("running openssl (is it installed?)")?;
    if !out.status.success() {
        return Err(anyhow!(
            "openssl {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

#[given(
    expr = "a key and a certificate signing request for {string} in organization {string} made with openssl"
)]
async fn make_request(world: &mut KubeWorld, cn: String, org: String) -> Outcome {
    let dir = workdir(world)?;
    let (key, csr) = (dir.join("user.key"), dir.join("user.csr"));
    let subject = format!("/CN={}/O={org}", world.expand(&cn));
    openssl(&[
        "req",
        "-new",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        &subject,
        "-keyout",
        &key.to_string_lossy(),
        "-out",
        &csr.to_string_lossy(),
    ])?;
    Ok(())
}

#[when(
    expr = "I submit it as the CertificateSigningRequest {string} for signer {string} with usages {string}"
)]
async fn submit(world: &mut KubeWorld, name: String, signer: String, usages: String) -> Outcome {
    let name = world.expand(&name);
    let obj: DynamicObject =
        serde_json::from_value(request_object(world, &name, &signer, &usages)?)
            .context("building the request")?;
    let (kind, api) = world.api(KIND)?;
    api.create(&PostParams::default(), &obj)
        .await
        .with_context(|| format!("creating {KIND} {name:?}"))?;
    world.cluster_scoped.push((kind, name));
    Ok(())
}

/// The CertificateSigningRequest of the scenario's request file.
fn request_object(
    world: &KubeWorld,
    name: &str,
    signer: &str,
    usages: &str,
) -> anyhow::Result<serde_json::Value> {
    let pem = std::fs::read(workdir(world)?.join("user.csr")).context("reading the request")?;
    let usages: Vec<&str> = usages.split(',').map(str::trim).collect();
    Ok(json!({
        "apiVersion": "certificates.k8s.io/v1", "kind": KIND,
        "metadata": {"name": name},
        "spec": {"request": base64::engine::general_purpose::STANDARD.encode(pem),
                 "signerName": signer, "usages": usages},
    }))
}

/// Submits the request as another identity (impersonated, as `kubectl --as --as-group`
/// would), so that the API server records that identity as the requester.
#[when(
    expr = "{string} in group {string} submits it as the CertificateSigningRequest {string} for signer {string} with usages {string}"
)]
async fn submit_as(
    world: &mut KubeWorld,
    user: String,
    group: String,
    name: String,
    signer: String,
    usages: String,
) -> Outcome {
    let (user, name) = (world.expand(&user), world.expand(&name));
    let body = serde_json::to_vec(&request_object(world, &name, &signer, &usages)?)
        .context("encoding the request")?;
    let kind = kinds::resolve(KIND).map_err(|e| anyhow!("{e}"))?;
    let req = http::Request::post("/apis/certificates.k8s.io/v1/certificatesigningrequests")
        .header("Content-Type", "application/json")
        .header("Impersonate-User", &user)
        .header("Impersonate-Group", &group)
        .body(body)
        .context("building the request")?;
    world
        .client()?
        .request::<serde_json::Value>(req)
        .await
        .with_context(|| format!("creating {KIND} {name:?} as {user:?}"))?;
    world.cluster_scoped.push((kind, name));
    Ok(())
}

#[then(expr = "the CertificateSigningRequest {string} is neither approved nor denied")]
async fn undecided(world: &mut KubeWorld, name: String) -> Outcome {
    let name = world.expand(&name);
    let kind = kinds::resolve(KIND).map_err(|e| anyhow!("{e}"))?;
    let api: Api<DynamicObject> = Api::all_with(world.client()?, &kind.resource);
    let obj = api
        .get(&name)
        .await
        .with_context(|| format!("reading {name:?}"))?;
    let conditions = &obj.data["status"]["conditions"];
    if conditions.as_array().is_some_and(|c| !c.is_empty()) {
        fail!("{KIND} {name:?} has conditions {conditions}");
    }
    Ok(())
}

#[when(expr = "I approve the CertificateSigningRequest {string}")]
async fn approve(world: &mut KubeWorld, name: String) -> Outcome {
    let name = world.expand(&name);
    let kind = kinds::resolve(KIND).map_err(|e| anyhow!("{e}"))?;
    let api: Api<DynamicObject> = Api::all_with(world.client()?, &kind.resource);
    let mut obj = api
        .get(&name)
        .await
        .with_context(|| format!("reading {name:?}"))?;
    // What `kubectl certificate approve` appends.
    let condition = json!({"type": "Approved", "status": "True", "reason": "KubectlApprove",
        "message": "This CSR was approved by kubectl certificate approve.",
        "lastUpdateTime": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)});
    let status = obj.data["status"].as_object_mut();
    match status {
        Some(s) => match s.get_mut("conditions").and_then(|c| c.as_array_mut()) {
            Some(list) => list.push(condition),
            None => {
                s.insert("conditions".into(), json!([condition]));
            }
        },
        None => obj.data["status"] = json!({"conditions": [condition]}),
    }
    api.replace_subresource("approval", &name, &PostParams::default(), &obj)
        .await
        .with_context(|| format!("approving {name:?}"))?;
    Ok(())
}

#[then(
    expr = "eventually the CertificateSigningRequest {string} has a certificate for {string} that the cluster CA verifies"
)]
async fn issued(world: &mut KubeWorld, name: String, cn: String) -> Outcome {
    let (name, cn) = (world.expand(&name), world.expand(&cn));
    let what = format!("{KIND} {name:?} to carry status.certificate");
    let objs = world
        .wait_for(KIND, "", &what, world.timings.expect, |objs| {
            objs.iter()
                .find(|o| o.metadata.name.as_deref() == Some(name.as_str()))
                .and_then(|o| o.data["status"]["certificate"].as_str().map(str::to_string))
        })
        .await?;
    let pem = base64::engine::general_purpose::STANDARD
        .decode(objs)
        .context("status.certificate is not base64")?;
    let dir = workdir(world)?;
    let (cert, ca) = (dir.join("user.crt"), dir.join("ca.crt"));
    std::fs::write(&cert, &pem).context("writing the certificate")?;
    let cms: Api<k8s_openapi::api::core::v1::ConfigMap> =
        Api::namespaced(world.client()?, &world.namespace);
    let bundle = cms
        .get("kube-root-ca.crt")
        .await
        .context("reading the cluster CA from ConfigMap kube-root-ca.crt")?
        .data
        .and_then(|d| d.get("ca.crt").cloned())
        .ok_or_else(|| anyhow!("kube-root-ca.crt has no ca.crt"))?;
    std::fs::write(&ca, bundle).context("writing the CA")?;
    let (cert_s, ca_s) = (cert.to_string_lossy(), ca.to_string_lossy());
    openssl(&["verify", "-CAfile", &ca_s, "-purpose", "sslclient", &cert_s])?;
    let subject = openssl(&[
        "x509", "-noout", "-subject", "-nameopt", "RFC2253", "-in", &cert_s,
    ])?;
    if !subject.contains(&format!("CN={cn}")) {
        fail!("the certificate's subject is {subject:?}, expected CN={cn}");
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
