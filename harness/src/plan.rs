//! Deciding, before anything runs, which scenarios run and which are skipped, and why.
//!
//! Entry points: [`decide`] (the pure rule), [`PlannedParser`] (a cucumber parser that
//! applies it). A skipped scenario is rewritten into one step that matches no step
//! definition, `Given kubeproof skips this scenario: <reason>`, so every writer (console,
//! JSON, JUnit) reports it as skipped *with its reason*; nothing passes by being skipped.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use cucumber::gherkin::{self, tagexpr::TagOperation};
use cucumber::parser::{self, Parser};
use cucumber::tag::Ext as _;
use futures::stream::{BoxStream, StreamExt};
use regex::Regex;

use crate::targets::{Capability, Target, requirements};

/// The text of the step a skipped scenario is rewritten into.
pub const SKIP_STEP_PREFIX: &str = "kubeproof skips this scenario: ";

/// What a skipped scenario's name is suffixed with (then the reason and `]`), so that
/// reports showing only names (JUnit) still carry the reason.
pub const SKIP_NAME_MARK: &str = " [skipped: ";

/// The tag added to a scenario skipped by plan, so `fail_on_skipped` spares it.
pub const SKIPPED_TAG: &str = "kubeproof-skipped";

/// Errors in the user's selection.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// `--tags` is not a valid tag expression.
    #[error("invalid tag expression {0:?}: {1}")]
    Tags(String, String),
    /// `--name` is not a valid regex.
    #[error("invalid scenario name regex {0:?}: {1}")]
    Name(String, String),
    /// The selection matches no scenario at all.
    #[error("no scenario in {features} matches {selection}")]
    NothingSelected {
        /// The features directory.
        features: String,
        /// The selection, as the user gave it.
        selection: String,
    },
}

/// What happens to one scenario.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// It runs.
    Run,
    /// It is reported as skipped with this reason.
    Skip(String),
}

/// The rule: a scenario runs only if the target provides every capability its tags ask
/// for. The reason names the tag and what the target lacks.
pub fn decide<S: AsRef<str>>(tags: &[S], target: &dyn Target, include_slow: bool) -> Decision {
    if let Some(reason) = target.unavailable() {
        return Decision::Skip(reason);
    }
    for cap in requirements(tags.iter().map(AsRef::as_ref)) {
        if cap == Capability::Slow && !include_slow {
            return Decision::Skip("@slow: slow scenarios are excluded from this run".into());
        }
        if let Some(reason) = target.lacks(cap) {
            return Decision::Skip(format!("{cap}: {reason}"));
        }
    }
    Decision::Run
}

/// Identifies a scenario across the parser, the hooks and the writers.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ScenarioKey {
    /// The feature file.
    pub path: String,
    /// The scenario's line in it.
    pub line: usize,
}

impl ScenarioKey {
    /// The key of `scenario` in `feature`.
    pub fn of(feature: &gherkin::Feature, scenario: &gherkin::Scenario) -> Self {
        Self {
            path: feature
                .path
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            line: scenario.position.line,
        }
    }
}

/// Skip reasons decided by the plan, shared with the report writer.
pub type SkipReasons = Arc<Mutex<BTreeMap<ScenarioKey, String>>>;

/// User selection plus target: what the parser keeps and how it rewrites.
pub struct Planner {
    target: Arc<dyn Target>,
    tags: Option<TagOperation>,
    name: Option<Regex>,
    include_slow: bool,
    /// Filled while parsing.
    pub skips: SkipReasons,
    /// How many scenarios the selection kept (to run or to skip), counted while parsing.
    selected: AtomicUsize,
}

impl Planner {
    /// Parses the user's selection.
    pub fn new(
        target: Arc<dyn Target>,
        tags: Option<&str>,
        name: Option<&str>,
        include_slow: bool,
    ) -> Result<Self, PlanError> {
        let tags = tags
            .map(|t| {
                t.parse::<TagOperation>()
                    .map_err(|e| PlanError::Tags(t.into(), e.to_string()))
            })
            .transpose()?;
        let name = name
            .map(|n| Regex::new(n).map_err(|e| PlanError::Name(n.into(), e.to_string())))
            .transpose()?;
        Ok(Self {
            target,
            tags,
            name,
            include_slow,
            skips: SkipReasons::default(),
            selected: AtomicUsize::new(0),
        })
    }

