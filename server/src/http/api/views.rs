//! The JSON shapes of `/api/v1` answers, as Quay renders them (docs/api-v1.md §2).

use crate::ops::Context;
use crate::store::users::{Account, Membership};
use md5::Digest as _;
use serde_json::{Value, json};

/// Quay's default `AVATAR_COLORS`.
const AVATAR_COLORS: [&str; 32] = [
    "#969696", "#aec7e8", "#ff7f0e", "#ffbb78", "#2ca02c", "#98df8a", "#d62728", "#ff9896", "#9467bd",
    "#c5b0d5", "#8c564b", "#c49c94", "#e377c2", "#f7b6d2", "#7f7f7f", "#c7c7c7", "#bcbd22", "#1f77b4",
    "#17becf", "#9edae5", "#393b79", "#5254a3", "#6b6ecf", "#9c9ede", "#9ecae1", "#31a354", "#b5cf6b",
    "#a1d99b", "#8c6d31", "#ad494a", "#e7ba52", "#a55194",
];

/// `{name, hash, color, kind}`: the hash is the MD5 of the trimmed, lower-cased e-mail (or the
/// name), the colour picked by its first hex digits.
pub fn avatar(name: &str, email_or_id: Option<&str>, kind: &str) -> Value {
    let source = email_or_id.filter(|e| !e.is_empty()).unwrap_or(name).trim().to_lowercase();
    let hash = hex(&md5::Md5::digest(source.as_bytes()));
    // ceil(log16(32)) = 2 hex digits select the colour.
    let pick = usize::from_str_radix(&hash[..2], 16).unwrap_or(0) % AVATAR_COLORS.len();
    json!({"name": name, "hash": hash, "color": AVATAR_COLORS[pick], "kind": kind})
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn account_avatar(a: &Account) -> Value {
    let kind = if a.robot {
        "robot"
    } else if a.organization {
        "org"
    } else {
        "user"
    };
    avatar(&a.username, Some(&a.email), kind)
}

/// `GET /api/v1/user/`: the signed-in user.
pub fn current_user(ctx: &Context, a: &Account, orgs: &[Membership]) -> Value {
    let organizations: Vec<Value> = orgs
        .iter()
        .map(|o| {
            json!({
                "avatar": avatar(&o.name, Some(&o.email), "org"),
                "can_create_repo": o.can_create,
                "is_org_admin": o.is_admin,
                "name": o.name,
                "preferred_namespace": false,
                "public": false,
            })
        })
        .collect();
    let mut v = json!({
        "anonymous": false,
        "avatar": account_avatar(a),
        "can_create_repo": true,
        "company": a.company,
        "email": a.email,
        "family_name": a.family_name,
        "given_name": a.given_name,
        "has_password_set": a.has_password,
        "invoice_email": a.invoice_email,
        "invoice_email_address": a.invoice_email_address,
        "is_free_account": true,
        "is_me": true,
        "location": a.location,
        "logins": [],
        "organizations": organizations,
        "preferred_namespace": false,
        "prompts": [],
        "tag_expiration_s": a.removed_tag_expiration_s,
        "username": a.username,
        "verified": a.verified,
    });
    if ctx.is_superuser_name(&a.username) {
        v["super_user"] = json!(true);
    }
    v
}

/// `GET /api/v1/users/{name}`.
pub fn public_profile(a: &Account) -> Value {
    json!({"anonymous": false, "avatar": account_avatar(a), "username": a.username})
}

/// A person as superuser routes show it.
pub fn superuser_user(ctx: &Context, a: &Account) -> Value {
    json!({
        "avatar": account_avatar(a),
        "email": a.email,
        "enabled": a.enabled,
        "global_readonly_super_user": ctx.config.global_readonly_super_users.contains(&a.username),
        "kind": "user",
        "name": a.username,
        "super_user": ctx.is_superuser_name(&a.username),
        "username": a.username,
        "verified": a.verified,
    })
}

/// `GET /api/v1/organization/{name}`: outsiders see that it exists; members its teams (and which
/// they may open); admins its settings. The organization's own avatar says `kind: "user"`, as
/// Quay's does.
pub fn organization(o: &crate::ops::organizations::Organization) -> Value {
    let a = &o.account;
    let mut v = json!({
        "avatar": avatar(&a.username, Some(&a.email), "user"),
        "email": if o.is_admin { a.email.as_str() } else { "" },
        "is_admin": o.is_admin,
        "is_member": o.is_member,
        "name": a.username,
    });
    if let Some(teams) = &o.teams {
        v["ordered_teams"] = json!(teams.iter().map(|t| t.name.as_str()).collect::<Vec<_>>());
        let map: serde_json::Map<String, Value> = teams
            .iter()
            .map(|t| {
                (
                    t.name.clone(),
                    json!({
                        "avatar": avatar(&t.name, Some(&t.name), "team"),
                        "can_view": o.is_admin || t.caller_is_member,
                        "description": t.description,
                        "is_synced": false,
                        "member_count": t.member_count,
                        "name": t.name,
                        "repo_count": t.repo_count,
                        "role": t.role,
                    }),
                )
            })
            .collect();
        v["teams"] = Value::Object(map);
    }
    if o.is_admin {
        v["invoice_email"] = json!(a.invoice_email);
        v["invoice_email_address"] = json!(a.invoice_email_address);
        v["is_free_account"] = json!(true);
        v["tag_expiration_s"] = json!(a.removed_tag_expiration_s);
    }
    v
}

/// A member (or collaborator) of an organization.
pub fn member(m: &crate::store::organizations::Member) -> Value {
    json!({
        "avatar": avatar(&m.username, Some(&m.email), "user"),
        "kind": "user",
        "name": m.username,
        "repositories": m.repositories,
        "teams": m.teams.iter().map(|t| json!({"avatar": avatar(t, Some(t), "team"), "name": t})).collect::<Vec<_>>(),
    })
}

/// Quay's RFC 2822 timestamps (`Sat, 22 Nov 2026 06:57:01 -0000`) from epoch milliseconds.
pub fn rfc2822_ms(ms: i64) -> Value {
    let fmt = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] -0000"
    );
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&fmt).ok())
        .map_or(Value::Null, Value::from)
}

