//! The `netns` pod network on real namespaces: the containers of a pod share one network
//! and UTS namespace (localhost, hostname), pods on different nodes reach each other by
//! IP through their veths, a container started again in the sandbox is in the same
//! namespace, removing the sandbox removes its veth, and each pod's mount namespace
//! shows its own volume (its token) at the mount path and hides the others'.
//!
//! Needs root. Each test moves its own thread into a fresh network namespace first, so
//! nothing it creates touches the machine's network. Without root: fails when `CI` is
//! set, otherwise prints SKIPPED and passes.
#![allow(clippy::unwrap_used)]

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use refkube_kubelet::logs::ContainerLog;
use refkube_kubelet::network::{self, PodNetwork, ptp};
use refkube_kubelet::runtime::process::ProcessRuntime;
use refkube_kubelet::runtime::{ContainerConfig, Mount, Runtime, SandboxConfig};
use tokio::sync::Notify;

/// Moves this thread into a new network namespace with `lo` up and forwarding on; false
/// (after saying why) when this machine cannot.
fn isolated() -> bool {
    if let Err(e) = network::preflight() {
        assert!(
            std::env::var_os("CI").is_none(),
            "the netns pod network tests cannot run in CI: {e}"
        );
        eprintln!("SKIPPED: the netns pod network tests: {e}");
        return false;
    }
    nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET).unwrap();
    let up = std::process::Command::new("ip")
        .args(["link", "set", "lo", "up"])
        .status()
        .unwrap();
    assert!(up.success());
    network::enable_forwarding().unwrap();
    true
}

