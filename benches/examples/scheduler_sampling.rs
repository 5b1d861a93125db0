//! What one scheduling decision costs at a given `percentageOfNodesToScore`, as a
//! program small enough for `valgrind --tool=callgrind`, whose instruction counts are
//! repeatable on a shared machine where wall-clock timings are not.
//!
//! `scheduler_sampling NODES PODS PERCENT` builds the `schedule_one` bench's cluster of
//! NODES nodes (10 pods each) and runs `Algorithm::schedule_pod` for PODS copies of its
//! incoming pod, none of them assumed, so every pod sees the same cluster and only the
//! rotating start index moves. PERCENT 0 is upstream's adaptive default; 100 scores
//! every feasible node. Cost per pod = (count with PODS − count with 0 pods) / PODS.
//! See benches/README.md ("Node sampling").

use std::error::Error;

use kubeproof_benches::scheduling::{cluster, incoming_pod};
use rand::SeedableRng;
use rand::rngs::StdRng;
use refkube_scheduler::registry::default_framework;
use refkube_scheduler::schedule_one::Algorithm;

fn arg(args: &[String], i: usize, name: &str) -> Result<usize, Box<dyn Error>> {
    let raw = args
        .get(i)
        .ok_or_else(|| format!("usage: scheduler_sampling NODES PODS PERCENT (missing {name})"))?;
    Ok(raw.parse().map_err(|e| format!("{name} {raw:?}: {e}"))?)
}

fn main() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().collect();
    let nodes = arg(&args, 1, "NODES")?;
    let pods = arg(&args, 2, "PODS")?;
    let percent = u32::try_from(arg(&args, 3, "PERCENT")?)?;
    let snap = cluster(nodes)?;
    let pod = incoming_pod()?;
    let mut algo = Algorithm::new(default_framework(), Some(percent));
    let mut rng = StdRng::seed_from_u64(42);
    let (mut evaluated, mut feasible) = (0, 0);
    for _ in 0..pods {
        let r = algo.schedule_pod(&pod, &snap, &mut rng)?;
        evaluated += r.evaluated_nodes;
        feasible += r.feasible_nodes;
    }
    println!(
        "nodes={nodes} pods={pods} percent={percent}: {evaluated} nodes filtered, \
         {feasible} scored in all"
    );
    Ok(())
}
