//! The `scheduler_e2e` bench's pipeline (API server, scheduler, `pods/binding`) as a
//! program small enough for `valgrind --tool=callgrind`, whose instruction counts are
//! repeatable on a shared machine where wall-clock timings are not.
//!
//! `scheduler_e2e_count NODES INIT MEASURED` runs one `SchedulingBasic` run of that size
//! in this process (API server and scheduler together). Cost per scheduled pod =
//! (count with MEASURED pods − count with 0) / MEASURED: the API server's create, bind
//! and watch fan-out plus the scheduler's decode, decision and bind. See
//! benches/README.md ("Scheduler end to end").

use std::error::Error;

use kubeproof_benches::runtime;
use kubeproof_benches::sched_perf::{self, Shape, Workload};
use refkube_scheduler::SchedulerConfig;

fn arg(args: &[String], i: usize, name: &str) -> Result<usize, Box<dyn Error>> {
    let raw = args.get(i).ok_or_else(|| {
        format!("usage: scheduler_e2e_count NODES INIT MEASURED (missing {name})")
    })?;
    Ok(raw.parse().map_err(|e| format!("{name} {raw:?}: {e}"))?)
}

fn main() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().collect();
    let w = Workload {
        id: "SchedulingBasic/count",
        shape: Shape::Basic,
        nodes: arg(&args, 1, "NODES")?,
        init_pods: arg(&args, 2, "INIT")?,
        measure_pods: arg(&args, 3, "MEASURED")?,
        upstream_threshold: None,
    };
    let config = SchedulerConfig::default().without_leader_election();
    let out = runtime()?.block_on(sched_perf::run(&w, config))?;
    println!(
        "nodes={} init={} measured={}: {:.0} pods/s, created in {:.2} s, all bound after {:.2} s",
        w.nodes,
        w.init_pods,
        w.measure_pods,
        out.pods_per_second,
        out.create_seconds,
        out.total_seconds
    );
    Ok(())
}
