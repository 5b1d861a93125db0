//! Lease: leader election and node heartbeats.

use crate::registry::{NONE, STD};
use crate::strategy::{Strategy, TypeFns};
use crate::{
    ResourceInfo, table,
    table::{Column, Printer},
};

pub struct Lease;

/// The registry entry.
pub const INFO: ResourceInfo = ResourceInfo::builtin(
    "coordination.k8s.io",
    "Lease",
    "leases",
    "lease",
    true,
    NONE,
    NONE,
    NONE,
    STD,
    &Lease,
);

impl Strategy for Lease {
    fn typed(&self) -> Option<TypeFns> {
        Some(TypeFns::of::<k8s_openapi::api::coordination::v1::Lease>())
    }

    fn printer(&self) -> Option<(Vec<Column>, Printer)> {
        Some(table::cluster::leases())
    }
}
