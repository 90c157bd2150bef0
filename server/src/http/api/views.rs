//! The JSON shapes of `/api/v1` answers, as Quay renders them (docs/api-v1.md §2).

use crate::ops::Context;
use crate::ops::access::ApiCaller;
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
    if ApiCaller::names_superuser(ctx, &a.username) {
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
        "global_readonly_super_user": ctx.config.global_readonly_super_users.iter().any(|s| *s == a.username),
        "kind": "user",
        "name": a.username,
        "super_user": ApiCaller::names_superuser(ctx, &a.username),
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
}
