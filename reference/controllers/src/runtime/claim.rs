//! Claiming pods for a controller (`PodControllerRefManager.ClaimPods`): keep ours,
//! adopt matching orphans (after re-reading the owner live), release strays.
//! Entry point: [`claim_pods`].

use std::sync::Arc;

use k8s_openapi::api::core::v1::Pod;
use kube::ResourceExt;
use kube::api::{Api, Patch, PatchParams};
use kube::core::Selector;

use crate::util::owner::{
    Claim, ClaimInput, Owner, adopt_patch, claim, controller_of, release_patch,
};
use crate::util::selector::matches;

/// Who claims, and how to check it still exists before adopting.
#[derive(Debug)]
pub struct Claimant<'a> {
    /// The owner.
    pub owner: &'a Owner,
    /// The owner is being deleted.
    pub deleting: bool,
    /// Its pod selector.
    pub selector: Option<&'a Selector>,
}

fn is_not_found(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == 404)
}

/// Claims `candidates` (one namespace). `still_ours` is awaited once, before the first
/// adoption, and must say whether the owner (same UID, not deleting) still exists.
pub async fn claim_pods<F>(
    client: &kube::Client,
    namespace: &str,
    who: Claimant<'_>,
    candidates: &[Arc<Pod>],
    still_ours: F,
) -> Result<Vec<Arc<Pod>>, kube::Error>
where
    F: Future<Output = Result<bool, kube::Error>>,
{
    let api: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let mut owned = Vec::new();
    let mut adopt = Vec::new();
    for pod in candidates {
        let decision = claim(ClaimInput {
            owner_uid: &who.owner.uid,
            owner_deleting: who.deleting,
            matches: matches(who.selector, pod.metadata.labels.as_ref()),
            controller_uid: controller_of(&pod.metadata).map(|r| r.uid.as_str()),
            object_deleting: pod.metadata.deletion_timestamp.is_some(),
        });
        match decision {
            Claim::Keep => owned.push(pod.clone()),
            Claim::Adopt => adopt.push(pod.clone()),
            Claim::Release => {
                if let Err(e) = api
                    .patch(
                        &pod.name_any(),
                        &PatchParams::default(),
                        &Patch::Merge(release_patch(&pod.metadata, &who.owner.uid)),
                    )
                    .await
                    && !is_not_found(&e)
                {
                    return Err(e);
                }
            }
            Claim::Ignore => {}
        }
    }
    if !adopt.is_empty() && still_ours.await? {
        for pod in adopt {
            match api
                .patch(
                    &pod.name_any(),
                    &PatchParams::default(),
                    &Patch::Merge(adopt_patch(&pod.metadata, who.owner)),
                )
                .await
            {
                Ok(p) => owned.push(Arc::new(p)),
                Err(e) if is_not_found(&e) => {}
                Err(e) => return Err(e),
            }
        }
    }
    Ok(owned)
}

/// `still_ours` for a namespaced owner: re-read it and compare UID and deletion.
pub async fn owner_is_live<K>(api: Api<K>, name: &str, uid: &str) -> Result<bool, kube::Error>
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    Ok(api.get_opt(name).await?.is_some_and(|o| {
        o.meta().uid.as_deref() == Some(uid) && o.meta().deletion_timestamp.is_none()
    }))
}
