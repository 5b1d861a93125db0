//! refkube-kubelet: the reference node agent. Entry points: [`run`] /
//! [`Kubelet::start`] with a [`KubeletConfig`]; the `agnhost` binary ([`agnhost::run`]).
//!
//! An ordinary API client (the `kube` crate): it registers its Node (status computed every
//! `nodeStatusUpdateFrequency`, posted when it changed or every `nodeStatusReportFrequency`;
//! Lease `kube-node-lease/<node>` renewed at a quarter of its duration), watches the pods with `spec.nodeName=<node>`, runs each through a
//! [`worker::PodWorker`] on a CRI-like [`runtime::Runtime`], writes `pods/{name}/status`
//! when it changes, runs static pods from a manifest directory and publishes their mirror
//! pods, and serves container logs on `GET /containerLogs/{ns}/{pod}/{container}` over HTTPS
//! with a self-signed certificate ([`server_tls`]).
//! New pods pass [`admission`] first (node selector, pods, cpu, memory): a pod bound past
//! the scheduler that does not fit fails with `OutOfcpu` & co. A deleted Node object is
//! registered again. Processes started by the process runtime die with the kubelet.
//!
//! Modules by concern: [`node`] (the Node object and its heartbeat), [`kubelet`] (the
//! driver), [`worker`] (one task per pod), [`runtime`] (CRI-like runtimes), [`prober`] /
//! [`probe`], [`backoff`], [`status`] (phase and conditions), [`static_pods`] /
//! [`mirror`], [`logs`] / [`server`], [`ipam`], [`network`] (pod networking, and the
//! node routes task that runs beside the kubelet), [`volumes`] (projected volumes: the
//! service account token), [`services`] (the Services behind the service variables),
//! [`events`] / [`podapi`] (the two narrow traits through which workers write to the
//! API), [`agnhost`].
//!
//! ## In-cluster clients: the service account volume and the service variables
//!
//! As upstream, every container gets the service variables of the `kubernetes`
//! Service (`KUBERNETES_SERVICE_HOST`, `KUBERNETES_SERVICE_PORT`=443,
//! `KUBERNETES_SERVICE_PORT_HTTPS`, `KUBERNETES_PORT`, `KUBERNETES_PORT_443_TCP*`) and,
//! with `enableServiceLinks` (the default), of every Service of its namespace; an API
//! pod waits (`CreateContainerConfigError`) until the Services have been listed once.
//! Before the sandbox, the kubelet fills the pod's projected volumes ([`volumes`]):
//! for the `kube-api-access-*` volume the API server's admission adds, a token bound to
//! the pod (TokenRequest, renewed at 80% of its life), `ca.crt` from ConfigMap
//! `kube-root-ca.crt` and `namespace`, under
//! `<root_dir>/pods/<uid>/volumes/kubernetes.io~projected/<volume>/`; until it can (the
//! account or the ConfigMap does not exist yet) the pod stays in `ContainerCreating`
//! with `FailedMount` events. With `netns` the pause process also holds a mount
//! namespace in which each volume is bound read-only at its mount path
//! (`/var/run/secrets/kubernetes.io/serviceaccount`) and the kubelet's `pods`
//! directory is covered by an empty tmpfs, so a pod sees its own token there and no
//! other pod's: `kubectl` or kube-rs with the in-cluster configuration work inside it.
//! With `loopback` there is no mount namespace (it takes root), so nothing is mounted:
//! the files exist only in the pod's directory, the well-known path is not there, and
//! in-cluster clients do not work (upstream has no other place for them). The
//! simulator fills no volume.
//!
//! ## Pod networking, and what "localhost" means here
//!
//! The process runtime networks pods in one of two ways ([`network::PodNetwork`]):
//!
//! - **`netns`** (root only; what the conformance suite uses when it runs as root): as
//!   upstream. The sandbox's pause process holds the pod's network, UTS and IPC
//!   namespaces and every container joins them, so the containers of a pod reach each
//!   other on `localhost`, see the pod's hostname, and bind `0.0.0.0` without meeting
//!   other pods. A veth pair ([`network::ptp`]) gives the pod its IP from the node's pod
//!   CIDR (default `10.244.<n>.0/24`) with a route through the node's gateway, so every
//!   pod reaches every other pod by IP, across nodes, without NAT: on one machine
//!   through the per-pod host routes, between machines (node containers) through the
//!   routes [`network::route_sync`] keeps to every other node's pod CIDR via its
//!   InternalIP (`refkube node --node-routes`). A restarted container
//!   joins the same namespaces, so it keeps the pod's IP. The namespaces live exactly as
//!   long as the pause process.
//! - **`loopback`** (the default; no privileges): each node's pod CIDR lies inside
//!   127.0.0.0/8 (default `127.100.<n>.0/24`) and each sandbox gets a unique address from
//!   it ([`ipam`]); Linux routes all of 127/8 locally, so any process can bind such an
//!   address and every pod reaches every other pod by its IP. Processes cannot share a
//!   network namespace without privileges, so here the pod IP plays the role of the
//!   shared `localhost`: the runtime tells agnhost's servers to bind the pod IP
//!   (`REFKUBE_BIND_IP`) and containers of one pod reach each other on
//!   `$POD_IP:<port>`. The differences, honestly: a program that binds or dials the
//!   literal `127.0.0.1`/`localhost` uses the machine's loopback, shared by all pods;
//!   ports are not isolated per pod; and the hostname is the machine's (`HOSTNAME` is
//!   set to the pod's).
//!
//! In both modes the node's InternalIP is `127.0.1.<n>` unless configured (a node
//! container gives its own address, `--node-ip`), every container gets `POD_IP`
//! and `HOSTNAME` in its environment, and the filesystem, PIDs and users are the
//! machine's. The sandbox itself is a real `agnhost pause` process (the chapter's
//! infrastructure container); removing the sandbox kills every process group of the pod.
//! When the pause process dies, the pod's worker sees its sandbox not ready, kills the
//! pod's containers, creates a new sandbox (a new pod IP) and starts them again in it,
//! with upstream's `SandboxChanged` event ([`worker::actions`] decides, the worker
//! executes).
//!
//! ## Runtimes
//!
//! - `process` ([`runtime::process`]): containers are child processes in their own
//!   process group (SIGTERM on stop, SIGKILL after the grace period, SIGKILL on drop).
//!   Images resolve to built-in workloads ([`runtime::images`]): `registry.k8s.io/pause`,
//!   `registry.k8s.io/e2e-test-images/agnhost` (`pause`, `netexec`, `serve-hostname`,
//!   `liveness`, `logs-generator`), `busybox` and `alpine` (the machine's own `sh`,
//!   `sleep`, `echo` ...), `python` (the machine's `python3`), `nginx` and `httpd` (a
//!   stand-in serving the image's default page on port 80, [`standins`]).
//!   Any other image fails with `ErrImagePull` then `ImagePullBackOff`, or, with
//!   [`ImagePolicy::PauseUnknown`], runs as a pause container.
//! - `sim` ([`runtime::sim`]): no processes; annotations `refkube.io/sim-exit-after`,
//!   `refkube.io/sim-exit-code`, `refkube.io/sim-image-pull-error` steer containers.
//!
//! ## Known differences from upstream
//!
//! - Env `valueFrom` `configMapKeyRef`/`secretKeyRef`/`resourceFieldRef` are not
//!   provided (the container waits with `CreateContainerConfigError`); of the volumes
//!   only projected `serviceAccountToken`, `configMap` and `downwardAPI` (`metadata.*`)
//!   sources are filled, and only mounted with `netns` (one mount namespace per pod, so
//!   a path mounted in one container is seen by all of the pod's containers).
//! - gRPC probes fail with a message saying they are unsupported.
//! - The `BackOff` event is posted once per back-off period rather than on every sync.
//! - Static pods come from files only (no HTTP source).
//! - `hostNetwork: true` pods get the node IP and share the machine's network stack;
//!   host ports are not reserved.
//! - Admission does not evaluate required node affinity terms (the scheduler does).
//! - Ephemeral containers (`spec.ephemeralContainers`, added through
//!   `pods/ephemeralcontainers`) run once each in the pod's sandbox and are reported in
//!   `status.ephemeralContainerStatuses`, as upstream. Their `targetContainerName` adds
//!   nothing here: no container has a PID namespace of its own (PIDs are the
//!   machine's), so an ephemeral container already sees its target's processes.
//! - A restarted kubelet starts the pods bound to it again (restart counts start over),
//!   because the process runtime's containers die with it.

pub mod agnhost;
pub mod backoff;
pub mod config;
pub mod error;
pub mod events;
pub mod ipam;
pub mod kubelet;
pub mod logs;
pub mod mirror;
pub mod network;
pub mod node;
pub mod podapi;
pub mod podlist;
pub mod probe;
pub mod prober;
pub mod runtime;
pub mod server;
pub mod server_tls;
pub mod services;
pub mod standins;
pub mod static_pods;
pub mod status;
pub mod streaming;
pub mod volumes;
pub mod worker;

pub use config::{Capacity, ImagePolicy, KubeletConfig, RuntimeKind, Timings};
pub use error::KubeletError;
pub use kubelet::{Kubelet, run};
pub use network::PodNetwork;
pub mod admission;