/// [`rfc2822_ms`] of a naive UTC timestamp as the database returns it
/// (`YYYY-MM-DD HH:MM:SS[.fraction]`); `null` when absent or unreadable.
pub fn rfc2822_naive(text: Option<&str>) -> Value {
    let Some(t) = text else { return Value::Null };
    let fmt = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    let whole = t.split('.').next().unwrap_or(t);
    time::PrimitiveDateTime::parse(whole, &fmt)
        .map_or(Value::Null, |p| rfc2822_ms(p.assume_utc().unix_timestamp() * 1000))
}

/// Quay's repository state names.
pub fn repository_state(state: i64) -> &'static str {
    match state {
        1 => "READ_ONLY",
        2 => "MIRROR",
        3 => "MARKED_FOR_DELETION",
        4 => "ORG_MIRROR",
        _ => "NORMAL",
    }
}

/// `GET /api/v1/repository/{ns}/{name}`.
pub fn repository(
    namespace: &str,
    name: &str,
    d: &crate::store::repositories::RepositoryDetail,
    a: &crate::ops::repositories::Allowed,
    tags: Option<&[crate::store::repositories::TagSummary]>,
) -> Value {
    let mut v = json!({
        "can_admin": a.can_admin(),
        "can_write": a.can_write(),
        "description": d.description,
        "is_free_account": true,
        "is_organization": d.organization,
        "is_public": d.public,
        "is_starred": d.starred,
        "kind": "image",
        "name": name,
        "namespace": namespace,
        "state": repository_state(d.state),
        "status_token": if d.public { "" } else { d.badge_token.as_str() },
        "tag_expiration_s": d.tag_expiration_s,
        "trust_enabled": false,
    });
    if let Some(tags) = tags {
        let map: serde_json::Map<String, Value> = tags
            .iter()
            .map(|t| {
                (
                    t.name.clone(),
                    json!({
                        "last_modified": rfc2822_ms(t.start_ms),
                        "manifest_digest": t.digest,
                        "name": t.name,
                        "size": t.size,
                    }),
                )
            })
            .collect();
        v["tags"] = Value::Object(map);
    }
    v
}

/// A repository in `GET /api/v1/repository` (`is_starred` only for signed-in callers).
pub fn listed_repository(
    r: &crate::store::repositories::RepositoryListed,
    signed_in: bool,
    last_modified: bool,
    popularity: bool,
) -> Value {
    let mut v = json!({
        "description": r.description,
        "is_public": r.public,
        "kind": "image",
        "name": r.name,
        "namespace": r.namespace,
        "state": repository_state(r.state),
    });
    if signed_in {
        v["is_starred"] = json!(r.starred);
    }
    if last_modified {
        v["last_modified"] = json!(r.last_modified_ms.map(|ms| ms / 1000));
    }
    if popularity {
        v["popularity"] = json!(r.action_sum.unwrap_or(0) as f64);
    }
    v
}

