//! Deployment condition reasons and event reasons (`deployment_util.go`).

/// Progressing: a new RS was created.
pub const NEW_RS_CREATED: &str = "NewReplicaSetCreated";
/// Progressing: the new RS already existed.
pub const FOUND_NEW_RS: &str = "FoundNewReplicaSet";
/// Progressing: progress was made.
pub const RS_UPDATED: &str = "ReplicaSetUpdated";
/// Progressing: the rollout completed.
pub const NEW_RS_AVAILABLE: &str = "NewReplicaSetAvailable";
/// Progressing=False: no progress within the deadline.
pub const TIMED_OUT: &str = "ProgressDeadlineExceeded";
/// Progressing=False: creating the new RS failed.
pub const FAILED_RS_CREATE: &str = "ReplicaSetCreateError";
/// Progressing=Unknown: paused.
pub const PAUSED: &str = "DeploymentPaused";
/// Progressing=Unknown: resumed.
pub const RESUMED: &str = "DeploymentResumed";
/// Available=True.
pub const MIN_AVAILABLE: &str = "MinimumReplicasAvailable";
/// Available=False.
pub const MIN_UNAVAILABLE: &str = "MinimumReplicasUnavailable";
/// Event reason of every scale.
pub const SCALING_REPLICA_SET: &str = "ScalingReplicaSet";
/// Warning for an empty selector.
pub const SELECTING_ALL: &str = "SelectingAll";
