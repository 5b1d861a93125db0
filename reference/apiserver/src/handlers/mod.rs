//! Resource request handlers, one module per verb family, and the dispatch from
//! (method, path) to them.
//!
//! Entry point: [`dispatch`] with a [`Ctx`] built by the router.

use std::sync::Arc;

use axum::response::Response;
use bytes::Bytes;
use http::{HeaderMap, Method};
use serde_json::Value;

use crate::negotiate::Output;
use crate::request::{Query, ResourcePath};
use crate::state::AppState;
use crate::status::ApiError;

pub mod create;
pub mod delete;
pub mod eviction;
pub mod list_merge;
pub mod read;
pub mod subresources;
pub mod update;

/// Everything a handler needs about one request.
pub struct Ctx {
    pub state: Arc<AppState>,
    pub method: Method,
    pub path: ResourcePath,
    pub query: Query,
    pub headers: HeaderMap,
    pub output: Output,
    pub body: Bytes,
}

impl Ctx {
    /// `?dryRun=All`: run the whole chain but do not persist.
    pub fn dry_run(&self) -> bool {
        self.query.get("dryRun") == Some("All")
    }

    /// Parses the body as JSON or YAML (by Content-Type) into a plain value.
    pub fn body_value(&self) -> Result<Value, ApiError> {
        let format = crate::negotiate::body_format(&self.headers)?;
        let parsed = match format {
            refkube_resources::decode::Format::Json => {
                serde_json::from_slice(&self.body).map_err(|e| e.to_string())
            }
            refkube_resources::decode::Format::Yaml => {
                refkube_resources::decode::yaml_value(&self.body).map_err(|e| e.to_string())
            }
        };
        parsed.map_err(|e| ApiError::bad_request(format!("error decoding request body: {e}")))
    }
}

/// Routes a resource request to its handler.
pub async fn dispatch(ctx: Ctx) -> Result<Response, ApiError> {
    let info = ctx.path.info;
    let name = ctx.path.name.clone();
    let sub = ctx.path.subresource.clone();
    if let Some(s) = sub.as_deref() {
        let namespace_finalize = info.plural == "namespaces" && s == "finalize";
        if !info.has_subresource(s) && !namespace_finalize {
            return Err(ApiError::no_route());
        }
    }
    if info.namespaced && ctx.path.namespace.is_none() {
        // All-namespace paths serve list and watch only.
        if name.is_some() {
            return Err(ApiError::no_route());
        }
        if ctx.method != Method::GET {
            return Err(ApiError::method_not_allowed());
        }
    }
    // Create-only kinds (the reviews) are answered by their own handlers before
    // routing gets here; any other method on them is not allowed, as upstream.
    if !info.verbs.iter().any(|v| *v != "create") {
        return Err(ApiError::method_not_allowed());
    }
    if info.plural == "componentstatuses" {
        return crate::componentstatus::handle(&ctx).await;
    }
    let m = &ctx.method;
    match (name.as_deref(), sub.as_deref()) {
        (None, None) if m == Method::GET && ctx.query.flag("watch") => {
            crate::watch::serve(&ctx).await
        }
        (None, None) if m == Method::GET => read::list(&ctx).await,
        (None, None) if m == Method::POST => create::create(&ctx).await,
        (None, None) if m == Method::DELETE => delete::delete_collection(&ctx).await,
        (Some(n), None | Some("status" | "ephemeralcontainers" | "approval"))
            if m == Method::GET =>
        {
            read::get(&ctx, n).await
        }
        (Some(n), Some("scale")) if m == Method::GET => subresources::scale_get(&ctx, n).await,
        (Some(n), Some("log")) if m == Method::GET => crate::logs::proxy(&ctx, n).await,
        (Some(n), Some("binding")) if m == Method::POST => subresources::bind(&ctx, n).await,
        (Some(n), Some("eviction")) if m == Method::POST => subresources::evict(&ctx, n).await,
        (Some(n), None) if m == Method::PUT => update::put(&ctx, n, update::Target::Main).await,
        (Some(n), Some("status")) if m == Method::PUT => {
            update::put(&ctx, n, update::Target::Status).await
        }
        (Some(n), Some("approval")) if m == Method::PUT => {
            update::put(&ctx, n, update::Target::Approval).await
        }
        (Some(n), Some("approval")) if m == Method::PATCH => {
            update::patch(&ctx, n, update::Target::Approval).await
        }
        (Some(n), Some("finalize")) if m == Method::PUT => {
            update::put(&ctx, n, update::Target::Finalize).await
        }
        (Some(n), Some("scale")) if m == Method::PUT => subresources::scale_put(&ctx, n).await,
        (Some(n), Some("ephemeralcontainers")) if m == Method::PUT => {
            update::put(&ctx, n, update::Target::EphemeralContainers).await
        }
        (Some(n), Some("ephemeralcontainers")) if m == Method::PATCH => {
            update::patch(&ctx, n, update::Target::EphemeralContainers).await
        }
        (Some(n), None) if m == Method::PATCH => update::patch(&ctx, n, update::Target::Main).await,
        (Some(n), Some("status")) if m == Method::PATCH => {
            update::patch(&ctx, n, update::Target::Status).await
        }
        (Some(n), Some("scale")) if m == Method::PATCH => subresources::scale_patch(&ctx, n).await,
        (Some(n), None) if m == Method::DELETE => delete::delete(&ctx, n).await,
        _ => Err(ApiError::method_not_allowed()),
    }
}
