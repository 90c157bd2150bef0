//! Compares answers with the recording: golden JSON and text with placeholders against what the
//! server sent, binding numbered placeholders on the way. Pure; its tests need no server.

use serde_json::Value;
use std::collections::{HashMap, HashSet};

/// Placeholder (`<user1>`, `<uuid:4>`, …, brackets included) → its value in this run.
pub type Bindings = HashMap<String, String>;

/// Steps of the combinatorial matchers (unordered lists, pattern keys) before giving up.
const BUDGET: u64 = 500_000;

/// A step's `compare`: paths such as `response_json.members[].teams`.
#[derive(Debug, Default, Clone)]
pub struct Rules {
    pub unordered: HashSet<String>,
    pub shape_only: HashSet<String>,
    /// `<jsonschema-error: X>` then needs a first line equal to X (otherwise any string).
    pub strict_jsonschema: bool,
}

impl Rules {
    pub fn from_compare(compare: Option<&Value>) -> Rules {
        let list = |key: &str| -> HashSet<String> {
            compare
                .and_then(|c| c.get(key))
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
                .unwrap_or_default()
        };
        Rules { unordered: list("unordered"), shape_only: list("shape_only"), strict_jsonschema: false }
    }
}

/// Where the answer first differs from the recording, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    pub path: String,
    pub what: String,
}

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path, self.what)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Rfc2822,
    Uuid,
    Digest,
    NonEmpty,
    Hex32,
    Color,
    Ip,
    Any,
    EpochS,
    EpochMs,
    Int,
    AnyNumber,
    AnyBool,
    JsonSchema,
}

/// A placeholder's kind, and whether it is numbered (captured and bound at first sight).
/// `None`: not a placeholder (an HTML tag, `<operation>` inside an error text, …).
fn kind_of(ph: &str) -> Option<(Kind, bool)> {
    let inner = ph.strip_prefix('<')?.strip_suffix('>')?;
    let numbered = |prefix: &str| {
        inner.strip_prefix(prefix).is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
    };
    Some(match inner {
        "ts:rfc2822" => (Kind::Rfc2822, false),
        "ts:iso8601" | "date" => (Kind::NonEmpty, false),
        "epoch_s" => (Kind::EpochS, false),
        "epoch_ms" => (Kind::EpochMs, false),
        "int:id" => (Kind::Int, false),
        "avatar:hash" => (Kind::Hex32, false),
        "avatar:color" => (Kind::Color, false),
        "ip" => (Kind::Ip, false),
        "user-agent" | "token" => (Kind::NonEmpty, false),
        "sync_token" | "any:str" => (Kind::Any, false),
        "any:number" => (Kind::AnyNumber, false),
        "any:bool" => (Kind::AnyBool, false),
        _ if numbered("uuid:") => (Kind::Uuid, true),
        _ if numbered("digest:") => (Kind::Digest, true),
        _ if numbered("token:page:") => (Kind::NonEmpty, true),
        _ if inner.starts_with("token:") || inner.starts_with("secret:") => (Kind::NonEmpty, false),
        _ if inner.starts_with("jsonschema-error:") => (Kind::JsonSchema, false),
        _ => return None,
    })
}

/// A run of golden text: literal, or one placeholder (brackets included).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Piece<'a> {
    Lit(&'a str),
    Ph(&'a str),
}

/// Splits text into literals and the `<…>` runs that `is_ph` accepts; any other `<…>` is
/// literal text.
pub fn pieces<'a>(text: &'a str, is_ph: &dyn Fn(&str) -> bool) -> Vec<Piece<'a>> {
    let mut out = Vec::new();
    let (mut lit_from, mut at) = (0, 0);
    while let Some(off) = text[at..].find('<') {
        let open = at + off;
        let Some(len) = text[open + 1..].find(['<', '>']) else { break };
        let close = open + 1 + len;
        if text.as_bytes()[close] == b'>' && is_ph(&text[open..=close]) {
            if lit_from < open {
                out.push(Piece::Lit(&text[lit_from..open]));
            }
            out.push(Piece::Ph(&text[open..=close]));
            lit_from = close + 1;
            at = close + 1;
        } else {
            at = open + 1;
        }
    }
    if lit_from < text.len() {
        out.push(Piece::Lit(&text[lit_from..]));
    }
    out
}

/// The binding table with an undo log: a failed sub-match takes back what it bound.
struct Tx<'a> {
    map: &'a mut Bindings,
    log: Vec<String>,
    budget: u64,
    strict: bool,
}

impl Tx<'_> {
    fn mark(&self) -> usize {
        self.log.len()
    }
    fn rollback(&mut self, mark: usize) {
        for k in self.log.drain(mark..) {
            self.map.remove(&k);
        }
    }
    fn bind(&mut self, k: &str, v: &str) {
        self.map.insert(k.to_string(), v.to_string());
        self.log.push(k.to_string());
    }
    fn is_ph(&self, p: &str) -> bool {
        self.map.contains_key(p) || kind_of(p).is_some()
    }
    fn spend(&mut self) -> bool {
        self.budget = self.budget.saturating_sub(1);
        self.budget > 0
    }
}

fn is_hex(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_hexdigit())
}

