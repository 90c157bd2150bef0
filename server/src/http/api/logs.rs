//! Action logs of a repository, an organization (or user namespace) and the signed-in user:
//! pages (`next_page`) and daily counts (`aggregatelogs`), with `starttime`/`endtime`
//! (`MM/DD/YYYY`, UTC) and `performer` filters.

use super::error::ApiError;
use super::input;
use super::views;
use crate::auth::session;
use crate::http::AppState;
use crate::ops::access::ApiCaller;
use crate::ops::logs::{self, Cursor, LogScope, Window};
use axum::Extension;
use axum::extract::{Path, State};
use axum::http::Uri;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use time::{Date, Duration, OffsetDateTime, PrimitiveDateTime, Time};

const NAIVE: &[time::format_description::FormatItem<'static>] =
    time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second].[subsecond digits:6]");

/// `MM/DD/YYYY` (Quay's `%m/%d/%Y`), years 1970–9998 (a day past the end must still exist).
fn mdy(text: &str) -> Result<Date, ApiError> {
    let fmt = time::macros::format_description!("[month]/[day]/[year]");
    let d = Date::parse(text.trim(), &fmt).map_err(|_| ApiError::bad_request())?;
    if !(1970..=9998).contains(&d.year()) {
        return Err(ApiError::bad_request());
    }
    Ok(d)
}

/// The window Quay reads: `starttime` (default a day ago) to the end of `endtime`'s day (default
/// now); a window that ends before it starts is Flask's bare 400.
fn window(uri: &Uri) -> Result<(Window, i64, i64), ApiError> {
    let now = OffsetDateTime::now_utc();
    let start = match input::query(uri, "starttime").filter(|s| !s.is_empty()) {
        Some(s) => PrimitiveDateTime::new(mdy(&s)?, Time::MIDNIGHT).assume_utc(),
        None => now - Duration::days(1),
    };
    let end = match input::query(uri, "endtime").filter(|s| !s.is_empty()) {
        Some(s) => PrimitiveDateTime::new(mdy(&s)?, Time::MIDNIGHT).assume_utc() + Duration::days(1),
        None => now,
    };
    if end < start {
        return Err(ApiError::bad_request());
    }
    let fmt = |t: OffsetDateTime| t.format(NAIVE).map_err(ApiError::internal);
    let ms = |t: OffsetDateTime| (t.unix_timestamp_nanos() / 1_000_000) as i64;
    Ok((Window { from: fmt(start)?, to: fmt(end)? }, ms(start), ms(end)))
}

fn entry(r: &crate::store::logs::LogRow, with_namespace: bool) -> Value {
    let mut v = json!({
        "datetime": views::rfc2822_naive(r.datetime.as_deref()),
        "ip": r.ip,
        "kind": r.kind,
        "metadata": serde_json::from_str::<Value>(&r.metadata_json).unwrap_or_else(|_| json!({})),
    });
    if let Some((name, email, robot)) = &r.performer {
        v["performer"] = json!({
            "avatar": views::avatar(name, Some(email), if *robot { "robot" } else { "user" }),
            "is_robot": robot,
            "kind": "user",
            "name": name,
        });
    }
    if with_namespace && let Some((name, organization, email)) = &r.account {
        let kind = if *organization { "org" } else { "user" };
        v["namespace"] =
            json!({"avatar": views::avatar(name, Some(email), kind), "kind": kind, "name": name});
    }
    v
}

