//! What the API server spends per watch delivery, as two processes so that only the
//! server's work is counted: the server runs alone (under `valgrind --tool=callgrind`
//! if asked) and a load client in this process opens raw HTTP watches and writes.
//!
//! `watch_fanout_count WATCHERS UPDATES MODE [WRAPPER...]` starts
//! `[WRAPPER...] <this program> serve` (an in-process API server on a memory store),
//! creates ConfigMap `fanout/hot`, opens WATCHERS plain JSON watches on namespace
//! `fanout` over HTTP/1.1, then PATCHes the ConfigMap UPDATES times and checks that every
//! watcher received every MODIFIED event. MODE `lockstep` waits for all watchers to
//! have each update before the next write (what `watch_fanout/N` times); `rate:R` writes
//! R updates per second without waiting (what the load client does). At exit the
//! server prints its CPU time and its count of write syscalls (`/proc/self/io` `syscw`).
//! Cost per delivery = (count with UPDATES − count with 0) / (WATCHERS × UPDATES).
//! See benches/README.md ("Watch fan-out, counted").

use std::error::Error;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures::StreamExt;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::Api;
use kube::api::{Patch, PatchParams, PostParams};
use kubeproof_benches::objects;
use refkube_apiserver::{ApiServer, ApiServerConfig};
use refkube_store::MemoryStore;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

type Res<T> = Result<T, Box<dyn Error + Send + Sync>>;

const MARK: &[u8] = b"\"MODIFIED\"";

fn usage() -> String {
    "usage: watch_fanout_count WATCHERS UPDATES lockstep|rate:R [WRAPPER...] | serve".into()
}

