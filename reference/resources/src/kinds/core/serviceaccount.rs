//! ServiceAccount: the `token` subresource, answered with the object on delete.

use crate::registry::{NONE, STD};
use crate::strategy::{Strategy, TypeFns};
use crate::{
    ResourceInfo, table,
    table::{Column, Printer},
};

pub struct ServiceAccount;

/// The registry entry.
pub const INFO: ResourceInfo = ResourceInfo::builtin(
    "",
    "ServiceAccount",
    "serviceaccounts",
    "serviceaccount",
    true,
    &["sa"],
    NONE,
    &["token"],
    STD,
    &ServiceAccount,
);

impl Strategy for ServiceAccount {
    fn typed(&self) -> Option<TypeFns> {
        Some(TypeFns::of::<k8s_openapi::api::core::v1::ServiceAccount>())
    }

    fn printer(&self) -> Option<(Vec<Column>, Printer)> {
        Some(table::cluster::service_accounts())
    }

    fn delete_returns_object(&self) -> bool {
        true
    }
}
