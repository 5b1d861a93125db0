//! The kubelet's driver: starts the HTTPS server, registers the Node and keeps its status
//! and Lease fresh, watches the pods bound to this node, reads static pod manifests, runs
//! one [`PodWorker`] per pod and keeps mirror pods in place. Entry points: [`run`] and
//! [`Kubelet::start`].

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::{Node, ObjectReference, Pod, PodStatus, Service};
use kube::api::Api;
use kube::runtime::watcher;
use refkube_common::events::EventRecorder;
use refkube_common::informers::Informer;
use refkube_common::informers::watch::events;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::{KubeletConfig, RuntimeKind};
use crate::error::KubeletError;
use crate::events::{COMPONENT, EventSink};
use crate::ipam::IpAllocator;
use crate::logs::LogStore;
use crate::mirror::{self, PodKey};
use crate::network::PodNetwork;
use crate::podapi::{KubePodApi, PodApi};
use crate::runtime::Runtime;
use crate::runtime::process::ProcessRuntime;
use crate::runtime::sim::SimRuntime;
use crate::services::Services;
use crate::static_pods;
use crate::status::phase::is_terminal;
use crate::volumes::{KubeVolumeApi, VolumeManager};
use crate::worker::{PodWorker, WorkerDeps};

/// A running kubelet.
#[derive(Debug)]
pub struct Kubelet {
    addr: SocketAddr,
    logs: Arc<LogStore>,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl Kubelet {
    /// Binds the HTTPS server and starts every loop in the background.
    pub async fn start(
        config: KubeletConfig,
        client: kube::Client,
    ) -> Result<Kubelet, KubeletError> {
        if let Some(dir) = &config.static_pod_dir
            && !dir.is_dir()
        {
            return Err(KubeletError::StaticPodDir(dir.clone()));
        }
        if config.runtime == RuntimeKind::Process && config.pod_network == PodNetwork::Netns {
            crate::network::preflight()?;
            crate::network::enable_forwarding()?;
        }
        let bind = SocketAddr::new(config.node_ip, config.port);
        let listener = tokio::net::TcpListener::bind(bind)
            .await
            .map_err(|source| KubeletError::Bind {
                addr: bind.to_string(),
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| KubeletError::Bind {
            addr: bind.to_string(),
            source,
        })?;
        let logs = Arc::new(LogStore::new(config.log_lines));
        let (stop, stop_rx) = watch::channel(false);
        let runtime = new_runtime(&config);
        let published = crate::podlist::PodSnapshot::default();
        let router = crate::server::router(logs.clone(), runtime.clone(), published.clone());
        let cert = crate::server_tls::self_signed(&config.node_name, config.node_ip)
            .map_err(KubeletError::Tls)?;
        let server = tokio::spawn(crate::server_tls::serve(
            listener,
            router,
            cert,
            stop_rx.clone(),
        ));
        let mut driver = Driver::new(config, client, addr.port(), logs.clone(), runtime);
        driver.published = published;
        let task = tokio::spawn(async move {
            driver.run(stop_rx).await;
            let _ = server.await;
        });
        Ok(Kubelet {
            addr,
            logs,
            stop,
            task,
        })
    }

    /// The kubelet HTTPS server's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The container logs this kubelet keeps.
    pub fn logs(&self) -> Arc<LogStore> {
        self.logs.clone()
    }

    /// Stops every pod worker (their containers are killed) and the server.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

/// Runs a kubelet until `shutdown` resolves.
pub async fn run(
    config: KubeletConfig,
    client: kube::Client,
    shutdown: impl Future<Output = ()>,
) -> Result<(), KubeletError> {
    let kubelet = Kubelet::start(config, client).await?;
    shutdown.await;
    kubelet.shutdown().await;
    Ok(())
}

/// The runtime `config` asks for; the pod workers and the server's exec share it.
fn new_runtime(config: &KubeletConfig) -> Arc<dyn Runtime> {
    match config.runtime {
        RuntimeKind::Process => Arc::new(
            ProcessRuntime::with_policy(config.resolved_agnhost_command(), config.image_policy)
                .with_network(config.pod_network),
        ),
        RuntimeKind::Sim => Arc::new(SimRuntime::new()),
    }
}

struct Driver {
    config: KubeletConfig,
    client: kube::Client,
    port: u16,
    logs: Arc<LogStore>,
    runtime: Arc<dyn Runtime>,
    events: Arc<dyn EventSink>,
    deps: Option<Arc<WorkerDeps>>,
    workers: HashMap<String, PodWorker>,
    api_pods: HashMap<String, Pod>,
    mirrors: HashMap<PodKey, Pod>,
    static_pods: HashMap<String, Pod>,
    listing: Option<HashSet<String>>,
    /// UIDs of pods refused by admission (failed once, never run).
    rejected: HashSet<String>,
    /// Pods that arrived before the pod CIDR was known.
    waiting: Vec<Pod>,
    /// Every Service, for the containers' service variables.
    services: Services,
    /// What the server's `/pods` answers.
    published: crate::podlist::PodSnapshot,
}

impl Driver {
    fn new(
        config: KubeletConfig,
        client: kube::Client,
        port: u16,
        logs: Arc<LogStore>,
        runtime: Arc<dyn Runtime>,
    ) -> Self {
        let events: Arc<dyn EventSink> = Arc::new(EventRecorder::new(
            client.clone(),
            COMPONENT,
            config.node_name.clone(),
        ));
        Driver {
            config,
            client,
            port,
            logs,
            runtime,
            events,
            deps: None,
            workers: HashMap::new(),
            api_pods: HashMap::new(),
            mirrors: HashMap::new(),
            static_pods: HashMap::new(),
            listing: None,
            rejected: HashSet::new(),
            waiting: Vec::new(),
            services: Services::none(),
            published: Default::default(),
        }
    }

    fn make_deps(&mut self, cidr: ipnet::IpNet) {
        // The simulator runs no process that could read a volume: none is filled.
        let volumes = (self.config.runtime == RuntimeKind::Process).then(|| {
            let api = Arc::new(KubeVolumeApi::new(self.client.clone()));
            Arc::new(VolumeManager::new(api, self.config.root_dir.clone()))
        });
        self.deps = Some(Arc::new(WorkerDeps {
            volumes,
            services: self.services.clone(),
            runtime: self.runtime.clone(),
            ipam: Arc::new(Mutex::new(IpAllocator::new(cidr))),
            logs: self.logs.clone(),
            events: self.events.clone(),
            api: Arc::new(KubePodApi::new(self.client.clone())),
            timings: self.config.timings.clone(),
            node_ip: self.config.node_ip,
        }));
        for pod in std::mem::take(&mut self.waiting) {
            self.upsert(pod);
        }
    }

    async fn run(mut self, mut stop: watch::Receiver<bool>) {
        let (node_tx, mut node_rx) = watch::channel::<Option<Node>>(None);
        let node_task = tokio::spawn(crate::node::sync::node_loop(
            self.config.clone(),
            self.client.clone(),
            self.port,
            crate::node::sync::machine_info(self.runtime.name()),
            node_tx,
            self.events.clone(),
        ));
        let services_task = self.watch_services();
        if let Some(cidr) = self.config.pod_cidr {
            self.make_deps(cidr);
        }
        let pods: Api<Pod> = Api::all(self.client.clone());
        let selector = format!("spec.nodeName={}", self.config.node_name);
        let mut stream = events(pods, watcher::Config::default().fields(&selector), "pods").boxed();
        let mut poll = tokio::time::interval(self.config.timings.static_pod_poll);
        poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = stop.wait_for(|s| *s) => break,
                event = stream.next() => match event {
                    Some(event) => self.on_watch(event),
                    None => break,
                },
                _ = poll.tick() => {
                    self.poll_static_pods();
                    self.reap_finished();
                }
                changed = node_rx.changed() => {
                    if changed.is_err() { continue; }
                    let cidr = node_rx.borrow_and_update().as_ref()
                        .and_then(|n| n.spec.as_ref()?.pod_cidr.as_ref()?.parse::<ipnet::IpNet>().ok());
                    if self.deps.is_none() && let Some(cidr) = cidr {
                        self.make_deps(cidr);
                    }
                }
            }
            let node = node_rx.borrow().clone();
            self.sync_mirrors(node.as_ref()).await;
            self.publish();
        }
        node_task.abort();
        services_task.abort();
        for (_, worker) in self.workers.drain() {
            worker.remove();
            let _ = tokio::time::timeout(Duration::from_secs(5), worker.join()).await;
        }
    }

    /// Publishes the pods this kubelet runs for its server's `/pods`.
    fn publish(&self) {
        let pods: Vec<Pod> = self
            .api_pods
            .values()
            .chain(self.static_pods.values())
            .cloned()
            .collect();
        if let Ok(mut slot) = self.published.write() {
            *slot = pods;
        }
    }

    /// Starts the informer over every Service the workers' [`Services`] read.
    fn watch_services(&mut self) -> JoinHandle<()> {
        let (informer, task) = Informer::new(
            Api::<Service>::all(self.client.clone()),
            watcher::Config::default(),
        );
        self.services = Services::watched(informer);
        tokio::spawn(task)
    }

    fn on_watch(&mut self, event: watcher::Event<Pod>) {
        match event {
            watcher::Event::Init => self.listing = Some(HashSet::new()),
            watcher::Event::InitApply(pod) => {
                if let (Some(seen), Some(uid)) = (self.listing.as_mut(), pod.metadata.uid.clone()) {
                    seen.insert(uid);
                }
                self.apply(pod);
            }
            watcher::Event::InitDone => {
                let Some(seen) = self.listing.take() else {
                    return;
                };
                let gone: Vec<String> = self
                    .api_pods
                    .keys()
                    .filter(|uid| !seen.contains(*uid))
                    .cloned()
                    .collect();
                for uid in gone {
                    self.forget(&uid);
                }
                self.mirrors
                    .retain(|_, m| m.metadata.uid.as_ref().is_some_and(|u| seen.contains(u)));
            }
            watcher::Event::Apply(pod) => self.apply(pod),
            watcher::Event::Delete(pod) => {
                if static_pods::is_mirror(&pod) {
                    self.mirrors.remove(&mirror::key(&pod));
                } else if let Some(uid) = pod.metadata.uid.clone() {
                    self.forget(&uid);
                }
            }
        }
    }

    fn apply(&mut self, pod: Pod) {
        if static_pods::is_mirror(&pod) {
            let key = mirror::key(&pod);
            // A new mirror can take the static pod's status at once (writes before it
            // existed failed).
            if !self.mirrors.contains_key(&key)
                && let Some((uid, static_pod)) =
                    self.static_pods.iter().find(|(_, p)| mirror::key(p) == key)
                && let Some(worker) = self.workers.get(uid)
            {
                worker.rewrite_status(static_pod.clone());
            }
            self.mirrors.insert(key, pod);
            return;
        }
        if let Some(uid) = pod.metadata.uid.clone() {
            self.api_pods.insert(uid, pod.clone());
        }
        self.upsert(pod);
    }

    /// Hands `pod` to its worker, starting one unless the pod is already finished.
    fn upsert(&mut self, pod: Pod) {
        let Some(uid) = pod.metadata.uid.clone() else {
            return;
        };
        let deleting = pod.metadata.deletion_timestamp.is_some() && !static_pods::is_static(&pod);
        if let Some(worker) = self.workers.get(&uid) {
            if !worker.is_finished() {
                worker.update(pod);
            } else if deleting {
                // The worker stopped everything but its final delete failed: retry it.
                self.final_delete(pod);
            }
            return;
        }
        let phase = pod
            .status
            .as_ref()
            .and_then(|s| s.phase.clone())
            .unwrap_or_default();
        if is_terminal(&phase) {
            // Nothing runs for a finished pod; a deleted one only needs its final delete.
            if deleting {
                self.final_delete(pod);
            }
            return;
        }
        if !static_pods::is_static(&pod) && !deleting && !self.admitted(&pod) {
            return;
        }
        match &self.deps {
            Some(deps) => {
                self.workers
                    .insert(uid, PodWorker::spawn(pod, deps.clone()));
            }
            None => self.waiting.push(pod),
        }
    }

    /// Admits a new pod against the pods already active here; a rejected pod is failed
    /// with the upstream reason and message, and an event.
    fn admitted(&mut self, pod: &Pod) -> bool {
        let uid = pod.metadata.uid.clone().unwrap_or_default();
        if self.rejected.contains(&uid) {
            return false;
        }
        let active: Vec<&Pod> = self
            .workers
            .iter()
            .filter(|(_, w)| !w.is_finished())
            .filter_map(|(uid, _)| self.api_pods.get(uid).or_else(|| self.static_pods.get(uid)))
            .collect();
        let capacity = crate::node::resources(&self.config);
        let labels = crate::node::labels(&self.config);
        let Err(rejection) = crate::admission::admit(pod, &active, &capacity, &labels) else {
            return true;
        };
        self.rejected.insert(uid);
        let api = KubePodApi::new(self.client.clone());
        let events = self.events.clone();
        let pod = pod.clone();
        tokio::spawn(async move {
            let object = ObjectReference {
                api_version: Some("v1".into()),
                kind: Some("Pod".into()),
                name: pod.metadata.name.clone(),
                namespace: pod.metadata.namespace.clone(),
                uid: pod.metadata.uid.clone(),
                ..ObjectReference::default()
            };
            events
                .record(&object, "Warning", &rejection.reason, &rejection.message)
                .await;
            let status = PodStatus {
                phase: Some("Failed".into()),
                reason: Some(rejection.reason),
                message: Some(format!("Pod was rejected: {}", rejection.message)),
                ..PodStatus::default()
            };
            if let Err(e) = api.patch_status(&pod, &status).await {
                tracing::warn!(error = %e, "failing a rejected pod");
            }
        });
        false
    }

    /// Deletes a pod with nothing running here (`gracePeriodSeconds=0`, UID precondition).
    fn final_delete(&self, pod: Pod) {
        let api = KubePodApi::new(self.client.clone());
        tokio::spawn(async move {
            if let Err(e) = api.delete(&pod).await {
                tracing::debug!(error = %e, "final delete");
            }
        });
    }

    /// The pod left its source: its worker kills it without writing anything.
    fn forget(&mut self, uid: &str) {
        self.api_pods.remove(uid);
        self.static_pods.remove(uid);
        self.rejected.remove(uid);
        self.waiting
            .retain(|p| p.metadata.uid.as_deref() != Some(uid));
        if let Some(worker) = self.workers.remove(uid) {
            worker.remove();
        }
    }

    /// Drops handles of workers whose pods finished and left the API.
    fn reap_finished(&mut self) {
        let api = &self.api_pods;
        let statics = &self.static_pods;
        self.workers.retain(|uid, w| {
            !w.is_finished() || api.contains_key(uid) || statics.contains_key(uid)
        });
    }

    fn poll_static_pods(&mut self) {
        let Some(dir) = self.config.static_pod_dir.clone() else {
            return;
        };
        let (manifests, errors) = match static_pods::read_dir(&dir) {
            Ok(read) => read,
            Err(e) => {
                tracing::warn!(error = %e, "reading static pods");
                return;
            }
        };
        for e in errors {
            tracing::warn!(error = %e, "skipping static pod manifest");
        }
        let seen = k8s_openapi::jiff::Timestamp::now().to_string();
        let mut current = HashMap::new();
        for (_, manifest) in manifests {
            let pod = static_pods::static_pod(manifest, &self.config.node_name, &seen);
            let uid = pod.metadata.uid.clone().unwrap_or_default();
            // Keep the first-seen copy (its config.seen) while the manifest is unchanged.
            let pod = self.static_pods.get(&uid).cloned().unwrap_or(pod);
            current.insert(uid, pod);
        }
        let removed: Vec<String> = self
            .static_pods
            .keys()
            .filter(|u| !current.contains_key(*u))
            .cloned()
            .collect();
        for uid in removed {
            self.forget(&uid);
        }
        for (uid, pod) in current {
            if let std::collections::hash_map::Entry::Vacant(slot) = self.static_pods.entry(uid) {
                slot.insert(pod.clone());
                self.upsert(pod);
            }
        }
    }

    async fn sync_mirrors(&mut self, node: Option<&Node>) {
        let Some(node_uid) = node.and_then(|n| n.metadata.uid.clone()) else {
            return;
        };
        let statics: Vec<&Pod> = self.static_pods.values().collect();
        let actions = mirror::plan(&statics, &self.mirrors);
        if !actions.is_empty() {
            mirror::apply(&self.client, &self.config.node_name, &node_uid, actions).await;
        }
    }
}
