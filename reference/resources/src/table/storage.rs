//! Table printers for persistent volumes and claims (`printPersistentVolume`,
//! `printPersistentVolumeClaim`).

use super::{Column, Ctx, Printer, Row, age_col, arr_at, col, doc, name, name_col, str_at};
use k8s_openapi::api::core::v1 as core;
use serde_json::{Value, json};

/// The columns and row printer of persistent volumes.
pub(crate) fn persistent_volumes() -> (Vec<Column>, Printer) {
    (
        vec![
            name_col(),
            col(
                "Capacity",
                "string",
                0,
                doc::<core::PersistentVolumeSpec>("capacity"),
            ),
            col(
                "Access Modes",
                "string",
                0,
                doc::<core::PersistentVolumeSpec>("accessModes"),
            ),
            col(
                "Reclaim Policy",
                "string",
                0,
                doc::<core::PersistentVolumeSpec>("persistentVolumeReclaimPolicy"),
            ),
            col(
                "Status",
                "string",
                0,
                doc::<core::PersistentVolumeStatus>("phase"),
            ),
            col(
                "Claim",
                "string",
                0,
                doc::<core::PersistentVolumeSpec>("claimRef"),
            ),
            col("StorageClass", "string", 0, "StorageClass of the pv"),
            col(
                "VolumeAttributesClass",
                "string",
                0,
                doc::<core::PersistentVolumeSpec>("volumeAttributesClassName"),
            ),
            col(
                "Reason",
                "string",
                0,
                doc::<core::PersistentVolumeStatus>("reason"),
            ),
            age_col(),
            col(
                "VolumeMode",
                "string",
                1,
                doc::<core::PersistentVolumeSpec>("volumeMode"),
            ),
        ],
        print_pv,
    )
}

/// The columns and row printer of persistent volume claims.
pub(crate) fn persistent_volume_claims() -> (Vec<Column>, Printer) {
    (
        vec![
            name_col(),
            col(
                "Status",
                "string",
                0,
                doc::<core::PersistentVolumeClaimStatus>("phase"),
            ),
            col(
                "Volume",
                "string",
                0,
                doc::<core::PersistentVolumeClaimSpec>("volumeName"),
            ),
            col(
                "Capacity",
                "string",
                0,
                doc::<core::PersistentVolumeClaimStatus>("capacity"),
            ),
            col(
                "Access Modes",
                "string",
                0,
                doc::<core::PersistentVolumeClaimStatus>("accessModes"),
            ),
            col("StorageClass", "string", 0, "StorageClass of the pvc"),
            col(
                "VolumeAttributesClass",
                "string",
                0,
                doc::<core::PersistentVolumeClaimSpec>("volumeAttributesClassName"),
            ),
            age_col(),
            col(
                "VolumeMode",
                "string",
                1,
                doc::<core::PersistentVolumeClaimSpec>("volumeMode"),
            ),
        ],
        print_pvc,
    )
}

/// Upstream's `GetAccessModesAsString`: RWO, ROX, RWX, RWOP in that order.
fn access_modes(modes: &[Value]) -> String {
    let has = |m: &str| modes.iter().any(|v| v.as_str() == Some(m));
    let mut out = Vec::new();
    for (mode, short) in [
        ("ReadWriteOnce", "RWO"),
        ("ReadOnlyMany", "ROX"),
        ("ReadWriteMany", "RWX"),
        ("ReadWriteOncePod", "RWOP"),
    ] {
        if has(mode) {
            out.push(short);
        }
    }
    out.join(",")
}

fn unset_if_missing(v: Option<&Value>) -> String {
    v.and_then(Value::as_str)
        .map_or_else(|| "<unset>".to_string(), str::to_string)
}

fn print_pv(pv: &Value, ctx: &Ctx) -> Row {
    let claim = match pv.pointer("/spec/claimRef") {
        Some(c) if !c.is_null() => format!("{}/{}", str_at(c, "/namespace"), str_at(c, "/name")),
        _ => String::new(),
    };
    let phase = if pv
        .pointer("/metadata/deletionTimestamp")
        .is_some_and(|v| !v.is_null())
    {
        "Terminating"
    } else {
        str_at(pv, "/status/phase")
    };
    vec![
        json!(name(pv)),
        json!(str_at(pv, "/spec/capacity/storage")),
        json!(access_modes(arr_at(pv, "/spec/accessModes"))),
        json!(str_at(pv, "/spec/persistentVolumeReclaimPolicy")),
        json!(phase),
        json!(claim),
        json!(str_at(pv, "/spec/storageClassName")),
        json!(unset_if_missing(
            pv.pointer("/spec/volumeAttributesClassName")
        )),
        json!(str_at(pv, "/status/reason")),
        json!(ctx.age(pv)),
        json!(unset_if_missing(pv.pointer("/spec/volumeMode"))),
    ]
    .into()
}

fn print_pvc(pvc: &Value, ctx: &Ctx) -> Row {
    let phase = if pvc
        .pointer("/metadata/deletionTimestamp")
        .is_some_and(|v| !v.is_null())
    {
        "Terminating"
    } else {
        str_at(pvc, "/status/phase")
    };
    let volume = str_at(pvc, "/spec/volumeName");
    let (capacity, modes) = if volume.is_empty() {
        (String::new(), String::new())
    } else {
        (
            str_at(pvc, "/status/capacity/storage").to_string(),
            access_modes(arr_at(pvc, "/status/accessModes")),
        )
    };
    vec![
        json!(name(pvc)),
        json!(phase),
        json!(volume),
        json!(capacity),
        json!(modes),
        json!(str_at(pvc, "/spec/storageClassName")),
        json!(unset_if_missing(
            pvc.pointer("/spec/volumeAttributesClassName")
        )),
        json!(ctx.age(pvc)),
        json!(unset_if_missing(pvc.pointer("/spec/volumeMode"))),
    ]
    .into()
}
