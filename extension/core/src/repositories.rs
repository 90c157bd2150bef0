//! Creating repositories (Quay's `create_repository`, quay-data-model.md §1.3), written once for
//! both backends: the repository row, its action-count and search-score rows, admin for the
//! creating user, then the organization's default permissions (prototypes).

use crate::exec::{CoreError, CoreResult, Executor, Value, first_int, invalid, lock, named, run};
use crate::logs::{self, LogEntry};
use crate::names;
use crate::rules::Rule;

const SQL: &str = include_str!("../../../sql/repositories.sql");

fn q(ex: &mut dyn Executor, name: &str, params: &[Value]) -> CoreResult<Vec<Vec<Value>>> {
    run(ex, named(SQL, name), params)
}

/// Repository state `NORMAL` (Quay's `RepositoryState`): the only one that accepts writes.
pub const STATE_NORMAL: i64 = 0;
/// Repository state `MARKED_FOR_DELETION`: invisible to every lookup.
pub const STATE_MARKED_FOR_DELETION: i64 = 3;

/// A live repository as the registry sees it before deciding anything
/// (`permissions::repository_access`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoRef {
    pub id: i64,
    pub namespace_id: i64,
    pub public: bool,
    pub is_image: bool,
    pub state: i64,
    pub namespace_enabled: bool,
}

fn state(ex: &mut dyn Executor, repository_id: i64) -> CoreResult<Option<i64>> {
    Ok(first_int(&q(ex, "repository_state", &[Value::Int(repository_id)])?))
}

/// Fails with `QUAY_REPOSITORY_UNKNOWN` unless the repository exists and is not marked for deletion.
pub fn require_live_repository(ex: &mut dyn Executor, repository_id: i64) -> CoreResult<()> {
    match state(ex, repository_id)? {
        Some(s) if s != STATE_MARKED_FOR_DELETION => Ok(()),
        _ => Err(invalid(Rule::RepositoryUnknown, format!("repository {repository_id} does not exist"))),
    }
}

/// As [`require_live_repository`], and fails with `QUAY_REPOSITORY_NOT_WRITABLE` unless the
/// repository is `NORMAL`: read-only and mirrored repositories take no pushes, tag changes or
/// deletes from any writer (Quay checks this in its endpoints; here it holds for every caller).
pub fn require_writable_repository(ex: &mut dyn Executor, repository_id: i64) -> CoreResult<()> {
    match state(ex, repository_id)? {
        Some(STATE_NORMAL) => Ok(()),
        Some(s) if s != STATE_MARKED_FOR_DELETION => Err(invalid(
            Rule::RepositoryNotWritable,
            format!("repository {repository_id} is read-only or mirrored (state {s}) and takes no writes"),
        )),
        _ => Err(invalid(Rule::RepositoryUnknown, format!("repository {repository_id} does not exist"))),
    }
}

/// May `user_id` create repositories in namespace `namespace_id` (its own namespace, or an
/// organization where it is in an admin or creator team)?
pub fn can_create(ex: &mut dyn Executor, user_id: i64, namespace_id: i64) -> CoreResult<bool> {
    Ok(!q(ex, "can_create", &[Value::Int(user_id), Value::Int(namespace_id)])?.is_empty())
}

/// The live repository `name` in the namespace, creating it (private unless `public`) when it
/// does not exist. `creator_id` must be allowed to create there ([`can_create`]). Returns the
/// repository id and whether it was created now. Concurrent callers get the same repository.
pub fn create(
    ex: &mut dyn Executor,
    namespace_id: i64,
    name: &str,
    public: bool,
    creator_id: i64,
) -> CoreResult<(i64, bool)> {
    create_with(ex, namespace_id, name, public, creator_id, None, false, None)
}

