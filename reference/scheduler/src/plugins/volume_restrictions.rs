//! VolumeRestrictions filter: the same GCE PD / EBS volume / iSCSI IQN / RBD image cannot be
//! mounted twice on a node (unless read-only where allowed), and a ReadWriteOncePod claim
//! can be used by one pod only (k8s-behaviour.md §1.7).
//!
//! The ReadWriteOncePod conflict is `Unschedulable`, as upstream since v1.27 (preemption
//! of the holder could help); k8s-behaviour.md §1.7 lists the older
//! `UnschedulableAndUnresolvable` from when the check ran in PreFilter.

use k8s_openapi::api::core::v1::{Pod, Volume};

use crate::framework::types::pvc_keys;
use crate::framework::{
    CycleState, FilterPlugin, NodeInfo, NodeNames, Plugin, PreFilterPlugin, Snapshot, Status,
};

/// Plugin name.
pub const NAME: &str = "VolumeRestrictions";
/// Reason for a disk conflict on the node.
pub const ERR_REASON_DISK_CONFLICT: &str = "node(s) had no available disk";
/// Reason when a ReadWriteOncePod claim is already in use.
pub const ERR_REASON_READ_WRITE_ONCE_POD_CONFLICT: &str =
    "node has pod using PersistentVolumeClaim with the same name and ReadWriteOncePod access mode";
const STATE_KEY: &str = "PreFilterVolumeRestrictions";

/// Per-cycle state: how many pods already use one of the pod's RWOP claims.
#[derive(Debug, Clone, Copy)]
struct PreFilterState {
    conflicting_rwop_pods: usize,
}

/// The VolumeRestrictions plugin.
#[derive(Debug, Default)]
pub struct VolumeRestrictions;

impl Plugin for VolumeRestrictions {
    fn name(&self) -> &'static str {
        NAME
    }
    fn as_pre_filter(&self) -> Option<&dyn PreFilterPlugin> {
        Some(self)
    }
    fn as_filter(&self) -> Option<&dyn FilterPlugin> {
        Some(self)
    }
}

fn needs_restrictions_check(v: &Volume) -> bool {
    v.gce_persistent_disk.is_some()
        || v.aws_elastic_block_store.is_some()
        || v.iscsi.is_some()
        || v.rbd.is_some()
}

impl PreFilterPlugin for VolumeRestrictions {
    fn pre_filter(
        &self,
        state: &mut CycleState,
        pod: &Pod,
        snapshot: &Snapshot,
    ) -> (Option<NodeNames>, Status) {
        let volumes = pod
            .spec
            .as_ref()
            .and_then(|s| s.volumes.as_deref())
            .unwrap_or(&[]);
        let needs_check = volumes.iter().any(needs_restrictions_check);
        let mut rwop_keys = Vec::new();
        for key in pvc_keys(pod) {
            let Some(pvc) = snapshot.objects.pvcs.get(&key) else {
                let name = key.split_once('/').map_or(key.as_str(), |(_, n)| n);
                return (
                    None,
                    Status::unresolvable(format!("persistentvolumeclaim \"{name}\" not found")),
                );
            };
            let modes = pvc
                .spec
                .as_ref()
                .and_then(|s| s.access_modes.as_deref())
                .unwrap_or(&[]);
            if modes.iter().any(|m| m == "ReadWriteOncePod") {
                rwop_keys.push(key);
            }
        }
        let conflicting_rwop_pods = snapshot
            .nodes
            .iter()
            .flat_map(|n| rwop_keys.iter().filter_map(|k| n.pvc_ref_counts.get(k)))
            .sum();
        if !needs_check && conflicting_rwop_pods == 0 {
            return (None, Status::skip());
        }
        state.write(
            STATE_KEY,
            PreFilterState {
                conflicting_rwop_pods,
            },
        );
        (None, Status::success())
    }
}

/// Upstream `isVolumeConflict` for one volume of the incoming pod against one existing pod.
pub fn is_volume_conflict(volume: &Volume, existing: &Pod) -> bool {
    let existing_volumes = existing
        .spec
        .as_ref()
        .and_then(|s| s.volumes.as_deref())
        .unwrap_or(&[]);
    existing_volumes.iter().any(|ev| {
        if let (Some(d), Some(e)) = (&volume.gce_persistent_disk, &ev.gce_persistent_disk)
            && d.pd_name == e.pd_name
            && !(d.read_only.unwrap_or(false) && e.read_only.unwrap_or(false))
        {
            return true;
        }
        if let (Some(d), Some(e)) = (&volume.aws_elastic_block_store, &ev.aws_elastic_block_store)
            && d.volume_id == e.volume_id
        {
            return true;
        }
        if let (Some(d), Some(e)) = (&volume.iscsi, &ev.iscsi)
            && d.iqn == e.iqn
            && !(d.read_only.unwrap_or(false) && e.read_only.unwrap_or(false))
        {
            return true;
        }
        if let (Some(d), Some(e)) = (&volume.rbd, &ev.rbd) {
            let pool = |p: &Option<String>| p.clone().unwrap_or_else(|| "rbd".to_string());
            let overlap = d.monitors.iter().any(|m| e.monitors.contains(m));
            if overlap
                && pool(&d.pool) == pool(&e.pool)
                && d.image == e.image
                && !(d.read_only.unwrap_or(false) && e.read_only.unwrap_or(false))
            {
                return true;
            }
        }
        false
    })
}

