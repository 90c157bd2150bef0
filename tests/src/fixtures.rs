//! Portable SQL that builds test data in a Quay schema, on PostgreSQL and SQLite alike (explicit
//! ids, literal timestamps, `true`/`false`).

/// A fake content digest: `sha256:` and 64 copies of a hex digit pair.
pub fn digest(n: u8) -> String {
    format!("sha256:{}", format!("{n:02x}").repeat(32))
}

/// A user, organization or robot row.
pub fn user(id: i64, username: &str, organization: bool, robot: bool, window_s: i64) -> String {
    format!(
        "INSERT INTO \"user\" (id, username, email, verified, organization, robot, invoice_email, \
         last_invalid_login, removed_tag_expiration_s, enabled) VALUES ({id}, '{username}', \
         '{username}@example.com', true, {organization}, {robot}, false, '2020-01-01 00:00:00', {window_s}, true)"
    )
}

/// A repository (private unless `public`).
pub fn repo(id: i64, namespace_id: i64, name: &str, public: bool) -> String {
    format!(
        "INSERT INTO repository (id, namespace_user_id, name, visibility_id, badge_token, kind_id, state) \
         VALUES ({id}, {namespace_id}, '{name}', (SELECT id FROM visibility WHERE name = '{}'), 'x', 1, 0)",
        if public { "public" } else { "private" }
    )
}

/// A stored blob (storage + placement in `local`) linked to a repository by an upload link that
/// expires in the future, or has expired.
pub fn blob(storage_id: i64, digest: &str, repository_id: i64, expired: bool) -> Vec<String> {
    let expires = if expired { "2000-01-01 00:00:00" } else { "2999-01-01 00:00:00" };
    vec![
        format!(
            "INSERT INTO imagestorage (id, uuid, image_size, uploading, cas_path, content_checksum) \
             VALUES ({storage_id}, 'uuid-{storage_id}', 100, false, true, '{digest}')"
        ),
        format!(
            "INSERT INTO imagestorageplacement (storage_id, location_id) \
             VALUES ({storage_id}, (SELECT id FROM imagestoragelocation WHERE name = 'local'))"
        ),
        link(storage_id, repository_id, expires),
    ]
}

/// An upload link of an existing blob into a repository.
pub fn link(storage_id: i64, repository_id: i64, expires_at: &str) -> String {
    format!(
        "INSERT INTO uploadedblob (repository_id, blob_id, uploaded_at, expires_at) \
         VALUES ({repository_id}, {storage_id}, '2020-01-01 00:00:00', '{expires_at}')"
    )
}

/// A team of an organization with a team role (`admin`, `creator`, `member`).
pub fn team(id: i64, org_id: i64, name: &str, role: &str) -> String {
    format!(
        "INSERT INTO team (id, name, organization_id, role_id, description) \
         VALUES ({id}, '{name}', {org_id}, (SELECT id FROM teamrole WHERE name = '{role}'), '')"
    )
}

pub fn member(team_id: i64, user_id: i64) -> String {
    format!("INSERT INTO teammember (user_id, team_id) VALUES ({user_id}, {team_id})")
}

/// A repository permission for a user (`Some`) or a team.
pub fn grant(repository_id: i64, user_id: Option<i64>, team_id: Option<i64>, role: &str) -> String {
    let u = user_id.map_or("NULL".to_string(), |v| v.to_string());
    let t = team_id.map_or("NULL".to_string(), |v| v.to_string());
    format!(
        "INSERT INTO repositorypermission (team_id, user_id, repository_id, role_id) \
         VALUES ({t}, {u}, {repository_id}, (SELECT id FROM role WHERE name = '{role}'))"
    )
}