fn main() -> Res<()> {
    let args: Vec<String> = std::env::args().collect();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    if args.get(1).map(String::as_str) == Some("serve") {
        return rt.block_on(serve());
    }
    let watchers: usize = args.get(1).ok_or_else(usage)?.parse()?;
    let updates: usize = args.get(2).ok_or_else(usage)?.parse()?;
    let mode = args.get(3).ok_or_else(usage)?.clone();
    let rate = match mode.strip_prefix("rate:") {
        Some(r) => Some(r.parse::<f64>()?),
        None if mode == "lockstep" => None,
        None => return Err(usage().into()),
    };
    let me = std::env::current_exe()?;
    let mut cmd = match args.get(4) {
        Some(w) => {
            let mut c = Command::new(w);
            c.args(&args[5..]).arg(&me);
            c
        }
        None => Command::new(&me),
    };
    let mut child = cmd
        .arg("serve")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()?;
    let stdout = child.stdout.take().ok_or("no server stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    let url = lines.next().ok_or("server printed no URL")??;
    let outcome = rt.block_on(drive(&url, watchers, updates, rate));
    // Closing stdin tells the server to report and exit.
    drop(child.stdin.take());
    for line in lines {
        println!("server: {}", line?);
    }
    child.wait()?;
    let (elapsed, lat) = outcome?;
    println!(
        "client: {watchers} watchers x {updates} updates ({mode}) delivered in {:.2}s",
        elapsed.as_secs_f64()
    );
    if let Some(l) = lat {
        println!("client: write-response to last watcher, p50 {l:?}");
    }
    Ok(())
}

/// The server side: prints its URL, serves until stdin closes, then prints its CPU
/// time and write syscalls.
async fn serve() -> Res<()> {
    let config = ApiServerConfig::default()
        .listen(([127, 0, 0, 1], 0).into())
        .compaction_interval(None);
    let server = ApiServer::bind(config, Arc::new(MemoryStore::new())).await?;
    println!("{}", server.url());
    std::io::stdout().flush()?;
    tokio::task::spawn_blocking(|| {
        let mut sink = String::new();
        while std::io::stdin()
            .read_line(&mut sink)
            .map(|n| n > 0)
            .unwrap_or(false)
        {}
    })
    .await?;
    let stat = std::fs::read_to_string("/proc/self/stat")?;
    // Fields after the command's closing parenthesis: utime is the 12th, stime the 13th.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|s| s.parse::<u64>().ok()).unwrap_or(0);
    println!("cpu_user_ms {}", ticks(11) * 10);
    println!("cpu_sys_ms {}", ticks(12) * 10);
    let io = std::fs::read_to_string("/proc/self/io").unwrap_or_default();
    for l in io
        .lines()
        .filter(|l| l.starts_with("syscw") || l.starts_with("syscr"))
    {
        println!("{l}");
    }
    std::io::stdout().flush()?;
    server.shutdown().await;
    Ok(())
}

/// Opens the watches, writes, and waits until every watcher has every update.
async fn drive(
    url: &str,
    watchers: usize,
    updates: usize,
    rate: Option<f64>,
) -> Res<(Duration, Option<Duration>)> {
    let client = kube::Client::try_from(kube::Config::new(url.parse()?))?;
    let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": "fanout"}}))?;
    Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &ns)
        .await?;
    let api: Api<ConfigMap> = Api::namespaced(client, "fanout");
    let cm: ConfigMap = serde_json::from_value(objects::config_map("fanout", "hot"))?;
    let rv = api
        .create(&PostParams::default(), &cm)
        .await?
        .metadata
        .resource_version
        .unwrap_or_default();
    let addr = url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();
    let seen: Arc<Vec<AtomicU64>> = Arc::new((0..watchers).map(|_| AtomicU64::new(0)).collect());
    let conns: Vec<TcpStream> = futures::stream::iter(0..watchers)
        .map(|_| open(&addr, &rv))
        .buffer_unordered(64)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<_, _>>()?;
    let mut readers = Vec::new();
    for (i, c) in conns.into_iter().enumerate() {
        readers.push(tokio::spawn(read_events(c, seen.clone(), i)));
    }
    let start = Instant::now();
    let all_have = |n: u64| seen.iter().all(|s| s.load(Ordering::Relaxed) >= n);
    let mut lat = Vec::new();
    for i in 0..updates {
        let patch = json!({"data": {"n": i.to_string()}});
        api.patch("hot", &PatchParams::default(), &Patch::Merge(&patch))
            .await?;
        match rate {
            None => {
                let t = Instant::now();
                while !all_have(i as u64 + 1) {
                    tokio::time::sleep(Duration::from_micros(200)).await;
                }
                lat.push(t.elapsed());
            }
            Some(r) => {
                let due = start + Duration::from_secs_f64((i + 1) as f64 / r);
                tokio::time::sleep_until(due.into()).await;
            }
        }
    }
    let deadline = Instant::now() + Duration::from_secs(600);
    while !all_have(updates as u64) {
        if Instant::now() > deadline {
            return Err("watchers did not receive every update in 600 s".into());
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let elapsed = start.elapsed();
    for r in readers {
        r.abort();
    }
    lat.sort();
    let extra = seen
        .iter()
        .filter(|s| s.load(Ordering::Relaxed) != updates as u64)
        .count();
    if extra > 0 {
        return Err(format!("{extra} watchers saw more events than were written").into());
    }
    Ok((elapsed, lat.get(lat.len() / 2).copied()))
}

/// One raw HTTP/1.1 watch request; returns once the response head has been read.
async fn open(addr: &str, rv: &str) -> Res<TcpStream> {
    let mut s = TcpStream::connect(addr).await?;
    s.set_nodelay(true)?;
    let req = format!(
        "GET /api/v1/namespaces/fanout/configmaps?watch=true&resourceVersion={rv}&timeoutSeconds=3000 HTTP/1.1\r\nHost: {addr}\r\nAccept: application/json\r\n\r\n"
    );
    s.write_all(req.as_bytes()).await?;
    Ok(s)
}

/// Counts MODIFIED frames on one watch (a marker split across reads is carried over).
async fn read_events(mut s: TcpStream, seen: Arc<Vec<AtomicU64>>, i: usize) -> Res<()> {
    let mut buf = vec![0u8; 64 * 1024];
    let mut carry = Vec::new();
    loop {
        let n = s.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        carry.extend_from_slice(&buf[..n]);
        let hits = carry.windows(MARK.len()).filter(|w| *w == MARK).count();
        if let Some(counter) = seen.get(i) {
            counter.fetch_add(hits as u64, Ordering::Relaxed);
        }
        let keep = carry.len().min(MARK.len() - 1);
        carry.drain(..carry.len() - keep);
    }
}
