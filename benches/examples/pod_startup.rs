//! Pod startup latency at scale, as a load client against a whole `refkube up` cluster
//! (issue 11): from each create's response to the watch showing the Pod Running.
//!
//! `pod_startup NODES RATE SECONDS [--refkube PATH] [--kubeconfig FILE]` starts
//! `refkube up --nodes NODES --runtime sim` (PATH, default the `refkube` binary beside
//! this example's directory, i.e. `target/release/refkube`) in a process of its own, waits
//! for NODES Ready nodes, creates a namespace, watches its Pods, and creates pause Pods
//! at RATE per second over HTTP for SECONDS (open loop: each create is sent at its time
//! whether or not earlier ones were answered). It then waits for every Pod to be Running
//! and prints p50/p90/p99/max of create-response → Running-seen, the same split into
//! response → bound-seen and bound-seen → Running-seen, the achieved create rate, and the
//! cluster process's CPU time over the window. With `--kubeconfig` it uses a running
//! cluster instead (and deletes its namespace afterwards). See benches/README.md ("Pod
//! startup at 1000 sim nodes").

use std::collections::HashMap;
use std::error::Error;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::{Namespace, Node, Pod, ServiceAccount};
use kube::Api;
use kube::api::{DeleteParams, ListParams, PostParams, WatchEvent, WatchParams};
use serde_json::json;

type Res<T> = Result<T, Box<dyn Error + Send + Sync>>;

/// When each Pod was answered, first seen bound and first seen Running.
#[derive(Clone, Copy, Debug, Default)]
struct Seen {
    created: Option<Instant>,
    bound: Option<Instant>,
    running: Option<Instant>,
}

type Table = Arc<Mutex<HashMap<String, Seen>>>;

struct Args {
    nodes: usize,
    rate: f64,
    seconds: f64,
    refkube: Option<PathBuf>,
    kubeconfig: Option<PathBuf>,
}

fn usage() -> String {
    "usage: pod_startup NODES RATE SECONDS [--refkube PATH] [--kubeconfig FILE]".into()
}

fn parse_args() -> Res<Args> {
    let mut pos = Vec::new();
    let mut refkube = None;
    let mut kubeconfig = None;
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--refkube" => refkube = Some(PathBuf::from(it.next().ok_or_else(usage)?)),
            "--kubeconfig" => kubeconfig = Some(PathBuf::from(it.next().ok_or_else(usage)?)),
            _ => pos.push(a),
        }
    }
    let [nodes, rate, seconds] = pos.as_slice() else {
        return Err(usage().into());
    };
    Ok(Args {
        nodes: nodes.parse()?,
        rate: rate.parse()?,
        seconds: seconds.parse()?,
        refkube,
        kubeconfig,
    })
}

/// The cluster process this program started; killed on drop.
struct Cluster {
    child: Child,
    _dir: tempfile::TempDir,
    kubeconfig: PathBuf,
    audit: PathBuf,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_cluster(args: &Args) -> Res<Cluster> {
    let bin = match &args.refkube {
        Some(p) => p.clone(),
        None => {
            let me = std::env::current_exe()?;
            let dir = me
                .parent()
                .and_then(|d| d.parent())
                .ok_or("no target dir")?;
            dir.join("refkube")
        }
    };
    let dir = tempfile::tempdir()?;
    let mut child = Command::new(&bin)
        .args([
            "up",
            "--runtime",
            "sim",
            "--listen",
            "127.0.0.1:0",
            "--nodes",
        ])
        .arg(args.nodes.to_string())
        .arg("--state-dir")
        .arg(dir.path())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("starting {}: {e}", bin.display()))?;
    let stdout = child.stdout.take().ok_or("no cluster stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    let kubeconfig = dir.path().join("kubeconfig");
    let audit = dir.path().join("audit.log");
    let cluster = Cluster {
        child,
        _dir: dir,
        kubeconfig,
        audit,
    };
    loop {
        match lines.next() {
            Some(Ok(l)) if l.starts_with("refkube is ready") => break,
            Some(Ok(_)) => {}
            other => return Err(format!("refkube up did not start: {other:?}").into()),
        }
    }
    // Keep draining its stdout so that it never blocks on a full pipe.
    std::thread::spawn(move || lines.for_each(drop));
    Ok(cluster)
}

/// The CPU time (user + system) a process has used so far.
fn cpu_time(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = stat.rsplit_once(')')?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|s| s.parse::<u64>().ok());
    // utime and stime are the 14th and 15th fields: 12th and 13th after the name.
    Some(Duration::from_millis((ticks(11)? + ticks(12)?) * 10))
}

fn main() -> Res<()> {
    let args = parse_args()?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let started = Instant::now();
    let cluster = match &args.kubeconfig {
        Some(_) => None,
        None => Some(start_cluster(&args)?),
    };
    let path = match (&args.kubeconfig, &cluster) {
        (Some(p), _) => p.clone(),
        (None, Some(c)) => c.kubeconfig.clone(),
        (None, None) => return Err("no cluster".into()),
    };
    let pid = cluster.as_ref().map(|c| c.child.id());
    let audit = cluster.as_ref().map(|c| c.audit.clone());
    let outcome = rt.block_on(run(&args, &path, pid, audit, started));
    drop(cluster);
    outcome
}

