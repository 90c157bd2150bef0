//! Auto-prune policies (Quay's `data/model/autoprune.py`): per namespace and per repository, by
//! number of tags (keep the newest N) or by creation date (prune tags older than a duration),
//! optionally limited to the tags a pattern matches (or, with `tag_pattern_matches: false`, to
//! those it does not). A prune ends tags the way a delete does: they stay recoverable in the
//! time machine and GC collects them later.
//!
//! [`prune_repository`] runs under the repository's tag lock (the one every tag write takes), so
//! the alive tags it reads cannot move under it: a concurrent push either lands before (and is
//! counted) or after (and is judged by the next run, which a push queues).

use crate::exec::{CoreResult, Executor, Value, invalid, lock, named, now_ms, one_int, run};
use crate::logs::LogEntry;
use crate::rules::Rule;
use serde_json::{Value as Json, json};

const SQL: &str = include_str!("../../../sql/autoprune.sql");

/// Queue of the prune jobs a push queues (`autoprune/<namespace>/<repository id>/`).
pub const QUEUE: &str = "autoprune";

fn q(ex: &mut dyn Executor, name: &str, params: &[Value]) -> CoreResult<Vec<Vec<Value>>> {
    run(ex, named(SQL, name), params)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Method {
    /// Keep the newest N tags.
    NumberOfTags(i64),
    /// Prune tags created longer ago than this (the text as given, e.g. `"7d"`, and seconds).
    CreationDate(String, i64),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub method: Method,
    pub tag_pattern: Option<String>,
    pub tag_pattern_matches: bool,
}

fn bad(message: &str) -> crate::exec::CoreError {
    invalid(Rule::InvalidArgument, message)
}

/// Quay's `convert_to_timedelta` units (s, m = minutes, h, d, w) and years (`y`, 365 days).
fn duration_s(text: &str) -> Option<i64> {
    let t = text.trim();
    if let Some(years) = t.strip_suffix('y') {
        return years.parse::<i64>().ok().filter(|n| *n > 0)?.checked_mul(365 * 86_400);
    }
    crate::duration::parse_seconds(t).ok().and_then(|s| i64::try_from(s).ok()).filter(|s| *s > 0)
}

impl Policy {
    /// Validates a policy as Quay does, with Quay's messages.
    pub fn new(
        method: &str,
        value: &Json,
        tag_pattern: Option<&Json>,
        matches: Option<&Json>,
    ) -> CoreResult<Policy> {
        let method = match method {
            "number_of_tags" => match value.as_i64() {
                Some(n) if n > 0 && !value.is_boolean() => Method::NumberOfTags(n),
                _ => return Err(bad("Invalid value given for method type")),
            },
            "creation_date" => match value.as_str().and_then(|s| duration_s(s).map(|d| (s, d))) {
                Some((s, d)) => Method::CreationDate(s.to_string(), d),
                None => return Err(bad("Invalid value given for method type")),
            },
            _ => return Err(bad("Invalid method provided")),
        };
        let tag_pattern = match tag_pattern {
            None | Some(Json::Null) => None,
            Some(Json::String(p)) if p.trim().is_empty() => return Err(bad("tag_pattern cannot be empty")),
            Some(Json::String(p)) => {
                let p = p.trim().to_string();
                // Quay checks the pattern only when the worker runs; refusing it here keeps a
                // broken policy out of the table.
                if regex::Regex::new(&p).is_err() {
                    return Err(bad("tag_pattern is not a valid regular expression"));
                }
                Some(p)
            }
            Some(_) => return Err(bad("tag_pattern must be string")),
        };
        let tag_pattern_matches = match matches {
            None | Some(Json::Null) => true,
            Some(Json::Bool(b)) => *b,
            Some(_) => return Err(bad("tag_pattern_matches must be bool")),
        };
        Ok(Policy { method, tag_pattern, tag_pattern_matches })
    }

    pub fn method_name(&self) -> &'static str {
        match self.method {
            Method::NumberOfTags(_) => "number_of_tags",
            Method::CreationDate(..) => "creation_date",
        }
    }

    pub fn value(&self) -> Json {
        match &self.method {
            Method::NumberOfTags(n) => json!(n),
            Method::CreationDate(s, _) => json!(s),
        }
    }

    /// The stored config (Quay's keys).
    pub fn config(&self) -> Json {
        let mut c = json!({"method": self.method_name(), "value": self.value()});
        if let Some(p) = &self.tag_pattern {
            c["tag_pattern"] = json!(p);
            c["tag_pattern_matches"] = json!(self.tag_pattern_matches);
        }
        c
    }

    /// The `policy` column as Quay writes it: the config's JSON text, JSON-encoded again.
    pub fn stored(&self) -> String {
        Json::String(self.config().to_string()).to_string()
    }

    /// Reads a `policy` column (double-encoded as Quay writes it, or a plain object).
    pub fn from_stored(text: &str) -> CoreResult<Policy> {
        let mut v: Json = serde_json::from_str(text).map_err(|_| bad("unreadable auto-prune policy"))?;
        if let Json::String(inner) = &v {
            v = serde_json::from_str(inner).map_err(|_| bad("unreadable auto-prune policy"))?;
        }
        Policy::new(
            v["method"].as_str().unwrap_or(""),
            &v["value"],
            v.get("tag_pattern"),
            v.get("tag_pattern_matches"),
        )
    }

    fn applies_to(&self, re: Option<&regex::Regex>, name: &str) -> bool {
        re.is_none_or(|re| re.is_match(name) == self.tag_pattern_matches)
    }
}

