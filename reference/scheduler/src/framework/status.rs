//! Plugin result codes and statuses, as upstream `framework.Status`. Entry point: [`Status`].

/// Upstream `framework.Code`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Code {
    /// The plugin ran and the pod fits / the step succeeded.
    Success,
    /// An internal error: the cycle stops and the pod is retried with backoff.
    Error,
    /// The pod does not fit, but preemption might help.
    Unschedulable,
    /// The pod does not fit and preemption cannot help.
    UnschedulableAndUnresolvable,
    /// (PreFilter / PreScore only) the plugin has nothing to do for this pod.
    Skip,
}

/// A code, the reasons (messages) behind it, and the plugin that produced it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Status {
    /// What happened.
    pub code: Code,
    /// Human-readable reasons; FitError counts each of them.
    pub reasons: Vec<String>,
    /// The plugin that returned this status (set by the framework).
    pub plugin: &'static str,
}

impl Status {
    /// Success with no reasons.
    pub fn success() -> Self {
        Status::new(Code::Success, Vec::new())
    }

    /// A status with the given code and reasons.
    pub fn new(code: Code, reasons: Vec<String>) -> Self {
        Status {
            code,
            reasons,
            plugin: "",
        }
    }

    /// `Unschedulable` with one reason.
    pub fn unschedulable(reason: impl Into<String>) -> Self {
        Status::new(Code::Unschedulable, vec![reason.into()])
    }

    /// `UnschedulableAndUnresolvable` with one reason.
    pub fn unresolvable(reason: impl Into<String>) -> Self {
        Status::new(Code::UnschedulableAndUnresolvable, vec![reason.into()])
    }

    /// `Skip`.
    pub fn skip() -> Self {
        Status::new(Code::Skip, Vec::new())
    }

    /// `Error` with one message.
    pub fn error(message: impl Into<String>) -> Self {
        Status::new(Code::Error, vec![message.into()])
    }

    /// Records which plugin produced this status.
    pub fn with_plugin(mut self, plugin: &'static str) -> Self {
        self.plugin = plugin;
        self
    }

    /// True for `Success`.
    pub fn is_success(&self) -> bool {
        self.code == Code::Success
    }

    /// True for `Skip`.
    pub fn is_skip(&self) -> bool {
        self.code == Code::Skip
    }

    /// True for `Unschedulable` and `UnschedulableAndUnresolvable`.
    pub fn is_rejected(&self) -> bool {
        matches!(
            self.code,
            Code::Unschedulable | Code::UnschedulableAndUnresolvable
        )
    }

    /// Upstream `Status.Message()`: reasons joined with ", ".
    pub fn message(&self) -> String {
        self.reasons.join(", ")
    }
}
