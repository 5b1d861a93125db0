//! Stand-ins for well-known images whose programs this machine does not have: what the
//! process runtime runs for `nginx` and `httpd` ([`runtime::images`] decides when).
//! Entry point: [`serve`] (agnhost's hidden `web-server` subcommand calls it).
//!
//! [`runtime::images`]: crate::runtime::images

mod web;

pub use web::{WebServer, serve};