/// [`create`] with a description and the action log (`create_repo`; account: the namespace,
/// repository: the new one) written in the same transaction when the repository is created
/// (`/api/v1/repository`). An existing repository is returned unchanged, nothing logged.
/// `superuser`: the caller vouches that the creator is a superuser with
/// `FEATURE_SUPERUSERS_FULL_ACCESS` (configuration the database does not hold), who may create in
/// any namespace; it still becomes the repository's admin.
#[allow(clippy::too_many_arguments)]
pub fn create_with(
    ex: &mut dyn Executor,
    namespace_id: i64,
    name: &str,
    public: bool,
    creator_id: i64,
    description: Option<&str>,
    superuser: bool,
    log: Option<&LogEntry>,
) -> CoreResult<(i64, bool)> {
    if !names::is_valid_repository_name(name) {
        return Err(invalid(Rule::NameInvalid, "Invalid repository name"));
    }
    let ns = q(ex, "namespace", &[Value::Int(namespace_id)])?;
    let Some(ns) = ns.first() else {
        return Err(invalid(Rule::NamespaceUnknown, format!("namespace {namespace_id} does not exist")));
    };
    if ns.get(1).and_then(Value::as_bool) != Some(true) {
        return Err(invalid(Rule::NamespaceDisabled, format!("namespace {namespace_id} is disabled")));
    }
    let organization = ns.get(2).and_then(Value::as_bool).unwrap_or(false);
    if !superuser && !can_create(ex, creator_id, namespace_id)? {
        return Err(invalid(
            Rule::PermissionDenied,
            format!("user {creator_id} may not create repositories in namespace {namespace_id}"),
        ));
    }
    let key = Value::text(name);
    lock(ex, &format!("quay:repository:create:{namespace_id}:{name}"))?;
    if let Some(id) = first_int(&q(ex, "live_repository", &[Value::Int(namespace_id), key.clone()])?) {
        return Ok((id, false));
    }
    let visibility = if public { "public" } else { "private" };
    let badge = ex.uuid4();
    let id = first_int(&q(
        ex,
        "insert_repository",
        &[Value::Int(namespace_id), key, Value::text(visibility), Value::text(badge)],
    )?)
    .ok_or_else(|| CoreError::Database("repository insert returned no id".into()))?;
    let rid = Value::Int(id);
    q(ex, "insert_action_count", std::slice::from_ref(&rid))?;
    q(ex, "insert_search_score", std::slice::from_ref(&rid))?;
    q(ex, "creator_admin", &[Value::Int(creator_id), rid.clone()])?;
    if organization {
        let prototypes = q(ex, "prototypes", &[Value::Int(namespace_id), Value::Int(creator_id)])?;
        for p in prototypes {
            let role = p.get(2).and_then(Value::as_i64).unwrap_or(3);
            if let Some(user) = p.first().and_then(Value::as_i64) {
                q(ex, "grant_user", &[Value::Int(user), rid.clone(), Value::Int(role)])?;
            } else if let Some(team) = p.get(1).and_then(Value::as_i64) {
                q(ex, "grant_team", &[Value::Int(team), rid.clone(), Value::Int(role)])?;
            }
        }
    }
    if let Some(d) = description {
        q(ex, "set_description", &[rid.clone(), Value::text(d)])?;
    }
    logs::record_for_repository(ex, id, log)?;
    Ok((id, true))
}

/// The namespace of a live repository (`QUAY_REPOSITORY_UNKNOWN` otherwise).
fn live_namespace(ex: &mut dyn Executor, repository_id: i64) -> CoreResult<i64> {
    first_int(&q(ex, "live_namespace", &[Value::Int(repository_id)])?)
        .ok_or_else(|| invalid(Rule::RepositoryUnknown, format!("repository {repository_id} does not exist")))
}

/// Sets a live repository's description and writes `log` (account: its namespace) in the same
/// transaction.
pub fn set_description(
    ex: &mut dyn Executor,
    repository_id: i64,
    description: &str,
    log: Option<&LogEntry>,
) -> CoreResult<()> {
    live_namespace(ex, repository_id)?;
    q(ex, "set_description", &[Value::Int(repository_id), Value::text(description)])?;
    logs::record_for_repository(ex, repository_id, log)
}