async fn page(ctx: AppState, caller: ApiCaller, scope: LogScope<'_>, uri: Uri) -> Result<Response, ApiError> {
    let (w, start_ms, end_ms) = window(&uri)?;
    let cursor =
        input::query(&uri, "next_page").and_then(|t| session::open(&ctx.session_key, &t)).and_then(|v| {
            if v["log_legacy"].as_bool() == Some(true) {
                Some(Cursor::Legacy)
            } else {
                v["log_before"].as_i64().map(Cursor::Before)
            }
        });
    let performer = input::query(&uri, "performer").filter(|p| !p.is_empty());
    let p = logs::read(&ctx, &caller, scope, &w, performer.as_deref(), cursor).await?;
    let mut v = json!({
        "end_time": views::rfc2822_ms(end_ms),
        "logs": p.rows.iter().map(|r| entry(r, matches!(scope, LogScope::All))).collect::<Vec<_>>(),
        "start_time": views::rfc2822_ms(start_ms),
    });
    if let Some(next) = p.next {
        let token = match next {
            Cursor::Before(id) => json!({ "log_before": id }),
            Cursor::Legacy => json!({ "log_legacy": true }),
        };
        v["next_page"] = json!(session::seal(&ctx.session_key, &token));
    }
    Ok(axum::Json(v).into_response())
}

async fn aggregated(
    ctx: AppState,
    caller: ApiCaller,
    scope: LogScope<'_>,
    uri: Uri,
) -> Result<Response, ApiError> {
    let (w, _, _) = window(&uri)?;
    let performer = input::query(&uri, "performer").filter(|p| !p.is_empty());
    let counts = logs::aggregate(&ctx, &caller, scope, &w, performer.as_deref()).await?;
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    let list: Vec<Value> = counts
        .iter()
        .map(|(kind, day, count)| {
            let when = Date::parse(day, &fmt)
                .map(|d| {
                    views::rfc2822_ms(
                        PrimitiveDateTime::new(d, Time::MIDNIGHT).assume_utc().unix_timestamp() * 1000,
                    )
                })
                .unwrap_or(Value::Null);
            json!({"count": count, "datetime": when, "kind": kind})
        })
        .collect();
    Ok(axum::Json(json!({ "aggregated": list })).into_response())
}

pub async fn repository(
    State(ctx): State<AppState>,
    Extension(c): Extension<ApiCaller>,
    Path((ns, name)): Path<(String, String)>,
    uri: Uri,
) -> Result<Response, ApiError> {
    page(ctx, c, LogScope::Repository { namespace: &ns, name: &name }, uri).await
}
pub async fn repository_aggregate(
    State(ctx): State<AppState>,
    Extension(c): Extension<ApiCaller>,
    Path((ns, name)): Path<(String, String)>,
    uri: Uri,
) -> Result<Response, ApiError> {
    aggregated(ctx, c, LogScope::Repository { namespace: &ns, name: &name }, uri).await
}
pub async fn organization(
    State(ctx): State<AppState>,
    Extension(c): Extension<ApiCaller>,
    Path(org): Path<String>,
    uri: Uri,
) -> Result<Response, ApiError> {
    page(ctx, c, LogScope::Namespace(&org), uri).await
}
pub async fn organization_aggregate(
    State(ctx): State<AppState>,
    Extension(c): Extension<ApiCaller>,
    Path(org): Path<String>,
    uri: Uri,
) -> Result<Response, ApiError> {
    aggregated(ctx, c, LogScope::Namespace(&org), uri).await
}
pub async fn user(
    State(ctx): State<AppState>,
    Extension(c): Extension<ApiCaller>,
    uri: Uri,
) -> Result<Response, ApiError> {
    page(ctx, c, LogScope::Caller, uri).await
}
pub async fn user_aggregate(
    State(ctx): State<AppState>,
    Extension(c): Extension<ApiCaller>,
    uri: Uri,
) -> Result<Response, ApiError> {
    aggregated(ctx, c, LogScope::Caller, uri).await
}
pub async fn superuser(
    State(ctx): State<AppState>,
    Extension(c): Extension<ApiCaller>,
    uri: Uri,
) -> Result<Response, ApiError> {
    page(ctx, c, LogScope::All, uri).await
}
pub async fn superuser_aggregate(
    State(ctx): State<AppState>,
    Extension(c): Extension<ApiCaller>,
    uri: Uri,
) -> Result<Response, ApiError> {
    aggregated(ctx, c, LogScope::All, uri).await
}
