//! The cucumber `World`: one scenario's cluster, namespace, observations and scratch state.
//!
//! Entry points: [`KubeWorld`] (steps receive it), [`KubeWorld::setup`] and
//! [`KubeWorld::teardown`] (called by the run's before/after hooks). Each scenario gets a
//! fresh namespace, deleted afterwards, and a recorder watching it from the start.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use anyhow::{Context as _, anyhow, bail};
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, PostParams};

use crate::config::Timings;
use crate::context::{RunContext, Trace};
use crate::diagnostics;
use crate::kinds::{self, Kind};
use crate::observe::{ObservationLog, Recorder};
use crate::plan::ScenarioKey;
use crate::steps::watch::Capture;
use crate::targets::{Fault, Session, SessionNeeds};
use crate::wait;

/// How long a scenario's best-effort clean-up may take.
const CLEANUP_WITHIN: std::time::Duration = std::time::Duration::from_secs(10);
/// One scenario's state.
#[derive(cucumber::World)]
#[world(init = Self::empty)]
pub struct KubeWorld {
    ctx: Option<Arc<RunContext>>,
    session: Option<Box<dyn Session>>,
    client: Option<kube::Client>,
    /// The scenario's own namespace.
    pub namespace: String,
    /// Deadlines.
    pub timings: Timings,
    /// Every watch event seen since the scenario started.
    pub log: ObservationLog,
    recorder: Recorder,
    /// The last API error a "When I try to ..." step got.
    pub last_error: Option<kube::Error>,
    /// Objects remembered by name for later steps (stale copies, revisions...).
    pub remembered: BTreeMap<String, DynamicObject>,
    /// Values remembered by name (`{name}` in step text expands to them).
    pub vars: BTreeMap<String, String>,
    /// Open watches by name.
    pub watches: BTreeMap<String, Capture>,
    /// Cluster-scoped objects the scenario created, deleted at teardown.
    pub cluster_scoped: Vec<(Kind, String)>,
    /// Kinds the scenario's CustomResourceDefinitions defined, resolvable by name.
    pub custom_kinds: Vec<Kind>,
    /// Background tasks the scenario started (fake node heartbeats by node name...).
    pub tasks: BTreeMap<String, tokio::task::JoinHandle<()>>,
}

impl fmt::Debug for KubeWorld {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KubeWorld")
            .field("namespace", &self.namespace)
            .field("observed", &self.log.snapshot().len())
            .field("vars", &self.vars)
            .finish_non_exhaustive()
    }
}

impl KubeWorld {
    fn empty() -> Self {
        Self {
            ctx: None,
            session: None,
            client: None,
            namespace: String::new(),
            timings: Timings::default(),
            log: ObservationLog::default(),
            recorder: Recorder::default(),
            last_error: None,
            remembered: BTreeMap::new(),
            vars: BTreeMap::new(),
            watches: BTreeMap::new(),
            cluster_scoped: Vec::new(),
            custom_kinds: Vec::new(),
            tasks: BTreeMap::new(),
        }
    }

    /// Connects to the target, creates the scenario's namespace and starts recording.
    pub async fn setup(&mut self, ctx: Arc<RunContext>, needs: SessionNeeds) -> anyhow::Result<()> {
        let session = ctx
            .target
            .session(&needs)
            .await
            .context("getting a cluster from the target")?;
        let client = session.client();
        let ns = Namespace {
            metadata: kube::api::ObjectMeta {
                generate_name: Some("kp-".into()),
                labels: Some([("kubeproof.io/scenario".to_string(), "true".to_string())].into()),
                ..Default::default()
            },
            ..Default::default()
        };
        let ns = Api::<Namespace>::all(client.clone())
            .create(&PostParams::default(), &ns)
            .await
            .context("creating the scenario's namespace")?;
        self.namespace = ns.metadata.name.unwrap_or_default();
        self.vars.insert("namespace".into(), self.namespace.clone());
        self.timings = ctx.timings.clone();
        self.log = ObservationLog::default();
        self.recorder = Recorder::start(&client, &self.namespace, &self.log).await;
        self.client = Some(client);
        self.session = Some(session);
        self.ctx = Some(ctx);
        Ok(())
    }

    /// Stops recording, hands the trace to the report, deletes what the scenario made and
    /// gives the cluster back.
    pub async fn teardown(&mut self, key: ScenarioKey) {
        self.recorder.stop();
        for (_, t) in std::mem::take(&mut self.tasks) {
            t.abort();
        }
        for (_, w) in std::mem::take(&mut self.watches) {
            w.stop();
        }
        if let Some(ctx) = &self.ctx {
            ctx.keep_trace(
                key,
                Trace {
                    namespace: self.namespace.clone(),
                    observations: self.log.snapshot(),
                    notes: self.log.notes(),
                },
            );
        }
        if let Some(client) = self.client.clone() {
            // Best effort, and bounded: a broken cluster (a store without a majority, an
            // API server cut off) must neither hide the scenario's own result nor hold
            // up the run.
            let cluster_scoped = std::mem::take(&mut self.cluster_scoped);
            let namespace = self.namespace.clone();
            let cleanup = async move {
                for (kind, name) in cluster_scoped {
                    let api: Api<DynamicObject> = Api::all_with(client.clone(), &kind.resource);
                    let _ = api.delete(&name, &DeleteParams::background()).await;
                }
                if !namespace.is_empty() {
                    let _ = Api::<Namespace>::all(client)
                        .delete(&namespace, &DeleteParams::background())
                        .await;
                }
            };
            let _ = tokio::time::timeout(CLEANUP_WITHIN, cleanup).await;
        }
        if let Some(session) = self.session.take() {
            session.release().await;
        }
    }

