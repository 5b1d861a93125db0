//! Tests of the harness itself: a deliberately broken API makes the matching scenarios
//! fail with a readable message; targets that lack what a scenario needs skip it with the
//! reason, never pass it.
//!
//! Entry point: `cargo test -p kubeproof --test self_test`.

use std::sync::Arc;

use kubeproof::report::Status;
use kubeproof::targets::Target;
use kubeproof::targets::containers::{ContainersTarget, NOT_AVAILABLE};
use kubeproof::targets::embedded::{EmbeddedConfig, EmbeddedTarget};
use kubeproof::targets::faulty::FaultyTarget;
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
    let embedded = Arc::new(EmbeddedTarget::new(EmbeddedConfig::default()));
    let results = kubeproof::run(config("^Deployment → ReplicaSet → Pod"), embedded)
        .await
        .expect("the run itself works");
    assert_eq!(results.counts(), (0, 0, 1), "{results:#?}");
    let reason = results.scenarios[0].message.as_deref().unwrap_or_default();
    assert!(reason.contains("does not run"), "{reason}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_containers_slot_skips_everything_and_passes_nothing() {
    let results = kubeproof::run(config("optimistic|Conflict"), Arc::new(ContainersTarget))
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
