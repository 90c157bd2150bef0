//! Garbage collection and delete cascades, written once for both backends
//! (quay-data-model.md §5). Each entry point runs in the caller's transaction and returns the
//! blobs whose stored content is no longer referenced; the caller deletes those objects from
//! storage after commit (leaking an object beats a row pointing at nothing).

use crate::blobs::EMPTY_LAYER_DIGEST;
use crate::exec::{
    CoreError, CoreResult, Executor, Value, first_int, ints, invalid, json_str, lock, named, now_ms, one_int,
    run,
};
use crate::queue;
use crate::repositories::STATE_MARKED_FOR_DELETION;
use crate::rules::Rule;
use std::collections::BTreeSet;

const SQL: &str = include_str!("../../../sql/gc.sql");

/// A blob whose object may now be deleted from storage (its CAS path is derived from the
/// checksum; the storage row is already gone).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct FreedBlob {
    pub storage_id: i64,
    pub content_checksum: String,
}

fn q(ex: &mut dyn Executor, name: &str, params: &[Value]) -> CoreResult<Vec<Vec<Value>>> {
    run(ex, named(SQL, name), params)
}

fn q_int(ex: &mut dyn Executor, name: &str, params: &[Value]) -> CoreResult<Option<i64>> {
    one_int(ex, named(SQL, name), params)
}

/// Runs every statement of a named script in order ([`crate::exec::run_script`]).
fn script(ex: &mut dyn Executor, name: &str, params: &[Value]) -> CoreResult<()> {
    crate::exec::run_script(ex, named(SQL, name), params)
}

/// Candidates of one collection pass.
#[derive(Default)]
struct Candidates {
    manifests: BTreeSet<i64>,
    blobs: BTreeSet<i64>,
}

struct RepoInfo {
    window_s: i64,
    state: i64,
    name: String,
    namespace: String,
}

fn repository_info(ex: &mut dyn Executor, repository_id: i64) -> CoreResult<Option<RepoInfo>> {
    let rows = q(ex, "repository_for_gc", &[Value::Int(repository_id)])?;
    Ok(rows.first().and_then(|r| {
        Some(RepoInfo {
            window_s: r.first()?.as_i64()?,
            state: r.get(1)?.as_i64()?,
            name: r.get(2)?.as_text()?.to_string(),
            namespace: r.get(3)?.as_text()?.to_string(),
        })
    }))
}

/// Deletes tag rows (and their notification rows, and pull statistics of names left without any
/// generation), adding their manifests to the candidates.
fn delete_tags(
    ex: &mut dyn Executor,
    repository_id: i64,
    rows: &[Vec<Value>],
    c: &mut Candidates,
) -> CoreResult<()> {
    for r in rows {
        let (Some(id), Some(name)) = (r.first().and_then(Value::as_i64), r.get(2).and_then(Value::as_text))
        else {
            continue;
        };
        if let Some(m) = r.get(1).and_then(Value::as_i64) {
            c.manifests.insert(m);
        }
        q(ex, "unlink_tag", &[Value::Int(id)])?;
        q(ex, "delete_tag_notifications", &[Value::Int(id)])?;
        q(ex, "delete_tag", &[Value::Int(id)])?;
        q(ex, "delete_orphan_tag_statistics", &[Value::Int(repository_id), Value::text(name)])?;
    }
    Ok(())
}