/// Makes a live repository public or private and writes `log` in the same transaction.
pub fn set_visibility(
    ex: &mut dyn Executor,
    repository_id: i64,
    public: bool,
    log: Option<&LogEntry>,
) -> CoreResult<()> {
    live_namespace(ex, repository_id)?;
    let visibility = if public { "public" } else { "private" };
    q(ex, "set_visibility", &[Value::Int(repository_id), Value::text(visibility)])?;
    logs::record_for_repository(ex, repository_id, log)
}

/// The repository's tag lock: every tag write, auto-prune and a state change take it, so no two
/// of them interleave in one repository.
pub(crate) fn tag_lock_key(repository_id: i64) -> String {
    format!("quay:retarget_tag:{repository_id}")
}

/// Repository state `READ_ONLY`: takes no writes.
pub const STATE_READ_ONLY: i64 = 1;
/// Repository state `MIRROR`: written only by its mirror.
pub const STATE_MIRROR: i64 = 2;
/// Repository state `ORG_MIRROR`: owned by its organization's mirror configuration.
pub const STATE_ORG_MIRROR: i64 = 4;

/// Sets a live repository's state (`NORMAL`, `READ_ONLY` or `MIRROR`; Quay's
/// `set_repository_state`) and writes `log` in the same transaction. Takes the repository's tag
/// lock first, the lock under which every tag write checks the state, so no tag write commits
/// after a change to a state that refuses it. A repository its organization's mirror owns
/// (`ORG_MIRROR`) keeps its state (`QUAY_REPOSITORY_NOT_WRITABLE`).
pub fn set_state(
    ex: &mut dyn Executor,
    repository_id: i64,
    new_state: i64,
    log: Option<&LogEntry>,
) -> CoreResult<()> {
    if ![STATE_NORMAL, STATE_READ_ONLY, STATE_MIRROR].contains(&new_state) {
        return Err(invalid(
            Rule::InvalidArgument,
            format!("{new_state} is not a repository state one may set"),
        ));
    }
    lock(ex, &tag_lock_key(repository_id))?;
    match state(ex, repository_id)? {
        Some(STATE_ORG_MIRROR) => Err(invalid(
            Rule::RepositoryNotWritable,
            "the state of a repository its organization mirrors cannot be changed",
        )),
        Some(s) if s != STATE_MARKED_FOR_DELETION => {
            q(ex, "set_state", &[Value::Int(repository_id), Value::Int(new_state)])?;
            logs::record_for_repository(ex, repository_id, log)
        }
        _ => Err(invalid(Rule::RepositoryUnknown, format!("repository {repository_id} does not exist"))),
    }
}

/// Quay's repository action counter: yesterday's log entries per live repository into
/// `repositoryactioncount` (a count already there is kept, so running it again, or on several
/// workers at once, changes nothing). Returns how many repositories were counted.
pub fn count_actions_yesterday(ex: &mut dyn Executor) -> CoreResult<usize> {
    Ok(q(ex, "count_actions_yesterday", &[])?.len())
}

/// What a push creates: the repository `namespace/name`, creating the namespace first as an
/// organization owned by `creator_id` when it does not exist and `namespace_expiration_s` (its
/// `removed_tag_expiration_s`) is given (CREATE_NAMESPACE_ON_PUSH). One transaction: a refused
/// repository leaves no namespace behind. Returns the repository id, whether the namespace and
/// whether the repository were created now.
pub fn create_on_push(
    ex: &mut dyn Executor,
    namespace: &str,
    name: &str,
    public: bool,
    creator_id: i64,
    namespace_expiration_s: Option<i64>,
) -> CoreResult<(i64, bool, bool)> {
    let found = first_int(&q(ex, "namespace_id_by_name", &[Value::text(namespace)])?);
    let (namespace_id, namespace_created) = match (found, namespace_expiration_s) {
        (Some(id), _) => (id, false),
        (None, Some(expiration)) => crate::organizations::create(ex, namespace, creator_id, expiration)?,
        (None, None) => {
            return Err(invalid(Rule::NamespaceUnknown, format!("namespace {namespace:?} does not exist")));
        }
    };
    let (repository_id, created) = create(ex, namespace_id, name, public, creator_id)?;
    Ok((repository_id, namespace_created, created))
}
