//! The authorization-dependent admission of writes: NodeRestriction for kubelets and
//! the RBAC escalation check, judged by the user of the request being served.
//!
//! Entry point: [`admit`], called by the create, update and delete paths. The
//! server's own writes (no request user) pass, as upstream's loopback client does.

use refkube_resources::ResourceInfo;
use serde_json::Value;

use super::noderestriction::{self, Operation, Request};
use crate::state::AppState;
use crate::status::ApiError;

fn meta<'a>(o: Option<&'a Value>, field: &str) -> &'a str {
    o.and_then(|o| o["metadata"][field].as_str())
        .unwrap_or_default()
}

/// Checks one write of `info` (`object` the new state, `old` the stored one).
pub fn admit(
    state: &AppState,
    info: &ResourceInfo,
    operation: Operation,
    subresource: &str,
    object: Option<&Value>,
    old: Option<&Value>,
) -> Result<(), ApiError> {
    let Some(user) = super::request_user() else {
        return Ok(());
    };
    let either = object.or(old);
    let request = Request {
        operation,
        group: info.group,
        resource: info.plural,
        subresource,
        namespace: meta(either, "namespace"),
        name: meta(either, "name"),
        object,
        old,
    };
    noderestriction::admit(&user, &request, &state.caches)?;
    if (info.group, info.plural) == (crate::certificates::GROUP, crate::certificates::PLURAL)
        && operation == Operation::Update
        && let (Some(new), Some(old)) = (object, old)
    {
        crate::certificates::admit(state, &user, subresource, new, old)?;
    }
    if info.group == "rbac.authorization.k8s.io"
        && operation != Operation::Delete
        && let Some(obj) = object
    {
        super::escalation::check(
            &state.authorizer,
            &state.caches,
            &user,
            info.plural,
            request.namespace,
            obj,
            old,
        )?;
    }
    Ok(())
}
