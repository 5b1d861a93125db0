//! The sync preamble of a pod-owning workload controller (DaemonSet, Job, StatefulSet):
//! find the owner from the queue key in its informer, parse its pod selector, and claim
//! its pods (keep, adopt, release). Entry point: [`claim_owned_pods`].

use std::sync::Arc;

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use kube::ResourceExt;
use kube::api::Api;

use super::claim::{Claimant, claim_pods, owner_is_live};
use super::expectations::Expectations;
use super::informers::{Informed, Informer};
use super::worker::{SyncError, split_key};
use crate::util::owner::Owner;
use crate::util::selector::from_label_selector;

/// What a sync works on once the owner is found and its pods are claimed.
#[derive(Debug)]
pub struct Owned<K> {
    /// The owner as cached.
    pub object: Arc<K>,
    /// Its namespace.
    pub namespace: String,
    /// It as an owner reference.
    pub owner: Owner,
    /// The owner's API in its namespace (for status writes).
    pub live: Api<K>,
    /// The pods it controls after claiming.
    pub pods: Vec<Arc<Pod>>,
}

/// How one controller finds its owner and candidate pods.
pub struct Preamble<'a, K: Informed> {
    /// The client claims go through.
    pub client: &'a kube::Client,
    /// The owners' informer.
    pub owners: &'a Informer<K>,
    /// The pods' informer.
    pub pods: &'a Informer<Pod>,
    /// Forgotten for a key whose owner is gone, so a recreated owner starts afresh.
    pub expectations: Option<&'a Expectations>,
    /// The owner's pod selector (`None`: selects nothing).
    pub selector: fn(&K) -> Option<&LabelSelector>,
    /// Leave pods being deleted out of the candidates (the DaemonSet controller does).
    pub skip_deleting_pods: bool,
}

impl<K: Informed> std::fmt::Debug for Preamble<'_, K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Preamble")
            .field("kind", &K::kind(&()))
            .field("skip_deleting_pods", &self.skip_deleting_pods)
            .finish_non_exhaustive()
    }
}

/// Finds the owner `key` names and claims its pods; `Ok(None)` when the owner no longer
/// exists. A selector that does not parse fails the sync as invalid.
pub async fn claim_owned_pods<K>(
    p: Preamble<'_, K>,
    key: &str,
) -> Result<Option<Owned<K>>, SyncError>
where
    K: Informed + kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>,
{
    let (ns, name) = split_key(key);
    let Some(object) = p.owners.get(ns, name) else {
        if let Some(e) = p.expectations {
            e.delete(key);
        }
        return Ok(None);
    };
    let namespace = object.namespace().unwrap_or_default();
    let selector = from_label_selector((p.selector)(&object)).map_err(|e| SyncError::Invalid {
        key: key.into(),
        message: e.to_string(),
    })?;
    let owner = Owner::new(
        &K::api_version(&()),
        &K::kind(&()),
        name,
        object.meta().uid.as_deref().unwrap_or_default(),
    );
    let candidates: Vec<Arc<Pod>> = p
        .pods
        .list()
        .into_iter()
        .filter(|pod| {
            pod.metadata.namespace.as_deref() == Some(namespace.as_str())
                && !(p.skip_deleting_pods && pod.metadata.deletion_timestamp.is_some())
        })
        .collect();
    let live: Api<K> = Api::namespaced(p.client.clone(), &namespace);
    let who = Claimant {
        owner: &owner,
        deleting: object.meta().deletion_timestamp.is_some(),
        selector: selector.as_ref(),
    };
    let pods = claim_pods(
        p.client,
        &namespace,
        who,
        &candidates,
        owner_is_live(live.clone(), name, &owner.uid),
    )
    .await?;
    Ok(Some(Owned {
        object,
        namespace,
        owner,
        live,
        pods,
    }))
}
