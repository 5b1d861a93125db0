//! The cucumber writer that turns the run's events into [`Results`] and prints progress.
//!
//! Entry point: [`Collector::new`]; the run tees it with cucumber's JSON and JUnit writers.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use cucumber::event::{self, Cucumber, Feature, Hook, HookType, Rule, Scenario, Step, StepError};
use cucumber::gherkin;
use cucumber::{Event, Writer, cli, parser};

use super::{Results, ScenarioResult, Status, StepResult};
use crate::context::RunContext;
use crate::plan::{SKIP_NAME_MARK, SKIP_STEP_PREFIX, ScenarioKey};
use crate::world::KubeWorld;

/// Collects results into a shared [`Results`].
pub struct Collector {
    ctx: Arc<RunContext>,
    results: Arc<Mutex<Results>>,
    running: HashMap<ScenarioKey, (SystemTime, ScenarioResult)>,
    root: String,
    print: bool,
}

impl Collector {
    /// A collector filling `results`; `root` is stripped from feature paths in reports.
    pub fn new(
        ctx: Arc<RunContext>,
        results: Arc<Mutex<Results>>,
        root: String,
        print: bool,
    ) -> Self {
        Self {
            ctx,
            results,
            running: HashMap::new(),
            root,
            print,
        }
    }

    /// Handles one scenario event; `at` is when the runner emitted it (the writer sees
    /// events later, after normalization, so its own clock would mis-time scenarios).
    fn scenario(
        &mut self,
        feat: &gherkin::Feature,
        sc: &gherkin::Scenario,
        ev: Scenario<KubeWorld>,
        at: SystemTime,
    ) {
        let key = ScenarioKey::of(feat, sc);
        match ev {
            Scenario::Started => {
                let path = key.path.strip_prefix(&self.root).unwrap_or(&key.path);
                let result = ScenarioResult {
                    feature: feat.name.clone(),
                    path: path.trim_start_matches('/').to_string(),
                    name: sc
                        .name
                        .split(SKIP_NAME_MARK)
                        .next()
                        .unwrap_or_default()
                        .to_string(),
                    line: sc.position.line,
                    status: Status::Passed,
                    message: None,
                    duration: Default::default(),
                    steps: Vec::new(),
                    trace: None,
                    measurements: Vec::new(),
                };
                self.running.insert(key, (at, result));
            }
            Scenario::Step(st, ev) | Scenario::Background(st, ev) => {
                if let Some((_, r)) = self.running.get_mut(&key) {
                    step(r, &st, ev, self.ctx.skip_reason(&key));
                }
            }
            Scenario::Hook(which, Hook::Failed(_, info)) => {
                if let Some((_, r)) = self.running.get_mut(&key) {
                    let when = match which {
                        HookType::Before => "setting up the scenario",
                        HookType::After => "cleaning up the scenario",
                    };
                    fail(r, format!("{when} failed: {}", payload(&info)));
                }
            }
            Scenario::Hook(..) | Scenario::Log(_) => {}
            Scenario::Finished => {
                if let Some((start, mut r)) = self.running.remove(&key) {
                    r.duration = at.duration_since(start).unwrap_or_default();
                    r.trace = self.ctx.take_trace(&key);
                    r.measurements = self.ctx.perf.take(&key);
                    for m in &mut r.measurements {
                        m.scenario = r.name.clone();
                        m.feature = r.path.clone();
                    }
                    if self.print {
                        print_progress(&r);
                    }
                    if let Ok(mut results) = self.results.lock() {
                        results.scenarios.push(r);
                    }
                }
            }
        }
    }
}

fn step(r: &mut ScenarioResult, st: &gherkin::Step, ev: Step<KubeWorld>, planned: Option<String>) {
    let text = format!("{}{}", st.keyword, st.value);
    let status = match ev {
        Step::Started => return,
        Step::Passed(..) => Status::Passed,
        Step::Skipped => {
            if r.status == Status::Passed {
                r.status = Status::Skipped;
                r.message = Some(planned.unwrap_or_else(|| {
                    st.value
                        .strip_prefix(SKIP_STEP_PREFIX)
                        .map(str::to_string)
                        .unwrap_or_else(|| format!("no step definition matches {text:?}"))
                }));
            }
            Status::Skipped
        }
        Step::Failed(_, _, _, err) => {
            let message = match err {
                StepError::Panic(info) => payload(&info),
                StepError::NotFound => format!("no step definition matches {text:?}"),
                other => other.to_string(),
            };
            fail(r, format!("step {text:?} failed:\n{message}"));
            Status::Failed
        }
    };
    r.steps.push(StepResult { text, status });
}

fn fail(r: &mut ScenarioResult, message: String) {
    if r.status != Status::Failed {
        r.status = Status::Failed;
        r.message = Some(message);
    }
}

fn payload(info: &event::Info) -> String {
    (**info)
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| (**info).downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "(panic without a message)".into())
}

fn print_progress(r: &ScenarioResult) {
    let mark = match r.status {
        Status::Passed => "✔",
        Status::Failed => "✘",
        Status::Skipped => "↷",
    };
    println!(
        "{mark} {}:{} {} ({:.1}s)",
        r.path,
        r.line,
        r.name,
        r.duration.as_secs_f64()
    );
    if let Some(m) = &r.message {
        let prefix = if r.status == Status::Skipped {
            "skipped: "
        } else {
            ""
        };
        for line in format!("{prefix}{m}").lines() {
            println!("    {line}");
        }
    }
}

impl Writer<KubeWorld> for Collector {
    type Cli = cli::Empty;

    async fn handle_event(
        &mut self,
        event: parser::Result<Event<Cucumber<KubeWorld>>>,
        _cli: &Self::Cli,
    ) {
        match event.map(Event::split) {
            Err(e) => {
                if self.print {
                    println!("✘ {e}");
                }
                if let Ok(mut results) = self.results.lock() {
                    results.parse_errors.push(e.to_string());
                }
            }
            Ok((Cucumber::Feature(f, Feature::Scenario(sc, ev)), meta)) => {
                self.scenario(&f, &sc, ev.event, meta.at);
            }
            Ok((Cucumber::Feature(f, Feature::Rule(_, Rule::Scenario(sc, ev))), meta)) => {
                self.scenario(&f, &sc, ev.event, meta.at);
            }
            Ok(_) => {}
        }
    }
}