/// Quay's collection pass: discover blobs, labels and children of the candidate manifests, then
/// delete every manifest nothing keeps (repeating while that frees more), unused labels and
/// orphaned storage.
fn collect(ex: &mut dyn Executor, mut c: Candidates) -> CoreResult<Vec<FreedBlob>> {
    let mut labels = BTreeSet::new();
    let mut frontier: Vec<i64> = c.manifests.iter().copied().collect();
    while let Some(m) = frontier.pop() {
        c.blobs.extend(ints(&q(ex, "manifest_blobs", &[Value::Int(m)])?));
        labels.extend(ints(&q(ex, "manifest_labels", &[Value::Int(m)])?));
        for child in ints(&q(ex, "manifest_children", &[Value::Int(m)])?) {
            if c.manifests.insert(child) {
                frontier.push(child);
            }
        }
    }
    loop {
        let mut progress = false;
        for m in c.manifests.clone() {
            let rows = q(ex, "unused_manifest", &[Value::Int(m)])?;
            let Some((digest, repo)) =
                rows.first().and_then(|r| Some((r.first()?.as_text()?.to_string(), r.get(1)?.as_i64()?)))
            else {
                continue;
            };
            crate::quota::manifest_removing(ex, repo, m)?;
            script(ex, "delete_manifest_rows", &[Value::Int(m), Value::Int(repo), Value::text(digest)])?;
            c.manifests.remove(&m);
            progress = true;
        }
        if !progress {
            break;
        }
    }
    for label in labels {
        q(ex, "delete_unused_label", &[Value::Int(label)])?;
    }
    let mut freed = Vec::new();
    for blob in c.blobs {
        // Blob commits of this digest take the same lock: no commit can re-reference the row
        // between the orphan check and the delete.
        let sum = q(ex, "storage_checksum", &[Value::Int(blob)])?;
        if let Some(sum) = sum.first().and_then(|r| r.first()).and_then(Value::as_text) {
            lock(ex, &crate::blobs::digest_lock_key(sum))?;
        }
        let rows = q(ex, "orphaned_storage", &[Value::Int(blob)])?;
        let Some(row) = rows.first() else { continue };
        let cas = row.first().and_then(Value::as_bool).unwrap_or(false);
        let checksum = row.get(1).and_then(Value::as_text).map(str::to_string);
        script(ex, "delete_storage_rows", &[Value::Int(blob)])?;
        // A CAS object is shared by every storage row of its checksum: free it with the last one.
        if let (true, Some(sum)) = (cas, checksum)
            && sum != EMPTY_LAYER_DIGEST
            && q_int(ex, "checksum_still_stored", &[Value::text(&sum)])?.is_none()
        {
            freed.push(FreedBlob { storage_id: blob, content_checksum: sum });
        }
    }
    Ok(freed)
}

/// Routine GC of a live repository: tags past the namespace's time-machine window, expired
/// upload links, then whatever manifests, labels and blobs that leaves unreferenced.
pub fn gc_repository(ex: &mut dyn Executor, repository_id: i64) -> CoreResult<Vec<FreedBlob>> {
    let Some(info) = repository_info(ex, repository_id)? else { return Ok(Vec::new()) };
    let now = now_ms(ex)?;
    let mut c = Candidates::default();
    let tags =
        q(ex, "unrecoverable_tags", &[Value::Int(repository_id), Value::Int(now - info.window_s * 1000)])?;
    delete_tags(ex, repository_id, &tags, &mut c)?;
    c.blobs.extend(ints(&q(ex, "delete_expired_uploads", &[Value::Int(repository_id)])?));
    collect(ex, c)
}

/// Marks a repository for deletion the way Quay does (stars gone, renamed to a uuid, state 3,
/// a `deletedrepository` marker) and enqueues its `repositorygc` job. Returns the queue item id.
pub fn repository_delete(ex: &mut dyn Executor, repository_id: i64) -> CoreResult<i64> {
    let info =
        repository_info(ex, repository_id)?.filter(|i| i.state != STATE_MARKED_FOR_DELETION).ok_or_else(
            || invalid(Rule::RepositoryUnknown, format!("repository {repository_id} does not exist")),
        )?;
    let new_name = ex.uuid4();
    script(ex, "mark_repository", &[Value::Int(repository_id), Value::text(new_name)])?;
    let marker =
        first_int(&q(ex, "insert_repository_marker", &[Value::Int(repository_id), Value::text(&info.name)])?)
            .ok_or_else(|| CoreError::Database("deletedrepository insert returned no id".into()))?;
    let body = format!("{{\"marker_id\": {marker}, \"original_name\": {}}}", json_str(&info.name));
    let queue_name = format!("repositorygc/{}/{repository_id}/", info.namespace);
    let item = queue::put(ex, &queue_name, &body, 0, 5)?;
    q(ex, "set_repository_marker_queue", &[Value::Int(marker), Value::text(item.to_string())])?;
    Ok(item)
}

