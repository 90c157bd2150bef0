//! What superusers see of the whole instance (`/api/v1/superuser/...`): the registry's size as
//! last computed, the service keys, and the change log of this build.

use super::access::ApiCaller;
use super::{Context, Refused};
use crate::store::instance::{RegistrySize, ServiceKey};

fn superuser(ctx: &Context, caller: &ApiCaller) -> Result<(), Refused> {
    caller.require_superuser(ctx)?;
    caller.require(caller.has_scope(super::access::Scope::SuperUser))?;
    Ok(())
}

/// `GET /api/v1/superuser/registrysize/` (fresh sign-in).
pub async fn registry_size(ctx: &Context, caller: &ApiCaller) -> Result<RegistrySize, Refused> {
    superuser(ctx, caller)?;
    caller.require_fresh(ctx, crate::auth::jwt::now_s() as i64)?;
    Ok(ctx.store.registry_size().await?)
}

/// `GET /api/v1/superuser/keys`.
pub async fn service_keys(ctx: &Context, caller: &ApiCaller) -> Result<Vec<ServiceKey>, Refused> {
    superuser(ctx, caller)?;
    Ok(ctx.store.service_keys().await?)
}

/// `GET /api/v1/superuser/changelog/` (fresh sign-in): this build's version and where its
/// changes are described.
pub async fn changelog(ctx: &Context, caller: &ApiCaller) -> Result<String, Refused> {
    superuser(ctx, caller)?;
    caller.require_fresh(ctx, crate::auth::jwt::now_s() as i64)?;
    Ok(format!(
        "quay-rs {}\n\nThe changes of each release are in the project's repository (docs/api-v1.md, docs/compat.md).\n",
        env!("CARGO_PKG_VERSION")
    ))
}