async fn client(kubeconfig: &Path) -> Res<kube::Client> {
    let kc = kube::config::Kubeconfig::read_from(kubeconfig)?;
    let mut config =
        kube::Config::from_custom_kubeconfig(kc, &kube::config::KubeConfigOptions::default())
            .await?;
    // The measurement judges the server's own answers: no client-side retries.
    config.default_retry = false;
    config.read_timeout = Some(Duration::from_secs(300));
    Ok(kube::Client::try_from(config)?)
}

async fn run(
    args: &Args,
    kubeconfig: &Path,
    pid: Option<u32>,
    audit: Option<PathBuf>,
    t0: Instant,
) -> Res<()> {
    let client = client(kubeconfig).await?;
    wait_ready_nodes(&client, args.nodes).await?;
    println!(
        "cluster: {} nodes Ready after {:.1}s",
        args.nodes,
        t0.elapsed().as_secs_f64()
    );
    let ns = format!("startup-{}", std::process::id());
    let nsobj: Namespace = serde_json::from_value(json!({"metadata": {"name": ns}}))?;
    Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &nsobj)
        .await?;
    // Pods of a namespace are admitted once its default ServiceAccount exists.
    let sas: Api<ServiceAccount> = Api::namespaced(client.clone(), &ns);
    while sas.get_opt("default").await?.is_none() {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let pods: Api<Pod> = Api::namespaced(client.clone(), &ns);
    let table: Table = Arc::default();
    let rv = pods
        .list_metadata(&ListParams::default())
        .await?
        .metadata
        .resource_version
        .unwrap_or_default();
    let watch = tokio::spawn(watch_pods(pods.clone(), rv, table.clone()));
    // Let the watch settle before the clock starts.
    tokio::time::sleep(Duration::from_millis(500)).await;

    let n = (args.rate * args.seconds).round() as usize;
    let cpu0 = pid.and_then(cpu_time);
    let audit_from = audit
        .as_ref()
        .and_then(|a| std::fs::metadata(a).ok())
        .map_or(0, |m| m.len());
    let start = Instant::now();
    let mut creates = Vec::with_capacity(n);
    for i in 0..n {
        let due = start + Duration::from_secs_f64(i as f64 / args.rate);
        tokio::time::sleep_until(due.into()).await;
        creates.push(tokio::spawn(create(pods.clone(), i, table.clone())));
    }
    let mut failed = 0;
    let mut last_answer = start;
    for c in creates {
        match c.await? {
            Ok(at) => last_answer = last_answer.max(at),
            Err(e) => {
                failed += 1;
                if failed <= 3 {
                    eprintln!("create failed: {e}");
                }
            }
        }
    }
    let sent_in = start.elapsed();
    let deadline = Instant::now() + Duration::from_secs(120);
    let all_running = || {
        let t = table.lock().map(|t| t.clone()).unwrap_or_default();
        t.values()
            .filter(|s| s.created.is_some() && s.running.is_some())
            .count()
            >= n - failed
    };
    while !all_running() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let window = start.elapsed();
    let cpu1 = pid.and_then(cpu_time);
    watch.abort();
    report(
        args,
        &table,
        n,
        failed,
        last_answer - start,
        sent_in,
        window,
    );
    if let (Some(a), Some(b)) = (cpu0, cpu1) {
        let used = b.saturating_sub(a);
        println!(
            "cluster cpu: {:.1}s over {:.1}s ({:.0}% of one core)",
            used.as_secs_f64(),
            window.as_secs_f64(),
            100.0 * used.as_secs_f64() / window.as_secs_f64()
        );
    }
    if let Some(a) = &audit {
        requests(a, audit_from, window);
    }
    if pid.is_none() {
        Api::<Namespace>::all(client)
            .delete(&ns, &DeleteParams::default())
            .await?;
    }
    Ok(())
}