fn is_lower_hex(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// `Sat, 22 Nov 2026 06:57:01 -0000` (Python's `formatdate`; any `±hhmm` zone).
fn is_rfc2822(s: &str) -> bool {
    const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    const MONTHS: [&str; 12] =
        ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    s.is_ascii()
        && b.len() == 31
        && DAYS.contains(&&s[..3])
        && &s[3..5] == ", "
        && digits(5..7)
        && b[7] == b' '
        && MONTHS.contains(&&s[8..11])
        && b[11] == b' '
        && digits(12..16)
        && b[16] == b' '
        && digits(17..19)
        && b[19] == b':'
        && digits(20..22)
        && b[22] == b':'
        && digits(23..25)
        && b[25] == b' '
        && (b[26] == b'+' || b[26] == b'-')
        && digits(27..31)
}

fn is_uuid(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() == 5 && parts.iter().zip([8, 4, 4, 4, 12]).all(|(p, n)| p.len() == n && is_hex(p))
}

/// Whether `s` has the kind of placeholder `ph` (inside a string).
fn valid(kind: Kind, ph: &str, s: &str, strict: bool) -> bool {
    match kind {
        Kind::Rfc2822 => is_rfc2822(s),
        Kind::Uuid => is_uuid(s),
        Kind::Digest => s.strip_prefix("sha256:").is_some_and(|h| is_lower_hex(h, 64)),
        Kind::NonEmpty => !s.is_empty(),
        Kind::Hex32 => is_lower_hex(s, 32),
        Kind::Color => s.strip_prefix('#').is_some_and(is_hex),
        Kind::Ip => s.parse::<std::net::IpAddr>().is_ok(),
        Kind::Any => true,
        Kind::EpochS | Kind::EpochMs | Kind::Int | Kind::AnyNumber => {
            !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
        }
        Kind::AnyBool => s == "true" || s == "false",
        Kind::JsonSchema => {
            !strict || {
                let want = ph.trim_start_matches("<jsonschema-error:").trim_end_matches('>').trim();
                s.lines().next().unwrap_or("") == want
            }
        }
    }
}

/// Lengths a placeholder of this kind can take at the start of `s`, longest first.
fn candidate_ends(kind: Kind, s: &str) -> Vec<usize> {
    let fixed = match kind {
        Kind::Rfc2822 => Some(31),
        Kind::Uuid => Some(36),
        Kind::Digest => Some(71),
        Kind::Hex32 => Some(32),
        _ => None,
    };
    match fixed {
        Some(n) => (n <= s.len() && s.is_char_boundary(n)).then_some(n).into_iter().collect(),
        None => {
            let mut ends: Vec<usize> = s.char_indices().map(|(i, _)| i).chain([s.len()]).collect();
            ends.reverse();
            ends
        }
    }
}

fn match_pieces(ps: &[Piece<'_>], s: &str, tx: &mut Tx<'_>) -> bool {
    if !tx.spend() {
        return false;
    }
    let Some((first, rest)) = ps.split_first() else { return s.is_empty() };
    match *first {
        Piece::Lit(l) => s.strip_prefix(l).is_some_and(|t| match_pieces(rest, t, tx)),
        Piece::Ph(p) => {
            if let Some(v) = tx.map.get(p).cloned() {
                return s.strip_prefix(v.as_str()).is_some_and(|t| match_pieces(rest, t, tx));
            }
            let Some((kind, capture)) = kind_of(p) else {
                return s.strip_prefix(p).is_some_and(|t| match_pieces(rest, t, tx));
            };
            let ends = if rest.is_empty() { vec![s.len()] } else { candidate_ends(kind, s) };
            for end in ends {
                if end > s.len() || !valid(kind, p, &s[..end], tx.strict) {
                    continue;
                }
                let mark = tx.mark();
                if capture {
                    tx.bind(p, &s[..end]);
                }
                if match_pieces(rest, &s[end..], tx) {
                    return true;
                }
                tx.rollback(mark);
            }
            false
        }
    }
}

/// Golden text against actual text; binds on success only.
fn text(golden: &str, actual: &str, tx: &mut Tx<'_>) -> bool {
    let ps = pieces(golden, &|p| tx.is_ph(p));
    let mark = tx.mark();
    let ok = match_pieces(&ps, actual, tx);
    if !ok {
        tx.rollback(mark);
    }
    ok
}

/// Golden text (with placeholders) against actual text, binding numbered placeholders.
pub fn match_str(golden: &str, actual: &str, binds: &mut Bindings) -> bool {
    let mut tx = Tx { map: binds, log: Vec::new(), budget: BUDGET, strict: false };
    text(golden, actual, &mut tx)
}

/// Golden JSON against actual JSON. On failure no binding is left behind.
pub fn match_json(
    golden: &Value,
    actual: &Value,
    binds: &mut Bindings,
    rules: &Rules,
) -> Result<(), Mismatch> {
    let mut tx = Tx { map: binds, log: Vec::new(), budget: BUDGET, strict: rules.strict_jsonschema };
    let root = At { rule: "response_json".into(), show: "response_json".into() };
    let r = value(golden, actual, &root, &mut tx, rules);
    if r.is_err() {
        tx.rollback(0);
    }
    r
}

/// A location in the document: `rule` as `compare` spells it (`a[].b`), `show` with indexes.
#[derive(Debug, Clone)]
struct At {
    rule: String,
    show: String,
}

impl At {
    fn key(&self, k: &str) -> At {
        At { rule: format!("{}.{k}", self.rule), show: format!("{}.{k}", self.show) }
    }
    fn elem(&self, i: usize) -> At {
        At { rule: format!("{}[]", self.rule), show: format!("{}[{i}]", self.show) }
    }
    fn differs(&self, what: impl Into<String>) -> Mismatch {
        Mismatch { path: self.show.clone(), what: what.into() }
    }
}

/// A short rendering of text or JSON for messages.
pub fn brief(s: &str) -> String {
    const MAX: usize = 100;
    if s.chars().count() <= MAX {
        format!("{s:?}")
    } else {
        format!("{:?}…", s.chars().take(MAX).collect::<String>())
    }
}

fn brief_json(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() <= 100 { s } else { format!("{}…", s.chars().take(100).collect::<String>()) }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float",
        Value::Number(_) => "integer",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// The kind of a golden string that is exactly one unbound placeholder.
fn whole_placeholder(g: &str, tx: &Tx<'_>) -> Option<Kind> {
    if tx.map.contains_key(g) {
        return None;
    }
    match pieces(g, &|p| kind_of(p).is_some()).as_slice() {
        [Piece::Ph(p)] => kind_of(p).map(|(k, _)| k),
        _ => None,
    }
}

fn value(g: &Value, a: &Value, at: &At, tx: &mut Tx<'_>, rules: &Rules) -> Result<(), Mismatch> {
    if !tx.spend() {
        return Err(at.differs("too many combinations to try (unordered lists)"));
    }
    if rules.shape_only.contains(&at.rule) {
        let mark = tx.mark();
        let r = shape(g, a, at, tx, rules);
        tx.rollback(mark);
        return r;
    }
    let mark = tx.mark();
    let r = value_inner(g, a, at, tx, rules);
    if r.is_err() {
        tx.rollback(mark);
    }
    r
}

fn value_inner(g: &Value, a: &Value, at: &At, tx: &mut Tx<'_>, rules: &Rules) -> Result<(), Mismatch> {
    match (g, a) {
        (Value::String(gs), _) => {
            let whole = whole_placeholder(gs, tx);
            match (whole, a) {
                (Some(Kind::EpochS), Value::Number(n)) => {
                    return n
                        .as_i64()
                        .filter(|s| (1_000_000_000..10_000_000_000).contains(s))
                        .map(|_| ())
                        .ok_or_else(|| at.differs(format!("{n} is not an epoch in seconds")));
                }
                (Some(Kind::EpochMs), Value::Number(n)) => {
                    return n
                        .as_i64()
                        .filter(|s| (1_000_000_000_000..10_000_000_000_000).contains(s))
                        .map(|_| ())
                        .ok_or_else(|| at.differs(format!("{n} is not an epoch in milliseconds")));
                }
                (Some(Kind::Int), Value::Number(n)) if n.is_i64() || n.is_u64() => return Ok(()),
                (Some(Kind::AnyNumber), Value::Number(_)) | (Some(Kind::AnyBool), Value::Bool(_)) => {
                    return Ok(());
                }
                (Some(Kind::EpochS | Kind::EpochMs | Kind::Int), _) => {
                    return Err(at.differs(format!("expected an integer ({gs}), got {}", brief_json(a))));
                }
                (Some(Kind::AnyNumber | Kind::AnyBool), _) => {
                    return Err(at.differs(format!("expected {gs}, got {}", brief_json(a))));
                }
                (Some(Kind::Any), _) if gs == "<sync_token>" => return Ok(()),
                _ => {}
            }
            let Value::String(s) = a else {
                return Err(at.differs(format!("expected string {}, got {}", brief(gs), brief_json(a))));
            };
            if text(gs, s, tx) {
                Ok(())
            } else {
                Err(at.differs(format!("expected {}, got {}", brief(gs), brief(s))))
            }
        }
        (Value::Null, Value::Null) => Ok(()),
        (Value::Bool(x), Value::Bool(y)) if x == y => Ok(()),
        (Value::Number(x), Value::Number(y)) => {
            let same = match (x.is_f64(), y.is_f64()) {
                (false, false) => x.as_i64() == y.as_i64() && x.as_u64() == y.as_u64(),
                (true, true) => x.to_string() == y.to_string(),
                _ => false,
            };
            if same {
                Ok(())
            } else {
                Err(at.differs(format!("expected {} {x}, got {} {y}", type_name(g), type_name(a))))
            }
        }
        (Value::Array(ga), Value::Array(aa)) => {
            if ga.len() != aa.len() {
                return Err(at.differs(format!("expected {} elements, got {}", ga.len(), aa.len())));
            }
            if rules.unordered.contains(&at.rule) {
                return multiset(ga, aa, at, tx, rules);
            }
            for (i, (x, y)) in ga.iter().zip(aa).enumerate() {
                value(x, y, &at.elem(i), tx, rules)?;
            }
            Ok(())
        }
        (Value::Object(go), Value::Object(ao)) => object(go, ao, at, tx, rules),
        _ if type_name(g) == type_name(a) => {
            Err(at.differs(format!("expected {}, got {}", brief_json(g), brief_json(a))))
        }
        _ => Err(at.differs(format!(
            "expected {} {}, got {} {}",
            type_name(g),
            brief_json(g),
            type_name(a),
            brief_json(a)
        ))),
    }
}

/// Whether `g` matches `a`, leaving no binding behind either way.
fn probe(g: &Value, a: &Value, at: &At, tx: &mut Tx<'_>, rules: &Rules) -> Result<(), Mismatch> {
    let mark = tx.mark();
    let r = value(g, a, at, tx, rules);
    tx.rollback(mark);
    r
}

/// Lists compared as multisets: some one-to-one pairing of the elements matches (with
/// backtracking, since numbered placeholders bind along the way).
fn multiset(ga: &[Value], aa: &[Value], at: &At, tx: &mut Tx<'_>, rules: &Rules) -> Result<(), Mismatch> {
    for (i, x) in ga.iter().enumerate() {
        let mut found = false;
        for (j, y) in aa.iter().enumerate() {
            if probe(x, y, &at.elem(j), tx, rules).is_ok() {
                found = true;
                break;
            }
        }
        if !found {
            let hint = probe(x, &aa[i], &at.elem(i), tx, rules).err();
            return Err(match hint {
                Some(m) => Mismatch {
                    path: m.path,
                    what: format!("{} (unordered: golden element {i} matches no element)", m.what),
                },
                None => at.differs(format!("golden element {i} matches no element")),
            });
        }
    }
    let mut used = vec![false; aa.len()];
    if assign(ga, aa, 0, &mut used, at, tx, rules) {
        Ok(())
    } else if tx.budget == 0 {
        Err(at.differs("too many combinations to try (unordered)"))
    } else {
        Err(at.differs("no pairing of the elements matches (unordered, placeholders bound consistently)"))
    }
}

fn assign(
    ga: &[Value],
    aa: &[Value],
    i: usize,
    used: &mut [bool],
    at: &At,
    tx: &mut Tx<'_>,
    rules: &Rules,
) -> bool {
    let Some(x) = ga.get(i) else { return true };
    for j in 0..aa.len() {
        if used[j] || tx.budget == 0 {
            continue;
        }
        let mark = tx.mark();
        if value(x, &aa[j], &at.elem(j), tx, rules).is_ok() {
            used[j] = true;
            if assign(ga, aa, i + 1, used, at, tx, rules) {
                return true;
            }
            used[j] = false;
        }
        tx.rollback(mark);
    }
    false
}

/// The key a golden key stands for, when every placeholder in it is bound.
fn resolved_key(k: &str, tx: &Tx<'_>) -> Option<String> {
    let mut out = String::new();
    for p in pieces(k, &|p| tx.is_ph(p)) {
        match p {
            Piece::Lit(l) => out.push_str(l),
            Piece::Ph(p) => out.push_str(tx.map.get(p)?),
        }
    }
    Some(out)
}

fn object(
    go: &serde_json::Map<String, Value>,
    ao: &serde_json::Map<String, Value>,
    at: &At,
    tx: &mut Tx<'_>,
    rules: &Rules,
) -> Result<(), Mismatch> {
    let mut fixed = Vec::new();
    let mut patterns = Vec::new();
    for (k, v) in go {
        match resolved_key(k, tx) {
            Some(key) => fixed.push((key, v)),
            None => patterns.push((k.as_str(), v)),
        }
    }
    let rest: Vec<(&String, &Value)> =
        ao.iter().filter(|(k, _)| !fixed.iter().any(|(f, _)| f.as_str() == k.as_str())).collect();
    let missing: Vec<&str> = fixed.iter().map(|(k, _)| k.as_str()).filter(|k| !ao.contains_key(*k)).collect();
    if !missing.is_empty() || rest.len() != patterns.len() {
        let mut what = Vec::new();
        if !missing.is_empty() {
            what.push(format!("missing keys {missing:?}"));
        }
        if rest.len() > patterns.len() {
            let extra: Vec<&str> = rest.iter().map(|(k, _)| k.as_str()).collect();
            what.push(format!("unexpected keys {extra:?}"));
        } else if rest.len() < patterns.len() {
            let unmatched: Vec<&str> = patterns.iter().map(|(k, _)| *k).collect();
            what.push(format!("missing keys matching {unmatched:?}"));
        }
        return Err(at.differs(what.join(", ")));
    }
    for (k, v) in &fixed {
        value(v, &ao[k.as_str()], &at.key(k), tx, rules)?;
    }
    let mut used = vec![false; rest.len()];
    if assign_keys(&patterns, &rest, 0, &mut used, at, tx, rules) {
        Ok(())
    } else {
        Err(at.differs(format!("no key matches {:?} (with its value)", patterns[0].0)))
    }
}

fn assign_keys(
    patterns: &[(&str, &Value)],
    rest: &[(&String, &Value)],
    i: usize,
    used: &mut [bool],
    at: &At,
    tx: &mut Tx<'_>,
    rules: &Rules,
) -> bool {
    let Some((gk, gv)) = patterns.get(i) else { return true };
    for j in 0..rest.len() {
        if used[j] || tx.budget == 0 {
            continue;
        }
        let mark = tx.mark();
        let (ak, av) = rest[j];
        if text(gk, ak, tx) && value(gv, av, &at.key(gk), tx, rules).is_ok() {
            used[j] = true;
            if assign_keys(patterns, rest, i + 1, used, at, tx, rules) {
                return true;
            }
            used[j] = false;
        }
        tx.rollback(mark);
    }
    false
}

/// `compare.shape_only`: key sets and JSON types only (lists: the same length).
fn shape(g: &Value, a: &Value, at: &At, tx: &mut Tx<'_>, rules: &Rules) -> Result<(), Mismatch> {
    let want = match g {
        Value::String(s) => match s.as_str() {
            "<epoch_s>" | "<epoch_ms>" | "<int:id>" | "<any:number>" => "number",
            "<any:bool>" => "bool",
            "<sync_token>" => return Ok(()),
            _ => "string",
        },
        Value::Number(_) => "number",
        other => type_name(other),
    };
    let have = match a {
        Value::Number(_) => "number",
        other => type_name(other),
    };
    if want != have {
        return Err(at.differs(format!("expected {want}, got {have} {}", brief_json(a))));
    }
    match (g, a) {
        (Value::Array(ga), Value::Array(aa)) => {
            if ga.len() != aa.len() {
                return Err(at.differs(format!("expected {} elements, got {}", ga.len(), aa.len())));
            }
            if rules.unordered.contains(&at.rule) {
                for (i, x) in ga.iter().enumerate() {
                    if !aa.iter().any(|y| shape(x, y, &at.elem(i), tx, rules).is_ok()) {
                        return Err(at.differs(format!("no element has the shape of golden element {i}")));
                    }
                }
                for (j, y) in aa.iter().enumerate() {
                    if !ga.iter().any(|x| shape(x, y, &at.elem(j), tx, rules).is_ok()) {
                        return Err(at.differs(format!("element {j} has no golden element's shape")));
                    }
                }
                Ok(())
            } else {
                ga.iter().zip(aa).enumerate().try_for_each(|(i, (x, y))| shape(x, y, &at.elem(i), tx, rules))
            }
        }
        (Value::Object(go), Value::Object(ao)) => {
            if go.len() != ao.len() {
                let gk: Vec<&String> = go.keys().collect();
                let ak: Vec<&String> = ao.keys().collect();
                return Err(at.differs(format!("keys {ak:?}, expected {gk:?}")));
            }
            for (gk, gv) in go {
                let found = ao.iter().find(|(ak, _)| {
                    let mark = tx.mark();
                    let ok = text(gk, ak, tx);
                    tx.rollback(mark);
                    ok
                });
                let Some((ak, av)) = found else { return Err(at.differs(format!("missing key {gk:?}"))) };
                shape(gv, av, &at.key(ak), tx, rules)?;
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// After a failed step: binds the numbered placeholders that are still unbound where golden
/// and actual JSON line up (same keys, same indexes) and the value has the right kind, so one
/// wrong field does not also fail every later step that uses the value.
pub fn salvage(golden: &Value, actual: &Value, binds: &mut Bindings) {
    match (golden, actual) {
        (Value::String(g), Value::String(a)) => {
            if let Some((kind, true)) = kind_of(g)
                && !binds.contains_key(g.as_str())
                && valid(kind, g, a, false)
            {
                binds.insert(g.clone(), a.clone());
            }
        }
        (Value::Array(g), Value::Array(a)) => g.iter().zip(a).for_each(|(x, y)| salvage(x, y, binds)),
        (Value::Object(g), Value::Object(a)) => {
            for (k, x) in g {
                if let Some(y) = a.get(k) {
                    salvage(x, y, binds);
                }
            }
        }
        _ => {}
    }
}

/// What the server answered to one request.
#[derive(Debug, Clone, Default)]
pub struct Got {
    pub status: u16,
    /// Lower-case names; the first value of each.
    pub headers: HashMap<String, String>,
    pub body: String,
}

/// The response headers the recording kept; each must be present exactly when recorded.
const KEPT_HEADERS: [&str; 5] = ["Content-Type", "Location", "Link", "WWW-Authenticate", "X-Next-CSRF-Token"];

/// One HTTP step: status, kept headers, body. Binds numbered placeholders when the step
/// matches; when it does not, only what [`salvage`] finds.
pub fn compare_step(step: &Value, got: &Got, binds: &mut Bindings) -> Result<(), String> {
    let before = binds.clone();
    let r = compare_step_inner(step, got, binds);
    if r.is_err() {
        *binds = before;
        if let (Some(g), Ok(a)) = (step.get("response_json"), serde_json::from_str::<Value>(&got.body)) {
            salvage(g, &a, binds);
        }
        if let (Some(g), Some(a)) =
            (step["response_headers"]["Location"].as_str(), got.headers.get("location"))
        {
            let mut trial = binds.clone();
            if match_str(g, a, &mut trial) {
                *binds = trial;
            }
        }
    }
    r
}

fn compare_step_inner(step: &Value, got: &Got, binds: &mut Bindings) -> Result<(), String> {
    let want = step["status"].as_u64().unwrap_or(0);
    if u64::from(got.status) != want {
        return Err(format!("status {} (expected {want}), body {}", got.status, brief(&got.body)));
    }
    let recorded = &step["response_headers"];
    for name in KEPT_HEADERS {
        let want = recorded.get(name).and_then(Value::as_str);
        let have = got.headers.get(&name.to_ascii_lowercase());
        match (want, have) {
            (None, None) => {}
            (Some(w), None) => return Err(format!("header {name} missing (expected {w:?})")),
            (None, Some(h)) => return Err(format!("header {name}: {h:?} (not recorded)")),
            (Some(w), Some(h)) if name == "Content-Type" => {
                if w != h {
                    return Err(format!("header Content-Type: {h:?} (expected {w:?})"));
                }
            }
            (Some(w), Some(h)) => {
                if !match_str(w, h, binds) {
                    return Err(format!("header {name}: {h:?} (expected {w:?})"));
                }
            }
        }
    }
    // The oracle's two bare HTML 500 pages: the status is all that is compared.
    let html_500 =
        want == 500 && recorded["Content-Type"].as_str().is_some_and(|c| c.starts_with("text/html"));
    if html_500 {
        return Ok(());
    }
    if let Some(golden) = step.get("response_json") {
        let actual: Value =
            serde_json::from_str(&got.body).map_err(|_| format!("body is not JSON: {}", brief(&got.body)))?;
        let rules = Rules::from_compare(step.get("compare"));
        match_json(golden, &actual, binds, &rules).map_err(|m| m.to_string())?;
    } else if let Some(golden) = step.get("response_text").and_then(Value::as_str)
        && !match_str(golden, &got.body, binds)
    {
        return Err(format!("body {} (expected {})", brief(&got.body), brief(golden)));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn binds(pairs: &[(&str, &str)]) -> Bindings {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn rules(unordered: &[&str], shape_only: &[&str]) -> Rules {
        Rules {
            unordered: unordered.iter().map(|s| s.to_string()).collect(),
            shape_only: shape_only.iter().map(|s| s.to_string()).collect(),
            strict_jsonschema: false,
        }
    }

    const U1: &str = "0b7e5d3c-1f2a-4c3b-9d8e-7f6a5b4c3d2e";
    const U2: &str = "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee";

    #[test]
    fn literals_and_bound_placeholders() {
        let mut b = binds(&[("<org>", "gdabcdeforg"), ("<base>", "http://127.0.0.1:9")]);
        let g = json!({"name": "<org>+builder", "type": "<base>/api/v1/error/not_found", "n": 1, "x": null});
        let a = json!({"name": "gdabcdeforg+builder", "type": "http://127.0.0.1:9/api/v1/error/not_found", "n": 1, "x": null});
        assert_eq!(match_json(&g, &a, &mut b, &Rules::default()), Ok(()));
        let bad = json!({"name": "other+builder", "type": "http://127.0.0.1:9/api/v1/error/not_found", "n": 1, "x": null});
        let e = match_json(&g, &bad, &mut b, &Rules::default()).expect_err("differs");
        assert_eq!(e.path, "response_json.name");
    }

    #[test]
    fn numbered_placeholders_capture_then_stay_consistent() {
        let mut b = Bindings::new();
        let g = json!({"id": "<uuid:7>", "again": "labels/<uuid:7>"});
        let a = json!({"id": U1, "again": format!("labels/{U1}")});
        assert_eq!(match_json(&g, &a, &mut b, &Rules::default()), Ok(()));
        assert_eq!(b["<uuid:7>"], U1);
        let other = json!({"id": U1, "again": format!("labels/{U2}")});
        let mut fresh = Bindings::new();
        assert!(match_json(&g, &other, &mut fresh, &Rules::default()).is_err());
        assert!(fresh.is_empty(), "a failed match leaves no binding: {fresh:?}");
        // Once bound, a placeholder is a literal.
        assert!(match_json(&json!("<uuid:7>"), &json!(U2), &mut b, &Rules::default()).is_err());
    }

    #[test]
    fn failed_sub_match_leaves_no_binding() {
        let mut b = Bindings::new();
        let g = json!([{"id": "<uuid:1>", "k": "a"}]);
        let a = json!([{"id": U1, "k": "b"}]);
        assert!(match_json(&g, &a, &mut b, &Rules::default()).is_err());
        assert!(b.is_empty());
        // Sibling that binds, then a later sibling that fails: everything is taken back.
        let g = json!({"a": "<uuid:1>", "b": "<uuid:2>", "c": "x"});
        let a = json!({"a": U1, "b": U2, "c": "y"});
        assert!(match_json(&g, &a, &mut b, &Rules::default()).is_err());
        assert!(b.is_empty());
        assert!(!match_str("<token:page:1>-<uuid:2>", "abc-not-a-uuid", &mut b));
        assert!(b.is_empty());
    }

    #[test]
    fn kinds() {
        let mut b = Bindings::new();
        let r = Rules::default();
        let ok = |g: Value, a: Value, b: &mut Bindings| match_json(&g, &a, b, &r).is_ok();
        assert!(ok(json!("<ts:rfc2822>"), json!("Sat, 22 Nov 2026 06:57:01 -0000"), &mut b));
        assert!(!ok(json!("<ts:rfc2822>"), json!("2026-11-22T06:57:01Z"), &mut b));
        assert!(!ok(json!("<ts:rfc2822>"), json!("Sat, 22 Nov 2026 06:57:01"), &mut b));
        assert!(ok(json!("<avatar:hash>"), json!("0123456789abcdef0123456789abcdef"), &mut b));
        assert!(!ok(json!("<avatar:hash>"), json!("0123456789ABCDEF0123456789ABCDEF"), &mut b));
        assert!(ok(json!("<avatar:color>"), json!("#5254a3"), &mut b));
        assert!(!ok(json!("<avatar:color>"), json!("5254a3"), &mut b));
        assert!(ok(json!("<ip>"), json!("127.0.0.1"), &mut b));
        assert!(ok(json!("<ip>"), json!("::1"), &mut b));
        assert!(!ok(json!("<ip>"), json!("localhost"), &mut b));
        assert!(ok(json!("<token>"), json!("x"), &mut b));
        assert!(!ok(json!("<token>"), json!(""), &mut b));
        assert!(ok(json!("<secret:encrypted_password>"), json!("zz"), &mut b));
        assert!(ok(json!("<user-agent>"), json!("skopeo/1.9.3"), &mut b));
        assert!(ok(json!("<sync_token>"), json!(null), &mut b));
        assert!(ok(json!("<sync_token>"), json!("1234"), &mut b));
        assert!(ok(json!("<jsonschema-error: 'name' is a required property>"), json!("anything"), &mut b));
        assert!(!ok(json!("<jsonschema-error: 'name' is a required property>"), json!(3), &mut b));
        assert!(ok(json!("<epoch_s>"), json!(1_790_000_000), &mut b));
        assert!(!ok(json!("<epoch_s>"), json!(1_790_000_000_000_i64), &mut b));
        assert!(!ok(json!("<epoch_s>"), json!("1790000000"), &mut b));
        assert!(!ok(json!("<epoch_s>"), json!(1.79e9), &mut b));
        assert!(ok(json!("<epoch_ms>"), json!(1_790_000_000_000_i64), &mut b));
        assert!(ok(json!("<int:id>"), json!(7), &mut b));
        assert!(ok(json!("<uuid:3>"), json!(U1), &mut b));
        assert!(!ok(json!("<uuid:4>"), json!("not-a-uuid"), &mut b));
        assert!(!b.contains_key("<uuid:4>"));
        let d = format!("sha256:{}", "ab".repeat(32));
        assert!(ok(json!("<digest:9>"), json!(d), &mut b));
        assert_eq!(b["<digest:9>"], d);
    }

    #[test]
    fn strict_jsonschema_compares_the_first_line() {
        let g = json!("<jsonschema-error: 'owner' is not one of ['read', 'write', 'admin']>");
        let r = Rules { strict_jsonschema: true, ..Rules::default() };
        let a = json!("'owner' is not one of ['read', 'write', 'admin']\n\nFailed validating 'enum'");
        assert!(match_json(&g, &a, &mut Bindings::new(), &r).is_ok());
        assert!(match_json(&g, &json!("other"), &mut Bindings::new(), &r).is_err());
    }

    #[test]
    fn types_and_key_sets_must_be_equal() {
        let mut b = Bindings::new();
        let r = Rules::default();
        assert!(match_json(&json!({"popularity": 0.0}), &json!({"popularity": 0.0}), &mut b, &r).is_ok());
        let e = match_json(&json!({"popularity": 0.0}), &json!({"popularity": 0}), &mut b, &r)
            .expect_err("integer is not float");
        assert_eq!(e.path, "response_json.popularity");
        assert!(match_json(&json!({"a": 1}), &json!({"a": 1, "b": 2}), &mut b, &r).is_err());
        assert!(match_json(&json!({"a": 1, "b": 2}), &json!({"a": 1}), &mut b, &r).is_err());
        assert!(match_json(&json!({"a": null}), &json!({"a": "x"}), &mut b, &r).is_err());
        assert!(match_json(&json!("Created"), &json!("Created"), &mut b, &r).is_ok());
        assert!(match_json(&json!(null), &json!(null), &mut b, &r).is_ok());
        assert!(match_json(&json!(null), &json!({}), &mut b, &r).is_err());
        let e = match_json(&json!({"x": [1, 2]}), &json!({"x": [1, 3]}), &mut b, &r).expect_err("differs");
        assert_eq!(e.path, "response_json.x[1]");
    }

    #[test]
    fn unknown_angle_brackets_are_literal() {
        let mut b = binds(&[("<user1>", "gdxalice")]);
        let html = "<html>\n  <head>\n    <title>Internal Server Error</title>";
        assert!(match_str(html, html, &mut b));
        let g = "Expected <operation>:<tag_name> where <operation>can be 'like' or 'eq'.";
        assert!(match_str(g, g, &mut b));
        assert!(!match_str(g, "Expected x:y where xcan be 'like' or 'eq'.", &mut b));
        let g = "{\"error\": \"CSRF token was invalid or missing. (authorized: user <user1>)\"}";
        assert!(match_str(
            g,
            "{\"error\": \"CSRF token was invalid or missing. (authorized: user gdxalice)\"}",
            &mut b
        ));
        assert!(match_str("a < b > c", "a < b > c", &mut b));
    }

    #[test]
    fn several_placeholders_in_one_string_backtrack() {
        let mut b = binds(&[("<org>", "gdorg")]);
        let g = "No repository notification found for: <org>, app, <uuid:10>";
        assert!(match_str(g, &format!("No repository notification found for: gdorg, app, {U1}"), &mut b));
        assert_eq!(b["<uuid:10>"], U1);
        let mut b = Bindings::new();
        assert!(match_str("<token:page:1>-<token:page:2>", "a-b-c", &mut b));
        assert_eq!((b["<token:page:1>"].as_str(), b["<token:page:2>"].as_str()), ("a-b", "c"));
        let mut b = Bindings::new();
        assert!(match_str("<token:page:1>/<token:page:1>", "x-y/x-y", &mut b));
        assert!(!match_str("<token:page:2>/<token:page:2>", "x-y/x-z", &mut b));
        assert!(!b.contains_key("<token:page:2>"));
    }

    #[test]
    fn unordered_lists_are_multisets_with_consistent_bindings() {
        let r = rules(&["response_json.members", "response_json.members[].teams"], &[]);
        let g = json!({"members": [
            {"name": "a", "teams": ["owners", "devs"]},
            {"name": "b", "teams": []}
        ]});
        let a = json!({"members": [
            {"name": "b", "teams": []},
            {"name": "a", "teams": ["devs", "owners"]}
        ]});
        assert!(match_json(&g, &a, &mut Bindings::new(), &r).is_ok());
        assert!(match_json(&g, &a, &mut Bindings::new(), &Rules::default()).is_err(), "ordered by default");
        // Nested lists not named stay ordered.
        let r2 = rules(&["response_json.members"], &[]);
        assert!(match_json(&g, &a, &mut Bindings::new(), &r2).is_err());
        // Multisets: duplicates count.
        let r3 = rules(&["response_json"], &[]);
        assert!(
            match_json(&json!(["x", "x", "y"]), &json!(["x", "y", "y"]), &mut Bindings::new(), &r3).is_err()
        );
    }

    #[test]
    fn unordered_backtracks_over_bindings() {
        // Golden element 0 could take either actual element by its uuid alone; only one
        // pairing also matches element 1 (which repeats <uuid:1>).
        let r = rules(&["response_json"], &[]);
        let g = json!([{"id": "<uuid:1>", "k": "<any:str>"}, {"id": "<uuid:1>", "k": "second"}]);
        let a = json!([{"id": U2, "k": "z"}, {"id": U1, "k": "z"}]);
        let mut b = Bindings::new();
        assert!(match_json(&g, &a, &mut b, &r).is_err());
        assert!(b.is_empty());
        let a = json!([{"id": U2, "k": "z"}, {"id": U2, "k": "second"}]);
        assert!(match_json(&g, &a, &mut b, &r).is_ok());
        assert_eq!(b["<uuid:1>"], U2);
        // The first pairing that matches element 0 binds <uuid:1> so that element 1 cannot
        // match; the matcher backtracks to the other pairing.
        let g = json!([{"a": "<uuid:1>", "b": "<any:str>"}, {"a": "<uuid:3>", "b": "<uuid:1>"}]);
        let a = json!([{"a": U1, "b": U2}, {"a": U2, "b": "q"}]);
        let mut b = Bindings::new();
        assert!(match_json(&g, &a, &mut b, &r).is_ok());
        assert_eq!((b["<uuid:1>"].as_str(), b["<uuid:3>"].as_str()), (U2, U1));
    }

    #[test]
    fn shape_only_compares_keys_and_types() {
        let r = rules(&["response_json.robots"], &["response_json.robots"]);
        let g = json!({"robots": [{"created": "<ts:rfc2822>", "description": "<any:str>", "last_accessed": null, "name": "<any:str>", "repositories": [], "teams": []}]});
        let a = json!({"robots": [{"created": "whatever", "description": "d", "last_accessed": null, "name": "gdorg+extra", "repositories": [], "teams": []}]});
        assert!(match_json(&g, &a, &mut Bindings::new(), &r).is_ok());
        let missing = json!({"robots": [{"created": "x", "description": "d", "last_accessed": null, "name": "n", "repositories": []}]});
        assert!(match_json(&g, &missing, &mut Bindings::new(), &r).is_err());
        let wrong_type = json!({"robots": [{"created": 1, "description": "d", "last_accessed": null, "name": "n", "repositories": [], "teams": []}]});
        assert!(match_json(&g, &wrong_type, &mut Bindings::new(), &r).is_err());
        let two = json!({"robots": [a["robots"][0].clone(), a["robots"][0].clone()]});
        assert!(match_json(&g, &two, &mut Bindings::new(), &r).is_err());
    }

    #[test]
    fn object_keys_go_through_substitution() {
        let d2 = format!("sha256:{}", "2".repeat(64));
        let d3 = format!("sha256:{}", "3".repeat(64));
        let mut b = binds(&[("<digest:2>", d2.as_str()), ("<user2>", "gdbob")]);
        let g = json!({"child_manifests_presence": {"<digest:2>": true, "<digest:3>": true}, "<user2>": {"role": "read"}});
        let a = json!({"child_manifests_presence": {d2.clone(): true, d3.clone(): true}, "gdbob": {"role": "read"}});
        assert!(match_json(&g, &a, &mut b, &Rules::default()).is_ok());
        assert_eq!(b["<digest:3>"], d3, "an unbound key placeholder captures");
        let wrong = json!({"child_manifests_presence": {d3.clone(): true, "sha256:x": true}, "gdbob": {"role": "read"}});
        let mut b2 = binds(&[("<digest:2>", d2.as_str()), ("<user2>", "gdbob")]);
        let e = match_json(&g, &wrong, &mut b2, &Rules::default()).expect_err("missing key");
        assert_eq!(e.path, "response_json.child_manifests_presence");
        assert!(!b2.contains_key("<digest:3>"));
    }

    #[test]
    fn salvage_binds_what_lines_up() {
        let mut b = Bindings::new();
        let g = json!({"id": "<uuid:4>", "role": "read", "next_page": "<token:page:1>"});
        let a = json!({"id": U1, "role": "write", "next_page": "tok"});
        assert!(match_json(&g, &a, &mut b, &Rules::default()).is_err());
        assert!(b.is_empty());
        salvage(&g, &a, &mut b);
        assert_eq!((b["<uuid:4>"].as_str(), b["<token:page:1>"].as_str()), (U1, "tok"));
        salvage(&json!({"id": "<uuid:5>"}), &json!({"id": "nope"}), &mut b);
        assert!(!b.contains_key("<uuid:5>"));
    }

    fn got(status: u16, headers: &[(&str, &str)], body: &str) -> Got {
        Got {
            status,
            headers: headers.iter().map(|(k, v)| (k.to_ascii_lowercase(), v.to_string())).collect(),
            body: body.into(),
        }
    }

    #[test]
    fn steps() {
        let mut b = binds(&[("<org>", "gdorg"), ("<digest:6>", "sha256:66")]);
        let step = json!({"status": 201,
            "response_headers": {"Content-Type": "application/json",
                                 "Location": "/api/v1/repository/<org>/app/manifest/<digest:6>/labels/<uuid:7>"},
            "response_json": {"label": {"id": "<uuid:7>", "key": "owner"}}});
        let loc = format!("/api/v1/repository/gdorg/app/manifest/sha256:66/labels/{U1}");
        let body = format!("{{\"label\": {{\"id\": \"{U1}\", \"key\": \"owner\"}}}}");
        let ok = got(201, &[("Content-Type", "application/json"), ("Location", &loc)], &body);
        assert_eq!(compare_step(&step, &ok, &mut b), Ok(()));
        assert_eq!(b["<uuid:7>"], U1);

        let mut b = binds(&[("<org>", "gdorg"), ("<digest:6>", "sha256:66")]);
        let no_loc = got(201, &[("Content-Type", "application/json")], &body);
        let e = compare_step(&step, &no_loc, &mut b).expect_err("Location missing");
        assert!(e.contains("Location"), "{e}");
        assert_eq!(b["<uuid:7>"], U1, "salvaged from the body");

        let status = got(404, &[("Content-Type", "application/json")], "{}");
        assert!(compare_step(&step, &status, &mut b).expect_err("status").starts_with("status 404"));
        let ct = got(201, &[("Content-Type", "application/json; charset=utf-8"), ("Location", &loc)], &body);
        assert!(compare_step(&step, &ct, &mut b).expect_err("ct").contains("Content-Type"));

        let signin = json!({"status": 200, "response_headers": {"Content-Type": "application/json", "X-Next-CSRF-Token": "<token:csrf>"}, "response_json": {"success": true}});
        let with = got(
            200,
            &[("Content-Type", "application/json"), ("X-Next-CSRF-Token", "t")],
            "{\"success\": true}",
        );
        assert_eq!(compare_step(&signin, &with, &mut b), Ok(()));
        let without = got(200, &[("Content-Type", "application/json")], "{\"success\": true}");
        assert!(compare_step(&signin, &without, &mut b).is_err());
        let plain = json!({"status": 200, "response_headers": {"Content-Type": "application/json"}, "response_json": {"success": true}});
        assert!(compare_step(&plain, &with, &mut b).is_err(), "X-Next-CSRF-Token only when recorded");

        let empty = json!({"status": 204, "response_headers": {"Content-Type": "application/json"}, "response_text": ""});
        assert_eq!(
            compare_step(&empty, &got(204, &[("Content-Type", "application/json")], ""), &mut b),
            Ok(())
        );
        assert!(
            compare_step(&empty, &got(204, &[("Content-Type", "application/json")], "x"), &mut b).is_err()
        );

        let html = json!({"status": 500, "response_headers": {"Content-Type": "text/html"}, "response_text": "<html>…</html>"});
        assert_eq!(compare_step(&html, &got(500, &[("Content-Type", "text/html")], "other"), &mut b), Ok(()));

        let null = json!({"status": 200, "response_headers": {"Content-Type": "application/json"}, "response_json": null});
        assert_eq!(
            compare_step(&null, &got(200, &[("Content-Type", "application/json")], "null\n"), &mut b),
            Ok(())
        );
        assert!(compare_step(&null, &got(200, &[("Content-Type", "application/json")], ""), &mut b).is_err());
    }

    /// A value of each placeholder, as a server could send it; numbered ones are made up at
    /// their first appearance and recorded in `truth`.
    fn sample(p: &str, truth: &mut Bindings) -> String {
        if let Some(v) = truth.get(p) {
            return v.clone();
        }
        let (kind, numbered) = kind_of(p).expect("a placeholder");
        let n: u64 = p.trim_end_matches('>').rsplit(':').next().and_then(|n| n.parse().ok()).unwrap_or(0);
        let v = match kind {
            Kind::Rfc2822 => "Sat, 22 Nov 2026 06:57:01 -0000".to_string(),
            Kind::Uuid => format!("{n:08x}-0000-4000-8000-{n:012x}"),
            Kind::Digest => format!("sha256:{n:064x}"),
            Kind::NonEmpty if numbered => format!("gAAAAA-page-{n}=="),
            Kind::NonEmpty => "tok".into(),
            Kind::Hex32 => "0123456789abcdef0123456789abcdef".into(),
            Kind::Color => "#5254a3".into(),
            Kind::Ip => "127.0.0.1".into(),
            Kind::Any => "anything".into(),
            Kind::EpochS | Kind::EpochMs | Kind::Int | Kind::AnyNumber => "1790000000".into(),
            Kind::AnyBool => "true".into(),
            Kind::JsonSchema => {
                p.trim_start_matches("<jsonschema-error:").trim_end_matches('>').trim().into()
            }
        };
        if numbered {
            truth.insert(p.to_string(), v.clone());
        }
        v
    }

    fn synth_text(t: &str, truth: &mut Bindings) -> String {
        let ps: Vec<String> = pieces(t, &|p| truth.contains_key(p) || kind_of(p).is_some())
            .into_iter()
            .map(|piece| match piece {
                Piece::Lit(l) => l.to_string(),
                Piece::Ph(p) => p.to_string(),
            })
            .collect();
        ps.iter()
            .map(|p| if truth.contains_key(p) || kind_of(p).is_some() { sample(p, truth) } else { p.clone() })
            .collect()
    }

    /// What a server that behaves exactly like the oracle could answer: placeholders replaced by
    /// values of their kind, and every `unordered` list reversed.
    fn synth(g: &Value, rule: &str, rules: &Rules, truth: &mut Bindings) -> Value {
        match g {
            Value::String(s) => match s.as_str() {
                "<epoch_s>" => json!(1_790_000_000),
                "<epoch_ms>" => json!(1_790_000_000_000_i64),
                "<int:id>" | "<any:number>" => json!(7),
                "<any:bool>" => json!(true),
                "<sync_token>" => json!(null),
                _ => Value::String(synth_text(s, truth)),
            },
            Value::Array(a) => {
                let elem = format!("{rule}[]");
                let mut out: Vec<Value> = a.iter().map(|x| synth(x, &elem, rules, truth)).collect();
                if rules.unordered.contains(rule) {
                    out.reverse();
                }
                Value::Array(out)
            }
            Value::Object(o) => Value::Object(
                o.iter()
                    .map(|(k, x)| (synth_text(k, truth), synth(x, &format!("{rule}.{k}"), rules, truth)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }

    /// The matcher against the whole recording: an answer that differs from the oracle only in
    /// placeholder values and in the order of `unordered` lists passes every HTTP step, and the
    /// numbered placeholders end up bound to exactly the values that were sent.
    #[test]
    fn the_recording_matches_an_answer_like_it() {
        let golden = super::super::Golden::load();
        let mut pre = binds(&[
            ("<run-prefix>", "gd0a1b2c"),
            ("<user1>", "gd0a1b2calice"),
            ("<user2>", "gd0a1b2cbob"),
            ("<org>", "gd0a1b2corg"),
            ("<superuser>", "quayadmin"),
            ("<fixture_user>", "bench"),
            ("<base>", "http://127.0.0.1:5000"),
            ("<host>", "127.0.0.1:5000"),
            ("<registry>", "127.0.0.1:5000"),
        ]);
        pre.extend(golden.digests.clone());
        let (mut truth, mut bound) = (pre.clone(), pre);
        let mut compared = 0;
        for step in golden.steps.iter().filter(|s| s.get("action").is_none()) {
            let rules = Rules::from_compare(step.get("compare"));
            let headers = step["response_headers"]
                .as_object()
                .expect("headers")
                .iter()
                .map(|(k, v)| (k.to_ascii_lowercase(), synth_text(v.as_str().expect("text"), &mut truth)))
                .collect();
            let body = match step.get("response_json") {
                Some(j) => synth(j, "response_json", &rules, &mut truth).to_string(),
                None => synth_text(step["response_text"].as_str().expect("text"), &mut truth),
            };
            let status = u16::try_from(step["status"].as_u64().expect("status")).expect("u16");
            let got = Got { status, headers, body };
            if let Err(e) = compare_step(step, &got, &mut bound) {
                panic!("S{}: {e}", step["step"]);
            }
            compared += 1;
        }
        assert_eq!(compared, 385);
        for (k, v) in &truth {
            assert_eq!(bound.get(k), Some(v), "{k}");
        }
        assert!(truth.keys().any(|k| k.starts_with("<uuid:")) && truth.contains_key("<token:page:11>"));
    }
}
