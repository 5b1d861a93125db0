//! The Namespace controller: when a namespace is deleted, marks it Terminating, deletes
//! everything in it (every namespaced resource found by discovery), reports progress in
//! the deletion conditions, and finally removes the `kubernetes` finalizer through the
//! `namespaces/{name}/finalize` subresource. Entry point: [`driver::start`].

pub mod driver;
pub mod plan;