/// Where a policy lives.
#[derive(Debug, Clone, Copy)]
pub enum Scope {
    Namespace(i64),
    Repository(i64),
}

impl Scope {
    /// A repository's when `repository_id` is given, else the namespace's.
    pub fn of(namespace_id: i64, repository_id: Option<i64>) -> Scope {
        repository_id.map_or(Scope::Namespace(namespace_id), Scope::Repository)
    }
}

fn duplicate(scope: Scope) -> String {
    let of = match scope {
        Scope::Namespace(_) => "namespace",
        Scope::Repository(_) => "repository",
    };
    format!("Existing policy with same values for this {of}, duplicate policies are not permitted")
}

/// The policies of a scope: (uuid, policy). Unreadable rows are skipped.
pub fn policies(ex: &mut dyn Executor, scope: Scope) -> CoreResult<Vec<(String, Policy)>> {
    let (name, id) = match scope {
        Scope::Namespace(id) => ("namespace_policies", id),
        Scope::Repository(id) => ("repository_policies", id),
    };
    Ok(q(ex, name, &[Value::Int(id)])?
        .iter()
        .filter_map(|r| {
            let uuid = r.first()?.as_text()?.to_string();
            let p = Policy::from_stored(r.get(1)?.as_text()?).ok()?;
            Some((uuid, p))
        })
        .collect())
}

fn namespace_of(ex: &mut dyn Executor, scope: Scope) -> CoreResult<i64> {
    match scope {
        Scope::Namespace(id) => Ok(id),
        Scope::Repository(id) => one_int(ex, named(SQL, "namespace_of_repository"), &[Value::Int(id)])?
            .ok_or_else(|| invalid(Rule::RepositoryUnknown, format!("Repository does not exist: {id}"))),
    }
}

fn scope_lock(ex: &mut dyn Executor, scope: Scope) -> CoreResult<()> {
    match scope {
        Scope::Namespace(id) => lock(ex, &format!("quay:autoprune:ns:{id}")),
        Scope::Repository(id) => lock(ex, &format!("quay:autoprune:repo:{id}")),
    }
}

/// Adds a policy (an exact duplicate is refused) and makes sure the namespace has a task row.
pub fn create(
    ex: &mut dyn Executor,
    scope: Scope,
    uuid: &str,
    policy: &Policy,
    log: Option<&LogEntry>,
) -> CoreResult<()> {
    write(ex, scope, uuid, policy, log, false)
}

/// Replaces a policy's config (`QUAY_POLICY_UNKNOWN` for a uuid not in the scope).
pub fn update(
    ex: &mut dyn Executor,
    scope: Scope,
    uuid: &str,
    policy: &Policy,
    log: Option<&LogEntry>,
) -> CoreResult<()> {
    write(ex, scope, uuid, policy, log, true)
}

/// A create or an update: no other policy of the scope may have the same values.
fn write(
    ex: &mut dyn Executor,
    scope: Scope,
    uuid: &str,
    policy: &Policy,
    log: Option<&LogEntry>,
    existing: bool,
) -> CoreResult<()> {
    let ns = namespace_of(ex, scope)?;
    scope_lock(ex, scope)?;
    if policies(ex, scope)?.iter().any(|(u, p)| p == policy && u != uuid) {
        return Err(invalid(Rule::InvalidArgument, duplicate(scope)));
    }
    let (name, id) = match (scope, existing) {
        (Scope::Namespace(id), false) => ("insert_namespace_policy", id),
        (Scope::Repository(id), false) => ("insert_repository_policy", id),
        (Scope::Namespace(id), true) => ("update_namespace_policy", id),
        (Scope::Repository(id), true) => ("update_repository_policy", id),
    };
    let params = if existing {
        [Value::Int(id), Value::text(uuid), Value::text(policy.stored())]
    } else {
        [Value::text(uuid), Value::Int(id), Value::text(policy.stored())]
    };
    if q(ex, name, &params)?.is_empty() && existing {
        return Err(unknown(uuid));
    }
    q(ex, "ensure_task", &[Value::Int(ns)])?;
    record(ex, scope, ns, log)
}