    /// How many scenarios the selection kept so far (every one once parsing is done).
    pub fn selected_count(&self) -> usize {
        self.selected.load(Ordering::Relaxed)
    }

    fn selected(&self, tags: &[&String], name: &str) -> bool {
        self.tags
            .as_ref()
            .is_none_or(|t| t.eval(tags.iter().map(|s| s.as_str())))
            && self.name.as_ref().is_none_or(|r| r.is_match(name))
    }

    /// Filters and rewrites one feature. Backgrounds are inlined into each scenario so a
    /// skipped scenario runs none of them.
    pub fn apply(&self, mut feature: gherkin::Feature) -> gherkin::Feature {
        let feature_bg = feature
            .background
            .take()
            .map(|b| b.steps)
            .unwrap_or_default();
        let snapshot = feature.clone();
        let scenarios = std::mem::take(&mut feature.scenarios);
        feature.scenarios = self.plan_all(&snapshot, &[&feature.tags], &feature_bg, scenarios);
        let mut rules = std::mem::take(&mut feature.rules);
        for rule in &mut rules {
            let mut bg = feature_bg.clone();
            bg.extend(rule.background.take().map(|b| b.steps).unwrap_or_default());
            let scenarios = std::mem::take(&mut rule.scenarios);
            rule.scenarios = self.plan_all(&snapshot, &[&feature.tags, &rule.tags], &bg, scenarios);
        }
        feature.rules = rules
            .into_iter()
            .filter(|r| !r.scenarios.is_empty())
            .collect();
        feature
    }

    fn plan_all(
        &self,
        feature: &gherkin::Feature,
        outer_tags: &[&Vec<String>],
        background: &[gherkin::Step],
        scenarios: Vec<gherkin::Scenario>,
    ) -> Vec<gherkin::Scenario> {
        scenarios
            .into_iter()
            .filter_map(|mut sc| {
                let tags: Vec<&String> = outer_tags
                    .iter()
                    .flat_map(|t| t.iter())
                    .chain(sc.tags.iter())
                    .collect();
                if !self.selected(&tags, &sc.name) {
                    return None;
                }
                self.selected.fetch_add(1, Ordering::Relaxed);
                match decide(&tags, self.target.as_ref(), self.include_slow) {
                    Decision::Run => {
                        let mut steps = background.to_vec();
                        steps.append(&mut sc.steps);
                        sc.steps = steps;
                    }
                    Decision::Skip(reason) => {
                        if let Ok(mut skips) = self.skips.lock() {
                            skips.insert(ScenarioKey::of(feature, &sc), reason.clone());
                        }
                        sc.steps = vec![skip_step(&sc, &reason)];
                        sc.tags.push(SKIPPED_TAG.into());
                        sc.name = format!("{}{SKIP_NAME_MARK}{reason}]", sc.name);
                    }
                }
                Some(sc)
            })
            .collect()
    }
}

fn skip_step(sc: &gherkin::Scenario, reason: &str) -> gherkin::Step {
    gherkin::Step {
        keyword: "Given ".into(),
        ty: gherkin::StepType::Given,
        value: format!("{SKIP_STEP_PREFIX}{reason}"),
        docstring: None,
        table: None,
        span: sc.span,
        position: sc.position,
    }
}

/// The cucumber parser: the basic file parser, then [`Planner::apply`].
#[derive(Clone)]
pub struct PlannedParser {
    planner: Arc<Planner>,
}

impl PlannedParser {
    /// A parser applying `planner`.
    pub fn new(planner: Arc<Planner>) -> Self {
        Self { planner }
    }
}

impl<I: AsRef<Path>> Parser<I> for PlannedParser {
    type Cli = parser::basic::Cli;
    type Output = BoxStream<'static, parser::Result<gherkin::Feature>>;

