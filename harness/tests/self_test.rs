//! Tests of the harness itself: a deliberately broken API makes the matching scenarios
//! fail with a readable message; targets that lack what a scenario needs skip it with the
//! reason, never pass it.
//!
//! Entry point: `cargo test -p kubeproof --test self_test`.

use std::sync::Arc;

use kubeproof::report::Status;
use kubeproof::targets::embedded::{Components, EmbeddedConfig, EmbeddedTarget};
use kubeproof::targets::faulty::FaultyTarget;
use kubeproof::targets::{Capability, Session, SessionNeeds, Target, TargetError};
use kubeproof::{RunConfig, Timings};

fn config(name: &str) -> RunConfig {
    RunConfig::default()
        .timings(Timings::fast())
        .name(name)
        .print(false)
}

#[tokio::test(flavor = "multi_thread")]
async fn an_api_server_that_drops_labels_fails_the_selector_scenario_with_a_readable_message() {
    let embedded: Arc<dyn Target> = Arc::new(EmbeddedTarget::new(EmbeddedConfig::default()));
    let faulty = Arc::new(FaultyTarget::dropping_label(embedded, "tier"));
    let results = kubeproof::run(
        config("^Lists return exactly the objects of the namespace"),
        faulty,
    )
    .await
    .expect("the run itself works");
    assert_eq!(results.scenarios.len(), 1, "{results:#?}");
    let s = &results.scenarios[0];
    assert_eq!(s.status, Status::Failed, "{s:#?}");
    let message = s.message.as_deref().unwrap_or_default();
    assert!(
        message.contains(
            r#"listing ConfigMaps labelled "tier" returned [], expected ["back", "front"]"#
        ),
        "the failure should say what was listed and what was expected:\n{message}"
    );
    assert!(
        message.contains("--- ConfigMaps  as it is now ---") && message.contains("name: front"),
        "the failure should show the objects as observed:\n{message}"
    );
    assert!(results.failed());
}

#[tokio::test(flavor = "multi_thread")]
async fn the_same_scenario_passes_on_the_unbroken_reference() {
    let embedded = Arc::new(EmbeddedTarget::new(EmbeddedConfig::default()));
    let results = kubeproof::run(
        config("^Lists return exactly the objects of the namespace"),
        embedded,
    )
    .await
    .expect("the run itself works");
    assert_eq!(results.counts(), (1, 0, 0), "{results:#?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn scenarios_needing_a_missing_component_are_skipped_with_the_reason() {
    // An API server alone: the Deployment chain needs controllers, a scheduler, nodes.
    let embedded = Arc::new(EmbeddedTarget::new(
        EmbeddedConfig::default().components(Components::apiserver_only()),
    ));
    let results = kubeproof::run(config("^Deployment → ReplicaSet → Pod"), embedded)
        .await
        .expect("the run itself works");
    assert_eq!(results.counts(), (0, 0, 1), "{results:#?}");
    let reason = results.scenarios[0].message.as_deref().unwrap_or_default();
    assert!(reason.contains("does not run"), "{reason}");
}

/// A target that cannot run anything, as one whose prerequisites are missing.
struct Unavailable;

const NOT_AVAILABLE: &str = "this target cannot run anything here";

#[async_trait::async_trait]
impl Target for Unavailable {
    fn name(&self) -> &str {
        "unavailable"
    }

    fn lacks(&self, _cap: Capability) -> Option<String> {
        Some(NOT_AVAILABLE.into())
    }

    fn unavailable(&self) -> Option<String> {
        Some(NOT_AVAILABLE.into())
    }

    async fn session(&self, _needs: &SessionNeeds) -> Result<Box<dyn Session>, TargetError> {
        Err(TargetError::Unavailable(NOT_AVAILABLE.into()))
    }

    async fn shutdown(&self) {}
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unavailable_target_skips_everything_and_passes_nothing() {
    let results = kubeproof::run(config("optimistic|Conflict"), Arc::new(Unavailable))
        .await
        .expect("the run itself works");
    let (passed, failed, skipped) = results.counts();
    assert_eq!((passed, failed), (0, 0));
    assert!(skipped >= 1);
    assert!(
        results
            .scenarios
            .iter()
            .all(|s| s.message.as_deref() == Some(NOT_AVAILABLE))
    );
}

/// Every `.feature` file under `dir`, recursively.
fn feature_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("features dir is readable") {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            out.extend(feature_files(&path));
        } else if path.extension().is_some_and(|e| e == "feature") {
            out.push(path);
        }
    }
    out
}