/// Quay's OAuth scopes as its UI lists a token's grants: scope, title, icon, whether it is
/// dangerous, and a description (ours, docs/compat.md). Unknown scopes make the list empty, as
/// in Quay.
const SCOPES: [(&str, &str, &str, bool, &str); 8] = [
    (
        "repo:read",
        "View all visible repositories",
        "fa-hdd-o",
        false,
        "Pull every repository the user can see.",
    ),
    (
        "repo:write",
        "Read/Write to any accessible repositories",
        "fa-hdd-o",
        false,
        "Pull and push every repository the user can write to.",
    ),
    (
        "repo:admin",
        "Administer Repositories",
        "fa-hdd-o",
        false,
        "Administer every repository the user administers.",
    ),
    ("repo:create", "Create Repositories", "fa-plus", false, "Create repositories wherever the user may."),
    ("user:read", "Read User Information", "fa-user", false, "Read the user's name and e-mail address."),
    (
        "user:admin",
        "Administer User",
        "fa-gear",
        true,
        "Administer the user's account, robots and their permissions.",
    ),
    (
        "org:admin",
        "Administer Organization",
        "fa-gear",
        true,
        "Administer the user's organizations: robots, teams and members.",
    ),
    (
        "super:user",
        "Super User Access",
        "fa-street-view",
        true,
        "Administer the installation: users, organizations and the superuser panel.",
    ),
];

/// Each scope and its description, for the discovery document's `securityDefinitions`.
pub fn scope_descriptions() -> Value {
    SCOPES.iter().map(|(scope, _, _, _, description)| ((*scope).to_string(), json!(description))).collect()
}

pub fn scope_information(scopes: &str) -> Value {
    let mut out = Vec::new();
    for s in scopes.split([' ', ',']).filter(|s| !s.is_empty()) {
        let Some((scope, title, icon, dangerous, description)) = SCOPES.iter().find(|e| e.0 == s) else {
            return json!([]);
        };
        if !out.iter().any(|v: &Value| v["scope"] == *scope) {
            out.push(json!({"dangerous": dangerous, "description": description, "icon": icon, "scope": scope, "title": title}));
        }
    }
    Value::Array(out)
}

/// `includeStats`'s list as Quay builds it: the stored days first, then every one of the 91 days
/// before today that has none, with a zero count.
pub fn repository_stats(counts: &[(String, i64)], today: time::Date) -> Value {
    let mut out: Vec<Value> = counts.iter().map(|(d, c)| json!({"count": c, "date": d})).collect();
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    for back in 1..crate::ops::repositories::STATS_DAYS {
        let Ok(day) = (today - time::Duration::days(back)).format(&fmt) else { continue };
        if !counts.iter().any(|(d, _)| *d == day) {
            out.push(json!({"count": 0, "date": day}));
        }
    }
    Value::Array(out)
}

/// Quay's empty success: 204 labelled `application/json` (Flask's `return "", 204`).
pub fn no_content() -> axum::response::Response {
    use axum::response::IntoResponse as _;
    (axum::http::StatusCode::NO_CONTENT, [(axum::http::header::CONTENT_TYPE, "application/json")])
        .into_response()
}

#[cfg(test)]
mod tests {
    #[test]
    fn avatar_hashes_the_lowercased_email_and_picks_a_colour() {
        let v = super::avatar("bob", Some(" Bob@Example.com "), "user");
        assert_eq!(v["hash"], "4b9bb80620f03eb3719e0a061c14283d");
        assert_eq!(v["name"], "bob");
        assert_eq!(v["kind"], "user");
        // 0x4b = 75; 75 % 32 = 11.
        assert_eq!(v["color"], "#c49c94");
    }

    #[test]
    fn timestamps_are_quays_rfc_2822() {
        assert_eq!(super::rfc2822_ms(1_795_330_621_000), "Sun, 22 Nov 2026 06:57:01 -0000");
        assert_eq!(
            super::rfc2822_naive(Some("2026-11-22 06:57:01.123456")),
            "Sun, 22 Nov 2026 06:57:01 -0000"
        );
        assert_eq!(super::rfc2822_naive(Some("garbage")), serde_json::Value::Null);
    }
}
