//! iptables mode: chain-name hashes, the pure ruleset renderer, and the applier that feeds
//! it to `iptables-restore --noflush`, and the cleanup of all of it. Entry points:
//! [`render()`], [`apply::IptablesApplier`], [`cleanup::cleanup`].

/// `a![x, y, ...]`: a `Vec<String>` of rule arguments (to extend).
macro_rules! a {
    ($($x:expr),* $(,)?) => { vec![$($x.to_string()),*] };
}

/// `arr![x, y, ...]`: a fixed array of rule arguments (a whole rule).
macro_rules! arr {
    ($($x:expr),* $(,)?) => { [$($x.to_string()),*] };
}

pub mod apply;
pub mod cleanup;
pub mod hash;
pub mod render;
pub mod ruleset;
mod service_rules;

pub use render::{build_ruleset, render};

#[cfg(test)]
mod render_tests;
#[cfg(test)]
mod snapshot_tests;
