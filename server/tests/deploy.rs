//! The Kubernetes manifests (`deploy/kubernetes`, issue 15): rendered with `kubectl kustomize`,
//! validated offline against the Kubernetes schemas (`kubernetes-validate --strict`, from PyPI,
//! installed by tests/run.sh), and checked against this binary: every container's arguments
//! parse as `quay` command lines, the probes use the routes made for them, a terminating pod
//! drains before its grace period ends, and the example config.yaml passes `quay config
//! validate`.

use clap::Parser as _;
use quay_server::cli::Cli;
use serde::Deserialize as _;
use serde_yaml::Value;
use std::process::Command;

mod support;

use support::{QUAY, Server};

fn repo(rel: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(rel)
}

fn rendered() -> (String, Vec<Value>) {
    let out =
        Command::new("kubectl").arg("kustomize").arg(repo("deploy/kubernetes")).output().expect("kubectl");
    assert!(out.status.success(), "kubectl kustomize: {}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).expect("utf8");
    let docs =
        serde_yaml::Deserializer::from_str(&text).map(|d| Value::deserialize(d).expect("yaml")).collect();
    (text, docs)
}

fn kind<'a>(docs: &'a [Value], kind: &str, name: &str) -> &'a Value {
    docs.iter()
        .find(|d| d["kind"] == kind && d["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name}"))
}

#[test]
fn manifests_render_validate_and_match_the_binary() {
    let (text, docs) = rendered();
    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("rendered.yaml");
    std::fs::write(&file, &text).expect("write");
    let out = Command::new("kubernetes-validate")
        .args(["--strict", "--quiet", "-k", "1.32.0"])
        .arg(&file)
        .output()
        .expect("kubernetes-validate (tests/run.sh installs it from PyPI)");
    assert!(
        out.status.success(),
        "schema validation: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let kinds: Vec<String> = docs
        .iter()
        .map(|d| {
            format!("{}/{}", d["kind"].as_str().unwrap_or(""), d["metadata"]["name"].as_str().unwrap_or(""))
        })
        .collect();
    for want in ["Deployment/quay-serve", "Deployment/quay-worker", "Service/quay", "Job/quay-migrate"] {
        assert!(kinds.contains(&want.to_string()), "{want} in {kinds:?}");
    }
    assert_eq!(docs.iter().filter(|d| d["kind"] == "PodDisruptionBudget").count(), 2);

    // Every container's command line is one this binary accepts.
    for (k, name) in [("Deployment", "quay-serve"), ("Deployment", "quay-worker"), ("Job", "quay-migrate")] {
        let spec = &kind(&docs, k, name)["spec"]["template"]["spec"];
        for c in spec["containers"].as_sequence().expect("containers") {
            let args: Vec<&str> =
                c["args"].as_sequence().expect("args").iter().map(|a| a.as_str().expect("arg")).collect();
            let parsed = Cli::try_parse_from(std::iter::once("quay").chain(args.iter().copied()));
            assert!(parsed.is_ok(), "{name}: `quay {}` does not parse: {:?}", args.join(" "), parsed.err());
        }
    }
    let serve = &kind(&docs, "Deployment", "quay-serve")["spec"];
    let container = &serve["template"]["spec"]["containers"][0];
    assert_eq!(container["readinessProbe"]["httpGet"]["path"], "/readyz");
    assert_eq!(container["livenessProbe"]["httpGet"]["path"], "/livez");
    assert!(serve["replicas"].as_u64().unwrap_or(0) >= 2, "several serve replicas");
    // The drain (from the generated ConfigMap) plus the server's 30 s for in-flight requests
    // fit in the grace period.
    let env = docs.iter().find(|d| d["kind"] == "ConfigMap").expect("env ConfigMap");
    let drain: u64 = env["data"]["QUAY_SHUTDOWN_DRAIN"].as_str().expect("drain").parse().expect("number");
    let grace = serve["template"]["spec"]["terminationGracePeriodSeconds"].as_u64().expect("grace");
    assert!(drain > 0 && drain + 30 <= grace, "drain {drain} s + 30 s within {grace} s");

    let out = Command::new(QUAY)
        .args(["config", "validate", "--config"])
        .arg(repo("deploy/kubernetes/config.yaml"))
        .output()
        .expect("quay");
    assert!(out.status.success(), "example config: {}", String::from_utf8_lossy(&out.stderr));
}

/// The Grafana dashboard queries only metrics the server exports: every `quay_*` name in its
/// expressions (with Prometheus' `_total`, `_bucket`, `_count` suffixes taken off) is in a
/// scrape of a running server.
#[tokio::test]
async fn dashboard_queries_exported_metrics() {
    let dash: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo("deploy/grafana/quay-rs.json")).expect("dashboard"),
    )
    .expect("dashboard JSON");
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().to_str().expect("utf8").to_string();
    let server = tokio::task::spawn_blocking(move || {
        Server::start(&["--data-dir", &data, "--metrics-listen", "127.0.0.1:0"])
    })
    .await
    .expect("serve");
    let metrics_url = server.metrics.clone().expect("metrics address");
    let scrape = reqwest::get(&metrics_url).await.expect("scrape").text().await.expect("body");
    tokio::task::spawn_blocking(move || server.kill()).await.expect("kill");
    let mut checked = 0;
    for panel in dash["panels"].as_array().expect("panels") {
        for target in panel["targets"].as_array().expect("targets") {
            let expr = target["expr"].as_str().expect("expr");
            for name in expr
                .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .filter(|w| w.starts_with("quay_"))
            {
                let base = ["_total", "_bucket", "_count", "_sum"]
                    .iter()
                    .find_map(|s| name.strip_suffix(s))
                    .unwrap_or(name);
                assert!(
                    scrape.contains(&format!("# TYPE {base} ")),
                    "panel {:?} queries {name}, not exported",
                    panel["title"]
                );
                checked += 1;
            }
        }
    }
    assert!(checked >= 15, "{checked} metric names checked");
}
