//! Action logs as `/api/v1` reads them: pages of a repository's, a namespace's or the caller's
//! logs, and daily counts, for those allowed to see them. Writes go with each action
//! (`log_entry`, `quay_core::logs`).

use super::access::ApiCaller;

/// Whose action logs.
#[derive(Debug, Clone, Copy)]
pub enum LogScope<'a> {
    /// A repository's (its admins).
    Repository { namespace: &'a str, name: &'a str },
    /// A namespace's (organization admins, or the user itself).
    Namespace(&'a str),
    /// The signed-in user's own account.
    Caller,
    /// Every account's (superusers, with a fresh sign-in).
    All,
}

/// Where a page of logs continues.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cursor {
    /// `logentry3` rows with ids below this.
    Before(i64),
    /// Past the last `logentry3` page: Quay then reads its legacy tables, which we never write,
    /// so this page is empty and ends the paging (its last real page still offers a next one).
    Legacy,
}

/// Entries per page (Quay's).
pub const PAGE: i64 = 20;

/// One page of logs, and where the next one starts.
pub struct LogPage {
    pub rows: Vec<crate::store::logs::LogRow>,
    pub next: Option<Cursor>,
}

/// A time window `[from, to)` of naive UTC timestamps.
#[derive(Debug, Clone)]
pub struct Window {
    pub from: String,
    pub to: String,
}

async fn log_query(
    ctx: &super::Context,
    caller: &ApiCaller,
    scope: LogScope<'_>,
    window: &Window,
    performer: Option<&str>,
) -> Result<crate::store::logs::LogQuery, super::Refused> {
    use super::Refused;
    let (account_id, repository_id) = match scope {
        LogScope::Repository { namespace, name } => {
            let a = super::repositories::authorize(
                ctx,
                caller,
                namespace,
                name,
                super::repositories::Need::Admin,
            )
            .await?;
            (Some(a.namespace_id), Some(a.repository_id))
        }
        LogScope::Namespace(ns) => {
            let access = ctx.store.namespace_access(ns, caller.user_id()).await?;
            caller.require(caller.administers(ctx, access.as_ref()))?;
            (Some(access.ok_or(Refused::NotFound)?.id), None)
        }
        LogScope::Caller => {
            let u = caller.signed_in()?;
            caller.require(caller.has_scope(super::access::Scope::UserAdmin))?;
            (Some(u.id), None)
        }
        LogScope::All => {
            caller.require_superuser(ctx)?;
            caller.require(caller.has_scope(super::access::Scope::SuperUser))?;
            caller.require_fresh(ctx, crate::auth::jwt::now_s() as i64)?;
            (None, None)
        }
    };
    // An unknown performer matches nothing (Quay fails with a 500 here; docs/compat.md).
    let performer_id = match performer {
        Some(p) => Some(ctx.store.account_by_name(p).await?.map_or(i64::MAX, |a| a.id)),
        None => None,
    };
    Ok(crate::store::logs::LogQuery {
        account_id,
        repository_id,
        performer_id,
        from: window.from.clone(),
        to: window.to.clone(),
    })
}

/// A page of action logs, newest first.
pub async fn read(
    ctx: &super::Context,
    caller: &ApiCaller,
    scope: LogScope<'_>,
    window: &Window,
    performer: Option<&str>,
    cursor: Option<Cursor>,
) -> Result<LogPage, super::Refused> {
    let q = log_query(ctx, caller, scope, window, performer).await?;
    let before = match cursor {
        Some(Cursor::Legacy) => return Ok(LogPage { rows: Vec::new(), next: None }),
        Some(Cursor::Before(id)) => id,
        None => i64::MAX,
    };
    let rows = ctx.store.logs_page(&q, before, PAGE).await?;
    let next = match rows.last() {
        Some(last) if rows.len() as i64 == PAGE => Cursor::Before(last.id),
        _ => Cursor::Legacy,
    };
    Ok(LogPage { rows, next: Some(next) })
}

/// `(kind, day, count)` over the window.
pub async fn aggregate(
    ctx: &super::Context,
    caller: &ApiCaller,
    scope: LogScope<'_>,
    window: &Window,
    performer: Option<&str>,
) -> Result<Vec<(String, String, i64)>, super::Refused> {
    let q = log_query(ctx, caller, scope, window, performer).await?;
    Ok(ctx.store.logs_aggregate(&q).await?)
}