    fn parse(self, input: I, cli: Self::Cli) -> Self::Output {
        let planner = self.planner;
        parser::Basic::new()
            .parse(input, cli)
            .map(move |f| f.map(|f| planner.apply(f)))
            .boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::targets::embedded::{EmbeddedConfig, EmbeddedTarget};

    fn target() -> Arc<dyn Target> {
        // The API server alone, so scenarios needing a scheduler are skipped.
        Arc::new(EmbeddedTarget::new(EmbeddedConfig::default().components(
            crate::targets::embedded::Components::apiserver_only(),
        )))
    }

    fn feature(text: &str) -> gherkin::Feature {
        gherkin::Feature::parse(text, gherkin::GherkinEnv::default()).unwrap()
    }

    const FEATURE: &str = "Feature: f\n\n  Background:\n    Given a fresh namespace\n\n  Scenario: plain\n    When I list pods\n\n  @needs-scheduler\n  Scenario: scheduled\n    When a pod is scheduled\n";

    #[test]
    fn a_scenario_needing_a_missing_component_is_skipped_with_the_reason() {
        let t = target();
        assert_eq!(
            decide(&["needs-scheduler"], t.as_ref(), true),
            Decision::Skip(
                "@needs-scheduler: the embedded cluster does not run a scheduler yet".into()
            )
        );
        assert_eq!(decide(&["serial"], t.as_ref(), true), Decision::Run);
        assert!(matches!(
            decide(&["slow"], t.as_ref(), false),
            Decision::Skip(_)
        ));
    }

    #[test]
    fn skipped_scenarios_keep_only_the_unmatched_skip_step_and_backgrounds_are_inlined() {
        let planner = Planner::new(target(), None, None, true).unwrap();
        let f = planner.apply(feature(FEATURE));
        assert!(f.background.is_none());
        let steps: Vec<Vec<&str>> = f
            .scenarios
            .iter()
            .map(|s| s.steps.iter().map(|st| st.value.as_str()).collect())
            .collect();
        assert_eq!(steps[0], vec!["a fresh namespace", "I list pods"]);
        assert_eq!(
            steps[1],
            vec![
                "kubeproof skips this scenario: @needs-scheduler: the embedded cluster does not run a scheduler yet"
            ]
        );
        assert!(f.scenarios[1].tags.iter().any(|t| t == SKIPPED_TAG));
        assert_eq!(
            f.scenarios[1].name,
            "scheduled [skipped: @needs-scheduler: the embedded cluster does not run a scheduler yet]"
        );
        assert_eq!(planner.skips.lock().unwrap().len(), 1);
    }

    #[test]
    fn tag_and_name_selection_drop_scenarios_entirely() {
        let planner = Planner::new(target(), Some("not @needs-scheduler"), None, true).unwrap();
        assert_eq!(planner.apply(feature(FEATURE)).scenarios.len(), 1);
        let planner = Planner::new(target(), None, Some("^sched"), true).unwrap();
        let f = planner.apply(feature(FEATURE));
        assert_eq!(f.scenarios.len(), 1);
        assert!(f.scenarios[0].name.starts_with("scheduled [skipped: "));
    }

    #[test]
    fn the_planner_counts_what_the_selection_kept() {
        let planner = Planner::new(target(), Some("@nothing-has-this"), None, true).unwrap();
        assert!(planner.apply(feature(FEATURE)).scenarios.is_empty());
        assert_eq!(planner.selected_count(), 0);
        let planner = Planner::new(target(), None, None, true).unwrap();
        planner.apply(feature(FEATURE));
        assert_eq!(
            planner.selected_count(),
            2,
            "skipped ones count: they are reported"
        );
    }

    #[test]
    fn a_bad_tag_expression_is_a_clear_error() {
        let err = Planner::new(target(), Some("@a and and"), None, true)
            .err()
            .unwrap();
        assert!(
            err.to_string().starts_with("invalid tag expression"),
            "{err}"
        );
    }
}
