//! Webhook templates (a notification config's `template`): Quay's `JSONTemplate`. The template
//! is JSON text whose strings may hold `${jsonpath}` expressions over the event data.

use serde_json::Value;

/// One `${…}` expression of a webhook template: a JSONPath over the event data (`$`, `$.a.b`,
/// `a.b`, `a[2]`, `$.a[0].b`), as Quay's `JSONTemplate` evaluates them. Returns the steps.
fn template_path(expr: &str) -> Result<Vec<PathStep>, String> {
    let e = expr.trim();
    if e.is_empty() {
        return Err("Empty expression found".into());
    }
    let bad = |why: &str| Err(format!("For expression `{expr}`: {why}"));
    let rest = e.strip_prefix('$').unwrap_or(e);
    let mut steps = Vec::new();
    let mut chars = rest.chars().peekable();
    let mut first = !e.starts_with('$');
    loop {
        match chars.peek() {
            None => break,
            Some('.') => {
                chars.next();
            }
            Some('[') => {
                chars.next();
                let digits: String = std::iter::from_fn(|| chars.next_if(|c| *c != ']')).collect();
                if chars.next() != Some(']') {
                    return bad("unclosed [");
                }
                match digits.trim().parse::<usize>() {
                    Ok(i) => steps.push(PathStep::Index(i)),
                    Err(_) => return bad("an index must be a number"),
                }
                continue;
            }
            Some(_) if first => {}
            Some(c) => return bad(&format!("unexpected {c:?}")),
        }
        first = false;
        let name: String = std::iter::from_fn(|| chars.next_if(|c| *c != '.' && *c != '[')).collect();
        if name.is_empty() || !name.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '-') {
            return bad("a field name is expected");
        }
        steps.push(PathStep::Field(name));
    }
    Ok(steps)
}

enum PathStep {
    Field(String),
    Index(usize),
}

fn lookup<'a>(data: &'a Value, steps: &[PathStep]) -> Option<&'a Value> {
    steps.iter().try_fold(data, |v, s| match s {
        PathStep::Field(f) => v.get(f),
        PathStep::Index(i) => v.get(*i),
    })
}

/// Python's `str()` of a value inside a string (Quay: a missing value is `(none)`, a list is
/// joined with commas).
fn inline(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => "(none)".into(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Bool(b)) => if *b { "True" } else { "False" }.into(),
        Some(Value::Array(a)) => a.iter().map(|x| inline(Some(x))).collect::<Vec<_>>().join(","),
        Some(other) => other.to_string(),
    }
}

fn expand(s: &str, data: &Value) -> Result<Value, String> {
    // The whole string one expression: the value itself, with its type.
    if let Some(inner) = s.strip_prefix("${").and_then(|r| r.strip_suffix('}'))
        && !inner.contains('}')
    {
        let steps = template_path(inner)?;
        return Ok(lookup(data, &steps).cloned().unwrap_or(Value::Null));
    }
    let mut out = String::new();
    let mut rest = s;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            out.push_str(&rest[start..]);
            rest = "";
            break;
        };
        let steps = template_path(&after[..end])?;
        out.push_str(&inline(lookup(data, &steps)));
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(Value::String(out))
}

fn walk(t: &Value, data: &Value) -> Result<Value, String> {
    Ok(match t {
        Value::String(s) => expand(s, data)?,
        Value::Array(a) => Value::Array(a.iter().map(|x| walk(x, data)).collect::<Result<_, _>>()?),
        Value::Object(m) => {
            let mut out = serde_json::Map::new();
            for (k, v) in m {
                let key = match expand(k, data)? {
                    Value::String(s) => s,
                    other => other.to_string(),
                };
                out.insert(key, walk(v, data)?);
            }
            Value::Object(out)
        }
        other => other.clone(),
    })
}

/// A webhook's `template` (a JSON text whose strings may hold `${jsonpath}` expressions over the
/// event data) applied to `data`: Quay's `JSONTemplate`. A whole-string expression keeps the
/// value's type (`null` when missing); an inline one becomes text (`(none)` when missing).
pub fn apply(template: &str, data: &Value) -> Result<Value, String> {
    let t: Value = serde_json::from_str(template).map_err(|e| format!("Could not parse template: {e}"))?;
    walk(&t, data)
}

#[cfg(test)]
mod tests {
    use super::apply;
    use serde_json::json;

    #[test]
    fn expressions_as_quay_evaluates_them() {
        let data = json!({"thing": 1234, "name": "beans", "first": {"second": "x"}, "tags": ["a", "b"]});
        assert_eq!(apply(r#"{"hello": "${thing}"}"#, &data).expect("ok"), json!({"hello": 1234}));
        assert_eq!(apply(r#"{"hello": "cool-${name}"}"#, &data).expect("ok"), json!({"hello": "cool-beans"}));
        assert_eq!(
            apply(r#"{"h": "${first.second}", "t": "${$.tags}"}"#, &data).expect("ok"),
            json!({"h": "x", "t": ["a", "b"]})
        );
        assert_eq!(
            apply(r#"{"t": "tags: ${tags}", "i": "${tags[1]}"}"#, &data).expect("ok"),
            json!({"t": "tags: a,b", "i": "b"})
        );
        assert_eq!(
            apply(r#"{"m": "${tags[7]}", "n": "hey-${tags[7]}"}"#, &data).expect("ok"),
            json!({"m": null, "n": "hey-(none)"})
        );
        assert_eq!(apply(r#"{"${name}": 1}"#, &data).expect("ok"), json!({"beans": 1}));
        for bad in [r#"{"hello": "}"#, r#"{"a": "${}"}"#, r#"{"a": "${;;}"}"#, r#"{"a": "${first[}"}"#] {
            assert!(apply(bad, &data).is_err(), "{bad}");
        }
        assert!(apply(r#"{"a": "${}"}"#, &data).expect_err("empty").contains("Empty expression found"));
    }
}
