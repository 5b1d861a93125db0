//! iptables mode: chain-name hashes, the pure ruleset renderer, and the applier that feeds
//! it to `iptables-restore --noflush`. Entry points: [`render`], [`apply::IptablesApplier`].

pub mod apply;
pub mod hash;
pub mod render;
pub mod ruleset;

pub use render::{build_ruleset, render};

#[cfg(test)]
mod render_tests;
#[cfg(test)]
mod snapshot_tests;