fn purge_repository_rows(ex: &mut dyn Executor, repository_id: i64) -> CoreResult<Vec<FreedBlob>> {
    let repo = Value::Int(repository_id);
    // Parent/child edges first, so collecting in any order cannot loop.
    q(ex, "delete_repository_children", std::slice::from_ref(&repo))?;
    let mut c = Candidates::default();
    let tags = q(ex, "all_tags", std::slice::from_ref(&repo))?;
    delete_tags(ex, repository_id, &tags, &mut c)?;
    c.manifests.extend(ints(&q(ex, "all_manifests", std::slice::from_ref(&repo))?));
    c.blobs.extend(ints(&q(ex, "delete_all_uploads", std::slice::from_ref(&repo))?));
    let freed = collect(ex, c)?;
    if q_int(ex, "all_manifests", std::slice::from_ref(&repo))?.is_some() {
        return Err(CoreError::Database(format!(
            "repository {repository_id} still has manifests after purge"
        )));
    }
    script(ex, "delete_repository_rows", &[repo])?;
    Ok(freed)
}

/// Deletes a repository marked for deletion and everything in it. A repository already gone is
/// done (returns nothing); one not marked is refused (`QUAY_REPOSITORY_NOT_MARKED`).
pub fn repository_purge(ex: &mut dyn Executor, repository_id: i64) -> CoreResult<Vec<FreedBlob>> {
    let Some(info) = repository_info(ex, repository_id)? else { return Ok(Vec::new()) };
    if info.state != STATE_MARKED_FOR_DELETION {
        return Err(invalid(
            Rule::RepositoryNotMarked,
            format!("repository {repository_id} is not marked for deletion (use quay.repository_delete)"),
        ));
    }
    purge_repository_rows(ex, repository_id)
}

struct NamespaceRow {
    username: String,
    email: String,
    enabled: bool,
    robot: bool,
}

fn namespace_row(ex: &mut dyn Executor, namespace_id: i64) -> CoreResult<Option<NamespaceRow>> {
    let rows = q(ex, "namespace_for_delete", &[Value::Int(namespace_id)])?;
    Ok(rows.first().and_then(|r| {
        Some(NamespaceRow {
            username: r.first()?.as_text()?.to_string(),
            email: r.get(1)?.as_text()?.to_string(),
            enabled: r.get(2)?.as_bool()?,
            robot: r.get(3)?.as_bool()?,
        })
    }))
}

