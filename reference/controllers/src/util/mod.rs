//! Helpers shared by the controllers' pure decision modules: time, pods, owners, selectors.

pub mod json;
pub mod owner;
pub mod pods;
pub mod selector;
pub mod service;
pub mod status;
pub mod time;