impl FilterPlugin for VolumeRestrictions {
    fn filter(&self, state: &CycleState, pod: &Pod, node: &NodeInfo) -> Status {
        let volumes = pod
            .spec
            .as_ref()
            .and_then(|s| s.volumes.as_deref())
            .unwrap_or(&[]);
        for v in volumes.iter().filter(|v| needs_restrictions_check(v)) {
            if node.pods.iter().any(|p| is_volume_conflict(v, &p.pod)) {
                return Status::unschedulable(ERR_REASON_DISK_CONFLICT);
            }
        }
        if state
            .read::<PreFilterState>(STATE_KEY)
            .is_some_and(|s| s.conflicting_rwop_pods > 0)
        {
            return Status::unschedulable(ERR_REASON_READ_WRITE_ONCE_POD_CONFLICT);
        }
        Status::success()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framework::Code;
    use crate::framework::types::ClusterObjects;
    use crate::testing::{bound, node, node_info, pod};
    use serde_json::json;
    use std::sync::Arc;

    fn vol_pod(name: &str, volume: serde_json::Value) -> Arc<Pod> {
        pod(name, json!({"volumes": [volume]}))
    }

    #[test]
    fn the_same_gce_disk_conflicts_unless_both_are_read_only() {
        let rw = json!({"name": "v", "gcePersistentDisk": {"pdName": "d1"}});
        let ro = json!({"name": "v", "gcePersistentDisk": {"pdName": "d1", "readOnly": true}});
        let n = node_info(
            node("n1", "1", "1Gi", json!({})),
            &[vol_pod("e", ro.clone())],
        );
        let st = CycleState::default();
        let s = VolumeRestrictions.filter(&st, &vol_pod("p", rw), &n);
        assert_eq!(s.code, Code::Unschedulable);
        assert_eq!(s.reasons, vec![ERR_REASON_DISK_CONFLICT]);
        assert!(
            VolumeRestrictions
                .filter(&st, &vol_pod("p", ro), &n)
                .is_success()
        );
    }

    #[test]
    fn the_same_ebs_volume_always_conflicts() {
        let ebs =
            json!({"name": "v", "awsElasticBlockStore": {"volumeID": "vol-1", "readOnly": true}});
        let n = node_info(
            node("n1", "1", "1Gi", json!({})),
            &[vol_pod("e", ebs.clone())],
        );
        assert!(
            !VolumeRestrictions
                .filter(&CycleState::default(), &vol_pod("p", ebs), &n)
                .is_success()
        );
    }

    #[test]
    fn iscsi_and_rbd_conflict_on_the_same_target() {
        let iscsi = json!({"name": "v", "iscsi": {"targetPortal": "t", "iqn": "iqn.1", "lun": 0}});
        let n = node_info(
            node("n1", "1", "1Gi", json!({})),
            &[vol_pod("e", iscsi.clone())],
        );
        assert!(
            !VolumeRestrictions
                .filter(&CycleState::default(), &vol_pod("p", iscsi), &n)
                .is_success()
        );
        let rbd = |mons: serde_json::Value| json!({"name": "v", "rbd": {"monitors": mons, "image": "img"}});
        let n = node_info(
            node("n1", "1", "1Gi", json!({})),
            &[vol_pod("e", rbd(json!(["m1", "m2"])))],
        );
        let st = CycleState::default();
        assert!(
            !VolumeRestrictions
                .filter(&st, &vol_pod("p", rbd(json!(["m2"]))), &n)
                .is_success()
        );
        assert!(
            VolumeRestrictions
                .filter(&st, &vol_pod("p", rbd(json!(["m3"]))), &n)
                .is_success()
        );
    }

    #[test]
    fn a_read_write_once_pod_claim_in_use_rejects_every_node() {
        let claim = json!({"name": "v", "persistentVolumeClaim": {"claimName": "data"}});
        let pvc =
            serde_json::from_value(json!({"metadata": {"name": "data", "namespace": "default"},
            "spec": {"accessModes": ["ReadWriteOncePod"]}}))
            .unwrap();
        let mut objects = ClusterObjects::default();
        objects.pvcs.insert("default/data".into(), Arc::new(pvc));
        let nodes = [
            node("n1", "1", "1Gi", json!({})),
            node("n2", "1", "1Gi", json!({})),
        ];
        let snap = Snapshot::build(&nodes, &[bound(vol_pod("e", claim.clone()), "n1")], objects);
        let p = vol_pod("p", claim);
        let mut st = CycleState::default();
        let (_, s) = VolumeRestrictions.pre_filter(&mut st, &p, &snap);
        assert!(s.is_success());
        let s = VolumeRestrictions.filter(&st, &p, &snap.nodes[1]);
        assert_eq!(s.code, Code::Unschedulable);
        assert_eq!(s.reasons, vec![ERR_REASON_READ_WRITE_ONCE_POD_CONFLICT]);
    }

    #[test]
    fn a_missing_claim_is_unresolvable_at_pre_filter() {
        let p = vol_pod(
            "p",
            json!({"name": "v", "persistentVolumeClaim": {"claimName": "nope"}}),
        );
        let (_, s) =
            VolumeRestrictions.pre_filter(&mut CycleState::default(), &p, &Snapshot::default());
        assert_eq!(s.reasons, vec!["persistentvolumeclaim \"nope\" not found"]);
    }

    #[test]
    fn pods_without_restricted_volumes_skip() {
        let (_, s) = VolumeRestrictions.pre_filter(
            &mut CycleState::default(),
            &pod("p", json!({})),
            &Snapshot::default(),
        );
        assert!(s.is_skip());
    }
}