/// Marks a user or organization for deletion: its namespaced queue items go, it is disabled and
/// renamed to uuids (the `deletednamespace` marker keeps the old name reserved), its robots are
/// disabled, and a `namespacegc` job is enqueued. Returns the queue item id, or `None` for a
/// namespace that is already disabled (Quay ignores those).
pub fn namespace_delete(ex: &mut dyn Executor, namespace_id: i64) -> CoreResult<Option<i64>> {
    let ns = namespace_row(ex, namespace_id)?
        .ok_or_else(|| invalid(Rule::NamespaceUnknown, format!("namespace {namespace_id} does not exist")))?;
    if ns.robot {
        return Err(invalid(Rule::InvalidArgument, format!("{} is a robot, not a namespace", ns.username)));
    }
    if !ns.enabled || q_int(ex, "namespace_marker", &[Value::Int(namespace_id)])?.is_some() {
        return Ok(None);
    }
    let sole: Vec<String> = q(ex, "sole_admin_of", &[Value::Int(namespace_id)])?
        .iter()
        .filter_map(|r| r.first().and_then(Value::as_text).map(str::to_string))
        .collect();
    if !sole.is_empty() {
        return Err(invalid(
            Rule::NamespaceLastAdmin,
            format!(
                "Cannot delete {} as you are the only admin for organizations: {}",
                ns.username,
                sole.join(", ")
            ),
        ));
    }
    queue::purge_namespace(ex, &ns.username)?;
    let marker = first_int(&q(
        ex,
        "insert_namespace_marker",
        &[Value::Int(namespace_id), Value::text(&ns.username), Value::text(&ns.email)],
    )?)
    .ok_or_else(|| CoreError::Database("deletednamespace insert returned no id".into()))?;
    let (new_name, new_email) = (ex.uuid4(), ex.uuid4());
    script(
        ex,
        "mark_namespace",
        &[Value::Int(namespace_id), Value::text(new_name), Value::text(new_email), Value::text(&ns.username)],
    )?;
    let body = format!("{{\"marker_id\": {marker}, \"original_username\": {}}}", json_str(&ns.username));
    let item = queue::put(ex, &format!("namespacegc/{namespace_id}/"), &body, 0, 5)?;
    q(ex, "set_namespace_marker_queue", &[Value::Int(marker), Value::text(item.to_string())])?;
    Ok(Some(item))
}

/// Deletes a namespace marked for deletion: its repositories (purged), teams, OAuth
/// applications, quotas, mirrors, robots, every row referencing it, and the user row. A
/// namespace already gone is done; an enabled, unmarked one is refused.
pub fn namespace_purge(ex: &mut dyn Executor, namespace_id: i64) -> CoreResult<Vec<FreedBlob>> {
    let Some(ns) = namespace_row(ex, namespace_id)? else { return Ok(Vec::new()) };
    let marker = q(ex, "namespace_marker", &[Value::Int(namespace_id)])?;
    let original = marker.first().and_then(|r| r.get(1)).and_then(Value::as_text).map(str::to_string);
    if original.is_none() && ns.enabled {
        return Err(invalid(
            Rule::NamespaceNotMarked,
            format!("namespace {namespace_id} is not marked for deletion (use quay.namespace_delete)"),
        ));
    }
    let original = original.unwrap_or_else(|| ns.username.clone());
    let id = Value::Int(namespace_id);
    q(ex, "disable_namespace", std::slice::from_ref(&id))?;
    queue::purge_namespace(ex, &ns.username)?;
    queue::purge_namespace(ex, &original)?;
    q(ex, "mark_namespace_repositories", std::slice::from_ref(&id))?;
    let mut freed = Vec::new();
    for repo in ints(&q(ex, "namespace_repositories", std::slice::from_ref(&id))?) {
        freed.extend(purge_repository_rows(ex, repo)?);
    }
    script(ex, "delete_namespace_linked_rows", std::slice::from_ref(&id))?;
    for robot in ints(&q(ex, "namespace_robots", &[Value::text(&ns.username), Value::text(&original)])?) {
        script(ex, "delete_user_rows", &[Value::Int(robot)])?;
    }
    script(ex, "delete_user_rows", &[id])?;
    Ok(freed)
}

/// Repositories that routine GC would collect something from (tags past the window), at most
/// `limit`, by id.
pub fn repositories_with_garbage(ex: &mut dyn Executor, limit: i64) -> CoreResult<Vec<i64>> {
    let now = now_ms(ex)?;
    Ok(ints(&q(ex, "repositories_with_garbage", &[Value::Int(now), Value::Int(limit)])?))
}

/// [`repository_delete`] with its action log (account: the namespace; repository: this one) in
/// the same transaction.
pub fn repository_delete_logged(
    ex: &mut dyn Executor,
    repository_id: i64,
    log: Option<&crate::logs::LogEntry>,
) -> CoreResult<i64> {
    let item = repository_delete(ex, repository_id)?;
    // The mark renames the repository; its id and namespace stay for the log.
    crate::logs::record_for_repository(ex, repository_id, log)?;
    Ok(item)
}