async fn wait_ready_nodes(client: &kube::Client, want: usize) -> Res<()> {
    let nodes: Api<Node> = Api::all(client.clone());
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let ready = nodes
            .list(&ListParams::default())
            .await
            .map(|l| {
                l.items
                    .iter()
                    .filter(|n| {
                        let conds = n.status.as_ref().and_then(|s| s.conditions.as_ref());
                        conds.is_some_and(|c| {
                            c.iter().any(|c| c.type_ == "Ready" && c.status == "True")
                        })
                    })
                    .count()
            })
            .unwrap_or(0);
        if ready >= want {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!("only {ready} of {want} nodes Ready after 600 s").into());
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

async fn create(pods: Api<Pod>, i: usize, table: Table) -> Res<Instant> {
    let name = format!("startup-{i}");
    let pod: Pod = serde_json::from_value(json!({
        "metadata": {"name": name, "labels": {"perf": "startup"}},
        "spec": {
            "terminationGracePeriodSeconds": 0,
            "containers": [{"name": "app", "image": "registry.k8s.io/pause:3.10"}]
        }
    }))?;
    pods.create(&PostParams::default(), &pod).await?;
    let at = Instant::now();
    if let Ok(mut t) = table.lock() {
        t.entry(name).or_default().created = Some(at);
    }
    Ok(at)
}

/// Notes when each Pod is first seen bound and first seen Running, re-watching from the
/// last resourceVersion when a watch ends.
async fn watch_pods(pods: Api<Pod>, mut rv: String, table: Table) -> Res<()> {
    loop {
        let mut stream = pods
            .watch(&WatchParams::default().timeout(290), &rv)
            .await?
            .boxed();
        while let Some(ev) = stream.try_next().await? {
            let pod = match ev {
                WatchEvent::Added(p) | WatchEvent::Modified(p) => p,
                WatchEvent::Bookmark(b) => {
                    rv = b.metadata.resource_version;
                    continue;
                }
                WatchEvent::Deleted(_) => continue,
                WatchEvent::Error(e) => return Err(format!("watch: {e:?}").into()),
            };
            let now = Instant::now();
            if let Some(v) = pod.metadata.resource_version.clone() {
                rv = v;
            }
            let bound = pod.spec.as_ref().is_some_and(|s| s.node_name.is_some());
            let running = pod
                .status
                .as_ref()
                .and_then(|s| s.phase.as_deref())
                .is_some_and(|p| p == "Running");
            let Some(name) = pod.metadata.name else {
                continue;
            };
            if let Ok(mut t) = table.lock() {
                let s = t.entry(name).or_default();
                if bound && s.bound.is_none() {
                    s.bound = Some(now);
                }
                if running && s.running.is_none() {
                    s.running = Some(now);
                }
            }
        }
    }
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[i.clamp(1, sorted.len()) - 1]
}

fn line(name: &str, mut v: Vec<f64>) {
    v.sort_by(f64::total_cmp);
    println!(
        "{name:<44} p50 {:>8.3}s  p90 {:>8.3}s  p99 {:>8.3}s  max {:>8.3}s  (n={})",
        pct(&v, 50.0),
        pct(&v, 90.0),
        pct(&v, 99.0),
        v.last().copied().unwrap_or(f64::NAN),
        v.len()
    );
}

fn report(
    args: &Args,
    table: &Table,
    n: usize,
    failed: usize,
    answered_in: Duration,
    sent_in: Duration,
    window: Duration,
) {
    let t = table.lock().map(|t| t.clone()).unwrap_or_default();
    let since = |a: Option<Instant>, b: Option<Instant>| -> Option<f64> {
        Some(b?.saturating_duration_since(a?).as_secs_f64())
    };
    let total: Vec<f64> = t
        .values()
        .filter_map(|s| since(s.created, s.running))
        .collect();
    let to_bound: Vec<f64> = t
        .values()
        .filter_map(|s| since(s.created, s.bound))
        .collect();
    let to_run: Vec<f64> = t
        .values()
        .filter_map(|s| since(s.bound, s.running))
        .collect();
    let running = total.len();
    let id = format!(
        "pod_startup/{}nodes/{}per_s/{}s",
        args.nodes, args.rate, args.seconds
    );
    println!(
        "{id}: {n} creates ({failed} failed) answered in {:.2}s (all sent in {:.2}s) = {:.1} creates/s achieved; {running} seen Running within {:.1}s",
        answered_in.as_secs_f64(),
        sent_in.as_secs_f64(),
        (n - failed) as f64 / answered_in.as_secs_f64().max(1e-9),
        window.as_secs_f64()
    );
    line(&format!("{id} create-response -> Running"), total);
    line("  create-response -> bound seen", to_bound);
    line("  bound seen -> Running seen", to_run);
}

/// The requests the cluster served during the window, by verb and resource, from its
/// audit log (the most frequent first).
fn requests(audit: &Path, from: u64, window: Duration) {
    let Ok(bytes) = std::fs::read(audit) else {
        return;
    };
    let tail = bytes.get(from as usize..).unwrap_or_default();
    let mut counts: HashMap<String, usize> = HashMap::new();
    for line in tail.split(|b| *b == b'\n') {
        let Ok(ev) = serde_json::from_slice::<serde_json::Value>(line) else {
            continue;
        };
        let o = &ev["objectRef"];
        let mut what = format!(
            "{} {}",
            ev["verb"].as_str().unwrap_or("?"),
            o["resource"].as_str().unwrap_or("-")
        );
        if let Some(sub) = o["subresource"].as_str() {
            what = format!("{what}/{sub}");
        }
        *counts.entry(what).or_default() += 1;
    }
    let mut counts: Vec<(String, usize)> = counts.into_iter().collect();
    counts.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let total: usize = counts.iter().map(|c| c.1).sum();
    let secs = window.as_secs_f64().max(1e-9);
    println!(
        "requests in the window: {total} ({:.0}/s)",
        total as f64 / secs
    );
    for (what, n) in counts.iter().take(12) {
        println!("  {what:<40} {n:>7} ({:.0}/s)", *n as f64 / secs);
    }
}
