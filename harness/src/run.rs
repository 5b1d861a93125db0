//! One run of the suite: plan, run every scenario on the target, write the reports.
//!
//! Entry point: [`run`]. The binary and `tests/conformance.rs` both call it.

use std::fs::File;
use std::io::{self, Write};
use std::sync::{Arc, Mutex};

use anyhow::Context as _;
use cucumber::runner::basic::ScenarioType;
use cucumber::{World as _, WriterExt as _, cli, writer};
use futures::FutureExt as _;

use crate::config::RunConfig;
use crate::context::RunContext;
use crate::perf::{PerfStore, embed, file::PerfFile};
use crate::plan::{PlanError, PlannedParser, Planner, SKIPPED_TAG, ScenarioKey};
use crate::report::{Results, collector::Collector, html, perf_table, table};
use crate::targets::{SessionNeeds, Target, requirements};
use crate::world::KubeWorld;

fn output(path: Option<&std::path::Path>) -> anyhow::Result<Box<dyn Write>> {
    Ok(match path {
        Some(p) => Box::new(File::create(p).with_context(|| format!("creating {}", p.display()))?),
        None => Box::new(io::sink()),
    })
}

/// What the user selected, in words, for the error when nothing matches.
fn selection(config: &RunConfig) -> String {
    match (&config.tags, &config.name) {
        (Some(t), Some(n)) => format!("the tags {t:?} and the name {n:?}"),
        (Some(t), None) => format!("the tags {t:?}"),
        (None, Some(n)) => format!("the name {n:?}"),
        (None, None) => "anything (the directory holds no scenario)".into(),
    }
}

/// Runs the features in `config.features` on `target` and returns what happened. The
/// reports named in `config` are written; the caller decides the exit code
/// ([`Results::failed`]). A selection that matches no scenario is an error
/// ([`PlanError::NothingSelected`]), not an empty success.
pub async fn run(config: RunConfig, target: Arc<dyn Target>) -> anyhow::Result<Results> {
    let features = config
        .features
        .canonicalize()
        .with_context(|| format!("features directory {}", config.features.display()))?;
    let planner = Arc::new(Planner::new(
        target.clone(),
        config.tags.as_deref(),
        config.name.as_deref(),
        config.include_slow,
    )?);
    let ctx = RunContext::new(
        target.clone(),
        config.timings.clone(),
        planner.skips.clone(),
        Arc::new(PerfStore::new(config.perf_scale)),
    );
    let results = Arc::new(Mutex::new(Results {
        target: target.name().to_string(),
        ..Results::default()
    }));
    let collector = Collector::new(
        ctx.clone(),
        results.clone(),
        features.display().to_string(),
        config.print,
    );
    let writer = collector
        .tee::<KubeWorld, _>(writer::JUnit::for_tee(output(config.junit.as_deref())?, 0))
        .tee::<KubeWorld, _>(writer::Json::for_tee(output(config.json.as_deref())?))
        // A step without a definition is a defect in the suite: fail it. Scenarios the plan
        // skipped (with their reason) stay skipped.
        .fail_on_skipped_with(|_, _, sc: &cucumber::gherkin::Scenario| {
            !sc.tags.iter().any(|t| t == SKIPPED_TAG)
        })
        .normalized();
    let (before_ctx, after_ctx) = (ctx.clone(), ctx.clone());
    KubeWorld::cucumber::<std::path::PathBuf>()
        .with_parser(PlannedParser::new(planner.clone()))
        .with_writer(writer)
        .with_cli(cli::Opts::<_, _, _, cli::Empty>::default())
        .max_concurrent_scenarios(config.concurrency.max(1))
        // Disruptive scenarios change cluster-wide state (fake nodes attract other
        // scenarios' Pods, stopped components stop everyone's): run them one at a time.
        .which_scenario(|feature, rule, scenario| {
            let tags = feature
                .tags
                .iter()
                .chain(rule.iter().flat_map(|r| r.tags.iter()))
                .chain(scenario.tags.iter());
            let exclusive = !scenario.tags.iter().any(|t| t == SKIPPED_TAG)
                && tags.into_iter().any(|t| t == "serial" || t == "disruptive");
            if exclusive {
                ScenarioType::Serial
            } else {
                ScenarioType::Concurrent
            }
        })
        .before(move |_feature, rule, scenario, world| {
            let ctx = before_ctx.clone();
            let skipped = scenario.tags.iter().any(|t| t == SKIPPED_TAG);
            let tags: Vec<String> = rule
                .map(|r| r.tags.clone())
                .unwrap_or_default()
                .into_iter()
                .chain(_feature.tags.iter().cloned())
                .chain(scenario.tags.iter().cloned())
                .collect();
            let needs = SessionNeeds::from_capabilities(&requirements(&tags));
            async move {
                if skipped {
                    return;
                }
                if let Err(e) = world.setup(ctx, needs).await {
                    panic!("{e:#}");
                }
            }
            .boxed_local()
        })
        .after(move |feature, _rule, scenario, _finished, world| {
            let key = ScenarioKey::of(feature, scenario);
            let ctx = after_ctx.clone();
            async move {
                if let Some(world) = world {
                    ctx.perf.finish(&world.namespace, key.clone());
                    world.teardown(key).await;
                }
            }
            .boxed_local()
        })
        .filter_run(features.clone(), |_, _, _| true)
        .await;
    target.shutdown().await;
    let results = results
        .lock()
        .map(|r| r.clone())
        .map_err(|_| anyhow::anyhow!("the results were poisoned by a panic"))?;
    if planner.selected_count() == 0 && results.parse_errors.is_empty() {
        return Err(PlanError::NothingSelected {
            features: features.display().to_string(),
            selection: selection(&config),
        }
        .into());
    }
    if let Some(p) = &config.json {
        embed::embed(p, &results)?;
    }
    if let Some(p) = &config.perf_json {
        PerfFile::from_results(&results, config.perf_scale).write(p)?;
    }
    if let Some(p) = &config.html {
        std::fs::write(p, html::render(&results))
            .with_context(|| format!("writing {}", p.display()))?;
    }
    if config.print {
        println!("{}", table::render(&results));
        print!("{}", perf_table::render(&results));
    }
    Ok(results)
}
