//! refkube-helpers: the pure Kubernetes rules every refkube crate shares, one copy each,
//! checked against upstream's own test tables. Upstream keeps these in
//! `k8s.io/apimachinery` and `k8s.io/component-helpers`; here they sit below both the
//! API server side (`refkube-resources`) and the components, with no I/O and no clock.
//!
//! - [`quantity`]: `resource.Quantity` (parse, canonical form, value, milli-value).
//! - [`taints`]: `Toleration.ToleratesTaint` and the taint helpers built on it.
//! - [`nodeaffinity`]: node selector terms and the pod's required node affinity.
//! - [`labels`]: label selectors: the `labels.Parse` grammar, `LabelSelectorAsSelector`,
//!   matching (components on `kube-core`'s `Selector`).
//! - [`names`]: the name and label format checks of `apimachinery/pkg/util/validation`.
//! - [`ratelimit`]: the token bucket behind `flowcontrol` rate limiters.
//! - [`controller_accounts`]: the service account each controller acts as.

pub mod controller_accounts;
pub mod labels;
pub mod names;
pub mod nodeaffinity;
pub mod quantity;
pub mod ratelimit;
pub mod taints;