/// Scenarios a target cannot run yet are never executed, so a typo in them would go
/// unnoticed until the component lands: check every step of every feature now.
#[test]
fn every_step_of_every_feature_matches_exactly_one_definition() {
    use cucumber::World as _;
    use cucumber::gherkin::{Feature, GherkinEnv};
    let steps = kubeproof::KubeWorld::collection();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../features");
    let mut problems = Vec::new();
    let files = feature_files(&dir);
    assert!(
        files.len() >= 30,
        "expected the whole suite, found {files:?}"
    );
    for file in files {
        let feature = Feature::parse_path(&file, GherkinEnv::default())
            .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let mut all: Vec<&cucumber::gherkin::Step> = Vec::new();
        all.extend(feature.background.iter().flat_map(|b| &b.steps));
        all.extend(feature.scenarios.iter().flat_map(|s| &s.steps));
        for rule in &feature.rules {
            all.extend(rule.background.iter().flat_map(|b| &b.steps));
            all.extend(rule.scenarios.iter().flat_map(|s| &s.steps));
        }
        for step in all {
            match steps.find(step) {
                Ok(Some(_)) => {}
                Ok(None) => problems.push(format!(
                    "{}:{}: no definition for {:?} {:?}",
                    file.display(),
                    step.position.line,
                    step.ty,
                    step.value
                )),
                Err(e) => problems.push(format!(
                    "{}:{}: ambiguous {:?}: {e}",
                    file.display(),
                    step.position.line,
                    step.value
                )),
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The same features run on any cluster through a kubeconfig: here the reference, reached
/// only through the kubeconfig it writes, as a user's cluster would be.
#[tokio::test(flavor = "multi_thread")]
async fn the_kubeconfig_target_runs_the_suite_and_skips_faults_it_has_no_hook_for() {
    use kubeproof::targets::kubeconfig::{KubeconfigConfig, KubeconfigTarget};
    let cluster = refkube::cluster::Cluster::start(Default::default())
        .await
        .expect("the reference starts");
    let dir = tempfile::tempdir().expect("a temp dir");
    let path = dir.path().join("kubeconfig");
    std::fs::write(&path, cluster.kubeconfig_yaml()).expect("kubeconfig written");
    let target = KubeconfigTarget::connect(KubeconfigConfig {
        path: Some(path),
        ..KubeconfigConfig::default()
    })
    .await
    .expect("the kubeconfig is usable");
    let results = kubeproof::run(
        config("stale copy|Listing at an exact compacted revision"),
        Arc::new(target),
    )
    .await
    .expect("the run itself works");
    cluster.shutdown().await;
    assert_eq!(results.counts(), (1, 0, 1), "{results:#?}");
    let skipped = results
        .scenarios
        .iter()
        .find(|s| s.status == Status::Skipped)
        .expect("one skipped scenario");
    assert_eq!(
        skipped.message.as_deref(),
        Some(
            "@fault-compact: the kubeconfig target needs hook(s) compact (pass --hook NAME=COMMAND)"
        )
    );
}

/// A deliberately broken reference: its scheduler answers to another name, so it never
/// binds the suite's Pods. The scheduling scenario must fail and say what it saw.
#[tokio::test(flavor = "multi_thread")]
async fn a_reference_whose_scheduler_ignores_pods_fails_the_scheduling_scenario_readably() {
    use kubeproof::targets::embedded::Components;
    let broken = refkube::ClusterConfig::default()
        .pace(refkube::components::Pace::Fast)
        .customize(|c| {
            if let Some(s) = c.scheduler.as_mut() {
                s.scheduler_name = "not-the-default-scheduler".into();
            }
        });
    let components: Components = "scheduler".parse().expect("a valid component list");
    let target = Arc::new(EmbeddedTarget::new(
        EmbeddedConfig::default()
            .components(components)
            .cluster(broken),
    ));
    let mut timings = Timings::fast();
    timings.expect = std::time::Duration::from_secs(2);
    let results = kubeproof::run(
        config("enough free cpu and memory").timings(timings),
        target,
    )
    .await
    .expect("the run itself works");
    assert_eq!(results.counts(), (0, 1, 0), "{results:#?}");
    let message = results.scenarios[0].message.as_deref().unwrap_or_default();
    assert!(
        message.contains(r#"timed out after 2s waiting for Pod "hungry" to be scheduled"#),
        "{message}"
    );
    assert!(
        message.contains("name: hungry"),
        "the Pod as observed: {message}"
    );
    assert!(message.contains("--- recent events in kp-"), "{message}");
}

/// A deliberately broken reference: its scheduler has the TaintToleration plugin
/// switched off, so it ignores taints. The taint scenario must fail and say what
/// happened to the Pod that should have waited.
#[tokio::test(flavor = "multi_thread")]
async fn a_scheduler_that_ignores_taints_fails_the_taint_scenario_readably() {
    use kubeproof::targets::embedded::Components;
    let broken = refkube::ClusterConfig::default()
        .pace(refkube::components::Pace::Fast)
        .customize(|c| {
            if let Some(s) = c.scheduler.as_mut() {
                s.disabled_plugins.push("TaintToleration".into());
            }
        });
    let components: Components = "scheduler".parse().expect("a valid component list");
    let target = Arc::new(EmbeddedTarget::new(
        EmbeddedConfig::default()
            .components(components)
            .cluster(broken),
    ));
    let mut timings = Timings::fast();
    timings.expect = std::time::Duration::from_secs(2);
    let results = kubeproof::run(config("The only node is tainted").timings(timings), target)
        .await
        .expect("the run itself works");
    assert_eq!(results.counts(), (0, 1, 0), "{results:#?}");
    let message = results.scenarios[0].message.as_deref().unwrap_or_default();
    assert!(
        message.contains(r#"Pod "intolerant""#),
        "the failure names the Pod: {message}"
    );
    assert!(
        message.contains("nodeName: tainted"),
        "the Pod as observed shows where the broken scheduler put it: {message}"
    );
}

/// A selection that matches nothing is an error (the binary exits 2), not an empty pass.
#[tokio::test(flavor = "multi_thread")]
async fn a_selection_matching_no_scenario_is_an_error_naming_it() {
    let err = kubeproof::run(
        config("^no scenario is called this$"),
        Arc::new(Unavailable),
    )
    .await
    .expect_err("nothing to run is an error");
    let message = err.to_string();
    assert!(message.starts_with("no scenario in "), "{message}");
    assert!(
        message.ends_with(r#"matches the name "^no scenario is called this$""#),
        "{message}"
    );
}

/// The embedded reference at the suite's short timings, for the performance self-tests.
fn fast_reference() -> Arc<dyn Target> {
    let cluster = refkube::ClusterConfig::default()
        .pace(refkube::components::Pace::Fast)
        .agnhost_command(refkube::agnhost::this_executable());
    Arc::new(EmbeddedTarget::new(
        EmbeddedConfig::default().cluster(cluster),
    ))
}

/// A deliberately slowed API server (every write waits 5.5 s in front of it, as
/// `SlowedTarget` injects): the pod startup scenario must fail upstream's 5 s SLO with a
/// message that says the figure and the threshold, the performance file must say `fail`,
/// and the comparison with a run on the unslowed reference must flag the regression.
#[tokio::test(flavor = "multi_thread")]
async fn a_slowed_api_server_fails_the_startup_slo_and_the_baseline_comparison() {
    use kubeproof::perf::compare::{Tolerance, compare};
    use kubeproof::perf::file::PerfFile;
    use kubeproof::perf::slowed::SlowedTarget;
    use kubeproof::perf::{Verdict, human_ms};
    const SCENARIO: &str = "^Stateless Pods created at a steady rate start within 5 seconds$";
    let scale = 0.3;
    let baseline = kubeproof::run(config(SCENARIO).perf_scale(scale), fast_reference())
        .await
        .expect("the run itself works");
    assert_eq!(baseline.counts(), (1, 0, 0), "{baseline:#?}");
    let base = PerfFile::from_results(&baseline, scale);
    assert_eq!(base.measurements.len(), 1, "{base:#?}");
    assert_eq!(base.measurements[0].summary.samples, 3, "10 Pods × 0.3");

    let dir = tempfile::tempdir().expect("a temp dir");
    let mut slowed_config = config(SCENARIO).perf_scale(scale);
    slowed_config.perf_json = Some(dir.path().join("perf.json"));
    slowed_config.json = Some(dir.path().join("cucumber.json"));
    let slowed = Arc::new(SlowedTarget::delaying_writes(
        fast_reference(),
        std::time::Duration::from_millis(5500),
    ));
    let results = kubeproof::run(slowed_config, slowed)
        .await
        .expect("the run itself works");
    assert_eq!(results.counts(), (0, 1, 0), "{results:#?}");
    let message = results.scenarios[0].message.as_deref().unwrap_or_default();
    assert!(
        message.contains("the p99 pod startup latency is ")
            && message.contains(", over the threshold of at most 5.00s (3 samples: p50 "),
        "the failure should say the figure, the threshold and the samples:\n{message}"
    );

    let now = PerfFile::read(&dir.path().join("perf.json")).expect("the perf file was written");
    assert_eq!(now.target, "slowed");
    assert_eq!(now.measurements[0].verdict, Verdict::Fail);
    let cucumber = std::fs::read_to_string(dir.path().join("cucumber.json")).expect("json");
    assert!(
        cucumber.contains("\"name\":\"kubeproof measurement\""),
        "the measurement is embedded in the Cucumber JSON"
    );

    // The default tolerance leaves room for a busy machine's noise (a startup can triple
    // from run to run); state one that run-to-run noise (never 2 s) cannot exceed and the
    // injected 5.5 s must, for any baseline p99 under 3.5 s (measured: 1-3 s):
    // `--tolerance 50 --tolerance-ms 2000`.
    let tolerance = Tolerance {
        relative: 0.5,
        absolute_ms: 2000.0,
    };
    let comparison = compare(&base, &now, tolerance);
    let worse = comparison.regressions();
    assert!(
        worse.iter().any(|r| r.stat.as_str() == "p99"),
        "{comparison:#?}"
    );
    let table = comparison.render("baseline", "now");
    let p99 = worse
        .iter()
        .find(|r| r.stat.as_str() == "p99")
        .expect("the p99 regressed");
    assert!(
        table.contains(&format!(
            "pod startup latency p99: {} → {}",
            human_ms(p99.baseline),
            human_ms(p99.now)
        )),
        "the verdict names the figure, before and after:\n{table}"
    );
    assert!(table.contains("WORSE"), "{table}");
}