fn record(ex: &mut dyn Executor, scope: Scope, ns: i64, log: Option<&LogEntry>) -> CoreResult<()> {
    match scope {
        Scope::Namespace(_) => crate::logs::record_opt(ex, log, Some(ns)),
        Scope::Repository(id) => crate::logs::record_for_repository(ex, id, log),
    }
}

fn unknown(uuid: &str) -> crate::exec::CoreError {
    invalid(Rule::PolicyUnknown, format!("Policy not found with uuid: {uuid}"))
}

pub fn delete(ex: &mut dyn Executor, scope: Scope, uuid: &str, log: Option<&LogEntry>) -> CoreResult<()> {
    let ns = namespace_of(ex, scope)?;
    let (name, id) = match scope {
        Scope::Namespace(id) => ("delete_namespace_policy", id),
        Scope::Repository(id) => ("delete_repository_policy", id),
    };
    if q(ex, name, &[Value::Int(id), Value::text(uuid)])?.is_empty() {
        return Err(unknown(uuid));
    }
    record(ex, scope, ns, log)
}

/// Queues a prune of the repository after a push changed its tags, when its namespace or it has
/// a policy and no prune of it is waiting already. Returns whether one was queued.
pub fn queue_after_push(ex: &mut dyn Executor, repository_id: i64) -> CoreResult<bool> {
    if q(ex, "has_policies", &[Value::Int(repository_id)])?.is_empty() {
        return Ok(false);
    }
    let names = q(ex, "repository_names", &[Value::Int(repository_id)])?;
    let Some(ns) = names.first().and_then(|r| r.first()?.as_text().map(str::to_string)) else {
        return Ok(false);
    };
    let name = format!("{QUEUE}/{ns}/{repository_id}/");
    if !q(ex, "waiting_item", &[Value::text(&name)])?.is_empty() {
        return Ok(false);
    }
    crate::queue::put(ex, &name, &format!("{{\"repository_id\": {repository_id}}}"), 0, 5)?;
    Ok(true)
}

/// Applies the namespace's and the repository's policies to the repository (creation-date
/// policies first, then number-of-tags, as Quay): ends every alive visible tag a policy prunes
/// (immutable tags are kept) and logs `autoprune_tag_delete` for each. Returns the names pruned.
pub fn prune_repository(ex: &mut dyn Executor, repository_id: i64) -> CoreResult<Vec<String>> {
    let names = q(ex, "repository_names", &[Value::Int(repository_id)])?;
    let Some((ns_name, repo_name)) = names
        .first()
        .and_then(|r| Some((r.first()?.as_text()?.to_string(), r.get(1)?.as_text()?.to_string())))
    else {
        return Ok(Vec::new());
    };
    let ns = namespace_of(ex, Scope::Repository(repository_id))?;
    let mut all: Vec<Policy> = policies(ex, Scope::Namespace(ns))?.into_iter().map(|(_, p)| p).collect();
    all.extend(policies(ex, Scope::Repository(repository_id))?.into_iter().map(|(_, p)| p));
    if all.is_empty() {
        return Ok(Vec::new());
    }
    all.sort_by_key(|p| matches!(p.method, Method::NumberOfTags(_)));
    // The tag lock: no tag of this repository moves until the prune commits.
    lock(ex, &crate::repositories::tag_lock_key(repository_id))?;
    let mut pruned = Vec::new();
    for policy in all {
        let now = now_ms(ex)?;
        let tags: Vec<(i64, String, i64, bool)> =
            q(ex, "alive_visible_tags", &[Value::Int(repository_id), Value::Int(now)])?
                .iter()
                .filter_map(|r| {
                    Some((
                        r.first()?.as_i64()?,
                        r.get(1)?.as_text()?.to_string(),
                        r.get(2)?.as_i64()?,
                        r.get(3)?.as_bool()?,
                    ))
                })
                .collect();
        let re = match &policy.tag_pattern {
            Some(p) => Some(regex::Regex::new(p).map_err(|e| bad(&format!("tag_pattern: {e}")))?),
            None => None,
        };
        let candidates = tags.iter().filter(|t| policy.applies_to(re.as_ref(), &t.1));
        let doomed: Vec<&(i64, String, i64, bool)> = match policy.method {
            Method::NumberOfTags(keep) => {
                candidates.skip(usize::try_from(keep).unwrap_or(usize::MAX)).collect()
            }
            Method::CreationDate(_, s) => {
                candidates.filter(|t| now.saturating_sub(t.2) > s.saturating_mul(1000)).collect()
            }
        };
        for (_, name, _, immutable) in doomed {
            if *immutable || !crate::tags::tag_delete(ex, repository_id, name)? {
                continue;
            }
            let mut entry = LogEntry::new(
                "autoprune_tag_delete",
                json!({"performer": "autoprune worker", "namespace": ns_name, "repo": repo_name, "tag": name}),
            );
            entry.repository_id = Some(repository_id);
            crate::logs::record(ex, &entry, Some(ns))?;
            pruned.push(name.clone());
        }
    }
    Ok(pruned)
}

