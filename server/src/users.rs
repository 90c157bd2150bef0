//! User accounts as Quay stores them (`user` table, bcrypt passwords).

use crate::auth::password;
use crate::store::{NewUser, Store, UserCredentials};
use anyhow::bail;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ensured {
    Created,
    /// The user exists and the given password already matches: nothing changed.
    AlreadyPresent,
}

/// Creates a database user unless one with this name exists. Re-running with the same password
/// is a no-op; a different password is refused rather than silently ignored or overwritten.
pub async fn ensure_user(
    store: &Store,
    username: &str,
    password: &str,
    email: Option<&str>,
    removed_tag_expiration_s: u64,
) -> anyhow::Result<Ensured> {
    if let Some(existing) = store.user_credentials(username).await? {
        return check_existing(&existing, password);
    }
    let new = NewUser {
        username: username.to_string(),
        email: email.map(str::to_string).unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
        password_hash: password::hash(password)?,
        removed_tag_expiration_s: i64::try_from(removed_tag_expiration_s).unwrap_or(i64::MAX),
    };
    if store.insert_user(&new).await? {
        return Ok(Ensured::Created);
    }
    // Lost a race with a concurrent creator: judge the row that won.
    match store.user_credentials(username).await? {
        Some(existing) => check_existing(&existing, password),
        None => bail!("could not create user {username}"),
    }
}

fn check_existing(existing: &UserCredentials, password: &str) -> anyhow::Result<Ensured> {
    if existing.organization || existing.robot {
        bail!("{} already exists as an organization or robot account", existing.username);
    }
    match &existing.password_hash {
        Some(h) if password::verify(password, h) => Ok(Ensured::AlreadyPresent),
        _ => bail!("user {} already exists with a different password; not changed", existing.username),
    }
}

/// Checks a username and password the way Quay's database authentication does: the user must
/// exist, be enabled, be neither an organization nor a robot, and the bcrypt hash must match.
pub async fn verify_login(
    store: &Store,
    username: &str,
    password: &str,
) -> anyhow::Result<Option<UserCredentials>> {
    let Some(user) = store.user_credentials(username).await? else { return Ok(None) };
    if !user.enabled || user.organization || user.robot {
        return Ok(None);
    }
    let ok = user.password_hash.as_deref().is_some_and(|h| password::verify(password, h));
    Ok(ok.then_some(user))
}