fn runtime() -> ProcessRuntime {
    let agnhost = PathBuf::from(env!("CARGO_BIN_EXE_agnhost"));
    ProcessRuntime::new(vec![agnhost]).with_network(PodNetwork::Netns)
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

async fn sandbox(rt: &ProcessRuntime, name: &str, pod_ip: &str, gateway: &str) -> String {
    sandbox_with(rt, name, pod_ip, gateway, vec![], vec![]).await
}

/// A sandbox whose mount namespace has `mounts` and covers `masked`.
async fn sandbox_with(
    rt: &ProcessRuntime,
    name: &str,
    pod_ip: &str,
    gateway: &str,
    mounts: Vec<Mount>,
    masked: Vec<PathBuf>,
) -> String {
    rt.run_pod_sandbox(&SandboxConfig {
        uid: format!("uid-{name}"),
        name: name.into(),
        namespace: "default".into(),
        hostname: name.into(),
        ip: ip(pod_ip),
        gateway: Some(ip(gateway)),
        host_network: false,
        annotations: Default::default(),
        mounts,
        masked,
    })
    .await
    .unwrap()
}

/// An agnhost container running `args`.
fn agnhost(name: &str, args: &[&str]) -> ContainerConfig {
    ContainerConfig {
        name: name.into(),
        image: "registry.k8s.io/e2e-test-images/agnhost:2.53".into(),
        command: vec![],
        args: args.iter().map(|a| a.to_string()).collect(),
        env: vec![],
        working_dir: None,
        log: Arc::new(ContainerLog::new(100)),
        on_exit: Arc::new(Notify::new()),
        stdio: Default::default(),
    }
}

async fn start(rt: &ProcessRuntime, sandbox: &str, name: &str, args: &[&str]) -> String {
    let id = rt
        .create_container(sandbox, agnhost(name, args))
        .await
        .unwrap();
    rt.start_container(&id).await.unwrap();
    id
}

/// Runs `agnhost args` inside `container`'s namespaces; its exit code and output.
async fn exec(rt: &ProcessRuntime, container: &str, args: &[&str]) -> (i32, String) {
    let mut cmd = vec![env!("CARGO_BIN_EXE_agnhost").to_string()];
    cmd.extend(args.iter().map(|a| a.to_string()));
    let r = rt
        .exec_sync(container, &cmd, Duration::from_secs(10))
        .await
        .unwrap();
    (r.exit_code, r.output)
}

/// Retries `agnhost connect dest` from inside `container` until the server is up.
async fn connects(rt: &ProcessRuntime, container: &str, dest: &str) -> bool {
    for _ in 0..100 {
        if exec(rt, container, &["connect", dest, "--timeout", "1s"])
            .await
            .0
            == 0
        {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

async fn tcp_connects(addr: &str) -> bool {
    tokio::time::timeout(Duration::from_secs(2), tokio::net::TcpStream::connect(addr))
        .await
        .is_ok_and(|r| r.is_ok())
}

#[tokio::test]
async fn containers_of_a_pod_share_localhost_and_the_hostname() {
    if !isolated() {
        return;
    }
    let rt = runtime();
    let pod = sandbox(&rt, "duo", "10.77.1.2", "10.77.1.1").await;
    start(
        &rt,
        &pod,
        "front",
        &["netexec", "--http-port=8080", "--udp-port=-1"],
    )
    .await;
    let back = start(&rt, &pod, "back", &["pause"]).await;
    assert!(
        connects(&rt, &back, "127.0.0.1:8080").await,
        "the back container did not reach the front one on localhost"
    );
    let (code, out) = exec(&rt, &back, &["exec", "--", "hostname"]).await;
    assert_eq!((code, out.trim()), (0, "duo"));
    // localhost is the pod's own: from the machine, 127.0.0.1:8080 is someone else's,
    // while the pod IP reaches the pod through its veth.
    assert!(!tcp_connects("127.0.0.1:8080").await);
    assert!(tcp_connects("10.77.1.2:8080").await);
}

#[tokio::test]
async fn pods_on_different_nodes_reach_each_other_by_ip_on_the_same_port() {
    if !isolated() {
        return;
    }
    let rt = runtime();
    let left = sandbox(&rt, "left", "10.77.1.2", "10.77.1.1").await;
    let right = sandbox(&rt, "right", "10.77.2.2", "10.77.2.1").await;
    // Both bind 0.0.0.0:8080: each in its own namespace, so neither collides.
    let l = start(
        &rt,
        &left,
        "web",
        &["netexec", "--http-port=8080", "--udp-port=-1"],
    )
    .await;
    let r = start(
        &rt,
        &right,
        "web",
        &["netexec", "--http-port=8080", "--udp-port=-1"],
    )
    .await;
    assert!(connects(&rt, &l, "10.77.2.2:8080").await, "left -> right");
    assert!(connects(&rt, &r, "10.77.1.2:8080").await, "right -> left");
}

#[tokio::test]
async fn a_container_started_again_keeps_the_pod_ip_and_the_sandbox_takes_its_veth_along() {
    if !isolated() {
        return;
    }
    let rt = runtime();
    let pod = sandbox(&rt, "phoenix", "10.77.1.9", "10.77.1.1").await;
    let first = start(
        &rt,
        &pod,
        "web",
        &["netexec", "--http-port=8080", "--udp-port=-1"],
    )
    .await;
    let helper = start(&rt, &pod, "helper", &["pause"]).await;
    assert!(connects(&rt, &helper, "10.77.1.9:8080").await);
    rt.stop_container(&first, Duration::from_secs(5))
        .await
        .unwrap();
    start(
        &rt,
        &pod,
        "web",
        &["netexec", "--http-port=8080", "--udp-port=-1"],
    )
    .await;
    assert!(
        connects(&rt, &helper, "127.0.0.1:8080").await,
        "the restarted container is not in the pod's namespace"
    );
    assert!(tcp_connects("10.77.1.9:8080").await);

    let veth = ptp::host_interface(&pod);
    let exists = |name: &str| {
        std::process::Command::new("ip")
            .args(["link", "show", name])
            .output()
            .unwrap()
            .status
            .success()
    };
    assert!(exists(&veth), "{veth} should exist while the pod runs");
    rt.remove_pod_sandbox(&pod).await.unwrap();
    let mut gone = false;
    for _ in 0..100 {
        if !exists(&veth) {
            gone = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(gone, "{veth} outlived its sandbox");
}

/// The pause process of the sandbox whose pod is called `hostname` (its environment
/// says so), among this test process's children.
fn pause_of(hostname: &str) -> Option<i32> {
    let me = std::process::id().to_string();
    let wanted = format!("HOSTNAME={hostname}");
    std::fs::read_dir("/proc")
        .ok()?
        .flatten()
        .find_map(|entry| {
            let pid: i32 = entry.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(entry.path().join("stat")).ok()?;
            let ppid = stat.rsplit(')').next()?.split_whitespace().nth(1)?;
            let environ = std::fs::read(entry.path().join("environ")).ok()?;
            let has_name = environ
                .split(|b| *b == 0)
                .any(|var| var == wanted.as_bytes());
            (ppid == me && has_name).then_some(pid)
        })
}

#[tokio::test]
async fn no_container_joins_the_namespaces_of_a_pause_process_that_is_gone() {
    if !isolated() {
        return;
    }
    let rt = runtime();
    let pod = sandbox(&rt, "orphaned", "10.77.1.3", "10.77.1.1").await;
    let pause = pause_of("orphaned").expect("the sandbox's pause process");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pause),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    let mut refused = None;
    for _ in 0..200 {
        let id = rt
            .create_container(&pod, agnhost("late", &["pause"]))
            .await
            .unwrap();
        match rt.start_container(&id).await {
            Err(e) => {
                refused = Some(e.to_string());
                break;
            }
            // Not reaped yet: stop that one and try again.
            Ok(()) => rt
                .stop_container(&id, Duration::from_secs(1))
                .await
                .unwrap(),
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let refused = refused.expect("containers still started in a dead sandbox");
    assert!(refused.contains("pause process has exited"), "{refused}");
}

const SA_PATH: &str = "/var/run/secrets/kubernetes.io/serviceaccount";

#[tokio::test]
async fn each_pod_sees_its_own_token_read_only_and_no_other_pods() {
    if !isolated() {
        return;
    }
    let root = tempfile::tempdir().unwrap();
    let pods = root.path().join("pods");
    let dir = |pod: &str| {
        pods.join(pod)
            .join("volumes/kubernetes.io~projected/kube-api-access-x")
    };
    for pod in ["alpha", "beta"] {
        std::fs::create_dir_all(dir(pod)).unwrap();
        std::fs::write(dir(pod).join("token"), format!("token-{pod}")).unwrap();
    }
    let mount = |pod: &str| Mount {
        host_path: dir(pod),
        container_path: SA_PATH.into(),
        read_only: true,
    };
    let rt = runtime();
    let mut containers = Vec::new();
    for (pod, ip) in [("alpha", "10.77.1.4"), ("beta", "10.77.1.5")] {
        let sb = sandbox_with(
            &rt,
            pod,
            ip,
            "10.77.1.1",
            vec![mount(pod)],
            vec![pods.clone()],
        )
        .await;
        containers.push(start(&rt, &sb, "main", &["pause"]).await);
    }
    let token = format!("{SA_PATH}/token");
    let cat = |c: &str| {
        let (rt, c, token) = (&rt, c.to_string(), token.clone());
        async move { exec(rt, &c, &["exec", "--", "cat", &token]).await }
    };
    assert_eq!(cat(&containers[0]).await, (0, "token-alpha".to_string()));
    assert_eq!(cat(&containers[1]).await, (0, "token-beta".to_string()));
    // The kubelet's pod directories, where every token lives, are covered.
    let pods_dir = pods.display().to_string();
    let (code, listing) = exec(&rt, &containers[0], &["exec", "--", "ls", "-A", &pods_dir]).await;
    assert_eq!((code, listing.trim()), (0, ""));
    // Read-only inside; renewed from outside.
    let (code, _) = exec(
        &rt,
        &containers[0],
        &["exec", "--", "touch", &format!("{SA_PATH}/x")],
    )
    .await;
    assert_ne!(code, 0, "the token directory is writable from the pod");
    let fresh = dir("alpha").join(".token.tmp");
    std::fs::write(&fresh, "token-alpha-2").unwrap();
    std::fs::rename(&fresh, dir("alpha").join("token")).unwrap();
    assert_eq!(cat(&containers[0]).await, (0, "token-alpha-2".to_string()));
    // Nothing of this is mounted on the machine itself.
    assert_ne!(
        std::fs::read_to_string(&token).ok().as_deref(),
        Some("token-alpha-2")
    );
}