/// How long a namespace rests between slow-timer passes (Quay's
/// `AUTOPRUNE_TASK_RUN_MINIMUM_INTERVAL_MINUTES`, 60).
pub const TASK_INTERVAL_MS: i64 = 60 * 60 * 1000;

/// One slow-timer pass (Quay's auto-prune worker): up to `batch` namespaces whose task is due
/// (others' skipped, so workers share them) are pruned, repository by repository, and marked run
/// (`success`, or `failure: …`); a namespace without any policy loses its task. Returns the tags
/// pruned.
pub fn run_due(ex: &mut dyn Executor, batch: i64, interval_ms: i64) -> CoreResult<usize> {
    let now = now_ms(ex)?;
    let due = crate::exec::ints(&q(ex, "due_tasks", &[Value::Int(now - interval_ms), Value::Int(batch)])?);
    let mut pruned = 0;
    for ns in due {
        let ns_policies = !policies(ex, Scope::Namespace(ns))?.is_empty();
        let mut any = ns_policies;
        let mut status = "success".to_string();
        for repo in crate::exec::ints(&q(ex, "live_repositories", &[Value::Int(ns)])?) {
            if !ns_policies && policies(ex, Scope::Repository(repo))?.is_empty() {
                continue;
            }
            any = true;
            match prune_repository(ex, repo) {
                Ok(names) => pruned += names.len(),
                Err(e) => status = format!("failure: {e}"),
            }
        }
        if any {
            q(ex, "set_task", &[Value::Int(ns), Value::Int(now), Value::text(status)])?;
        } else {
            q(ex, "delete_task", &[Value::Int(ns)])?;
        }
    }
    Ok(pruned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies_are_validated_with_quays_messages_and_stored_double_encoded() {
        let p = Policy::new("number_of_tags", &json!(10), None, None).expect("valid");
        assert_eq!(p.stored(), r#""{\"method\":\"number_of_tags\",\"value\":10}""#);
        assert_eq!(Policy::from_stored(&p.stored()).expect("reads"), p);
        let d = Policy::new("creation_date", &json!("2w"), Some(&json!("^v")), Some(&json!(false)))
            .expect("valid");
        assert_eq!(d.method, Method::CreationDate("2w".into(), 14 * 86_400));
        assert_eq!(Policy::from_stored(&d.stored()).expect("reads"), d);
        let msg = |r: CoreResult<Policy>| match r {
            Err(crate::exec::CoreError::Invalid { message, .. }) => message,
            other => panic!("{other:?}"),
        };
        assert_eq!(msg(Policy::new("nope", &json!(1), None, None)), "Invalid method provided");
        assert_eq!(
            msg(Policy::new("number_of_tags", &json!("10"), None, None)),
            "Invalid value given for method type"
        );
        assert_eq!(
            msg(Policy::new("number_of_tags", &json!(0), None, None)),
            "Invalid value given for method type"
        );
        assert_eq!(
            msg(Policy::new("creation_date", &json!("7x"), None, None)),
            "Invalid value given for method type"
        );
        assert_eq!(
            msg(Policy::new("number_of_tags", &json!(1), Some(&json!(" ")), None)),
            "tag_pattern cannot be empty"
        );
        assert_eq!(
            msg(Policy::new("number_of_tags", &json!(1), Some(&json!(3)), None)),
            "tag_pattern must be string"
        );
        assert_eq!(
            msg(Policy::new("number_of_tags", &json!(1), Some(&json!("a")), Some(&json!("yes")))),
            "tag_pattern_matches must be bool"
        );
    }

    #[test]
    fn patterns_select_or_protect() {
        let keep =
            Policy::new("number_of_tags", &json!(1), Some(&json!("^dev-")), Some(&json!(true))).expect("ok");
        let re = regex::Regex::new("^dev-").expect("re");
        assert!(keep.applies_to(Some(&re), "dev-1"));
        assert!(!keep.applies_to(Some(&re), "v1"));
        let inverse = Policy { tag_pattern_matches: false, ..keep };
        assert!(inverse.applies_to(Some(&re), "v1"));
        assert!(!inverse.applies_to(Some(&re), "dev-1"));
    }
}