    /// The client for the scenario's cluster.
    pub fn client(&self) -> anyhow::Result<kube::Client> {
        self.client
            .clone()
            .ok_or_else(|| anyhow!("the scenario has no cluster (setup failed)"))
    }

    /// The run's performance store: the `--perf-scale` factor, and where measurements go.
    pub fn perf(&self) -> anyhow::Result<Arc<crate::perf::PerfStore>> {
        self.ctx
            .as_ref()
            .map(|c| c.perf.clone())
            .ok_or_else(|| anyhow!("the scenario has no cluster (setup failed)"))
    }

    /// Asks the target to inject a fault.
    pub async fn inject(&self, fault: Fault) -> anyhow::Result<()> {
        let session = self
            .session
            .as_ref()
            .ok_or_else(|| anyhow!("the scenario has no cluster (setup failed)"))?;
        session
            .inject(&fault)
            .await
            .with_context(|| format!("injecting {fault:?}"))
    }

    /// The API server's audit log.
    pub async fn audit_log(&self) -> anyhow::Result<Vec<serde_json::Value>> {
        let session = self
            .session
            .as_ref()
            .ok_or_else(|| anyhow!("the scenario has no cluster (setup failed)"))?;
        Ok(session.audit_log().await?)
    }

    /// Replaces `{var}` in step text by remembered values (`{namespace}` always exists).
    pub fn expand(&self, text: &str) -> String {
        let mut out = text.to_string();
        for (k, v) in &self.vars {
            out = out.replace(&format!("{{{k}}}"), v);
        }
        out
    }

    /// The API for a kind: in the scenario's namespace, or cluster-wide.
    pub fn api(&self, kind: &str) -> anyhow::Result<(Kind, Api<DynamicObject>)> {
        let k = kinds::resolve_among(kind, &self.custom_kinds)?;
        let api = self.api_for(&k, None)?;
        Ok((k, api))
    }

    /// The API for a resolved kind in `namespace` (default: the scenario's).
    pub fn api_for(&self, k: &Kind, namespace: Option<&str>) -> anyhow::Result<Api<DynamicObject>> {
        let client = self.client()?;
        Ok(if k.namespaced {
            Api::namespaced_with(client, namespace.unwrap_or(&self.namespace), &k.resource)
        } else {
            Api::all_with(client, &k.resource)
        })
    }

    /// The kind a manifest names by `apiVersion` and `kind`: built in, or one of the
    /// scenario's custom resources.
    pub fn kind_of_manifest(&self, obj: &DynamicObject) -> anyhow::Result<Kind> {
        let types = obj
            .types
            .as_ref()
            .ok_or_else(|| anyhow!("the manifest needs apiVersion and kind"))?;
        Ok(kinds::of_manifest_among(
            &types.api_version,
            &types.kind,
            &self.custom_kinds,
        )?)
    }

    /// The API a manifest is sent to: its kind's, in its own namespace (default: the
    /// scenario's).
    pub fn api_for_manifest(
        &self,
        obj: &DynamicObject,
    ) -> anyhow::Result<(Kind, Api<DynamicObject>)> {
        let kind = self.kind_of_manifest(obj)?;
        let api = self.api_for(&kind, obj.metadata.namespace.as_deref())?;
        Ok((kind, api))
    }

    /// Reads one object.
    pub async fn get(&self, kind: &str, name: &str) -> anyhow::Result<DynamicObject> {
        let (_, api) = self.api(kind)?;
        let name = self.expand(name);
        api.get(&name)
            .await
            .with_context(|| format!("reading {kind} {name:?}"))
    }

    /// Waits by watch until `check` holds over the objects of `kind` that `selector`
    /// (a label selector, may be empty) picks. On timeout the error shows what was seen.
    pub async fn wait_for<T, F>(
        &self,
        kind: &str,
        selector: &str,
        what: &str,
        deadline: std::time::Duration,
        check: F,
    ) -> anyhow::Result<T>
    where
        F: FnMut(&[DynamicObject]) -> Option<T>,
    {
        let (_, api) = self.api(kind)?;
        let mut params = ListParams::default();
        if !selector.is_empty() {
            params = params.labels(&self.expand(selector));
        }
        match wait::until(&api, &params, what, deadline, check).await {
            Ok(t) => Ok(t),
            Err(e) => {
                let seen = diagnostics::yaml_of(e.last_seen());
                let events = diagnostics::recent_events(self).await;
                bail!(
                    "{e}\n--- {kind} objects as last observed ---\n{seen}\n--- recent events in {} ---\n{events}",
                    self.namespace
                )
            }
        }
    }

    /// Remembers a cluster-scoped object for deletion at teardown.
    pub fn owns_cluster_object(&mut self, kind: Kind, name: &str) {
        self.cluster_scoped.push((kind, name.to_string()));
    }
}
