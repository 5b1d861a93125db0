//! The scheduler end to end, as upstream's scheduler_perf measures it: nodes and pods
//! created through the reference API server, the reference scheduler binding them
//! through `pods/binding`, throughput in pods/s (see `kubeproof_benches::sched_perf`).
//! Not a criterion bench (one run takes seconds to minutes); the output mimics
//! criterion's, and the median is written to `target/bench-figures/scheduler_e2e.json`
//! for `bench-compare`.
//!
//! Run: `cargo bench -p kubeproof-benches --bench scheduler_e2e -- [--quick] [--runs N]
//! [FILTER]`; `--quick` shrinks every workload to 100 nodes and runs it once.

use kubeproof_benches::figures::{self, Figure};
use kubeproof_benches::runtime;
use kubeproof_benches::sched_perf::{self, Workload};
use refkube_scheduler::SchedulerConfig;

struct Args {
    quick: bool,
    runs: usize,
    filter: Option<String>,
}

fn args() -> Args {
    let mut a = Args {
        quick: false,
        runs: 3,
        filter: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--quick" => a.quick = true,
            "--runs" => a.runs = it.next().and_then(|n| n.parse().ok()).unwrap_or(3).max(1),
            // Criterion's flags (bench-compare passes them to every bench): skip them
            // and their values.
            "--warm-up-time"
            | "--measurement-time"
            | "--sample-size"
            | "--save-baseline"
            | "--baseline"
            | "--noise-threshold"
            | "--significance-level" => {
                it.next();
            }
            s if s.starts_with('-') => {}
            s => a.filter = Some(s.to_string()),
        }
    }
    if std::env::var_os("KUBEPROOF_BENCH_QUICK").is_some() {
        a.quick = true;
    }
    if a.quick {
        a.runs = 1;
    }
    a
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = args();
    let rt = runtime()?;
    for w in sched_perf::workloads() {
        if args
            .filter
            .as_ref()
            .is_some_and(|f| !w.id.contains(f.as_str()))
        {
            continue;
        }
        let w: Workload = if args.quick { w.quick() } else { w };
        let mut rates = Vec::new();
        for _ in 0..args.runs {
            let config = SchedulerConfig::default().without_leader_election();
            let out = rt.block_on(sched_perf::run(&w, config))?;
            eprintln!(
                "  run: {:.0} pods/s ({} pods created in {:.2} s, all bound after {:.2} s)",
                out.pods_per_second, w.measure_pods, out.create_seconds, out.total_seconds
            );
            rates.push(out.pods_per_second);
        }
        rates.sort_by(f64::total_cmp);
        let median = rates[rates.len() / 2];
        let upstream = w
            .upstream_threshold
            .map_or(String::new(), |t| format!("; upstream threshold {t:.0}"));
        println!(
            "scheduler_e2e/{:<48} thrpt: [{:.1} {:.1} {:.1}] pods/s ({} runs, {} nodes{}{})",
            w.id,
            rates[0],
            median,
            rates[rates.len() - 1],
            rates.len(),
            w.nodes,
            upstream,
            if args.quick {
                ", QUICK: not comparable"
            } else {
                ""
            },
        );
        figures::write(
            "scheduler_e2e",
            &format!("scheduler_e2e/{}", w.id),
            Figure {
                value: median,
                unit: "pods/s".into(),
                higher_is_better: true,
                quick: args.quick,
                written_at: figures::now(),
            },
        )?;
    }
    Ok(())
}
