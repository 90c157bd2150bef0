#!/usr/bin/env bash
# Installs what the tests need and runs every test. Idempotent, and quick when all is installed:
#   Debian packages (PostgreSQL 15 server headers, libclang, skopeo and podman for the real-client
#   registry tests, nginx as the many-pods test's load balancer), oras and moto[server] from PyPI,
#   cargo-pgrx 0.18.0, a started PostgreSQL 15 cluster with a superuser role for the current
#   user, the `quay` extension; then cargo fmt --check, clippy -D warnings, the whole workspace's
#   tests, and a short run of every fuzz target (cargo-fuzz 0.13.2 on the nightly toolchain).
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/quay-target}"
PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config
SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
me="$(id -un)"
step() { printf '\n==> %s\n' "$*"; }
as_postgres() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else sudo -u postgres "$@"; fi; }

step "Debian packages"
pkgs=()
for p in postgresql-15 postgresql-server-dev-15 libclang-dev python3 skopeo podman tar nginx openssl; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || pkgs+=("$p")
done
if [ ${#pkgs[@]} -gt 0 ]; then
  $SUDO apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${pkgs[@]}"
else
  echo "already installed"
fi

step "oras, moto[server], kubernetes-validate and aiosmtpd (PyPI): the referrers test's client, the S3 tests' server, the manifests' schema check, the e-mail test's SMTP server"
pip_install() { python3 -m pip install --quiet "$@" || python3 -m pip install --quiet --break-system-packages "$@"; }
python3 -c 'import oras.client' 2>/dev/null || pip_install oras
# moto before 5.2.5 answers CompleteMultipartUpload with the wrong XML root for current SDKs.
python3 -c 'import sys, moto; sys.exit(tuple(map(int, moto.__version__.split(".")[:3])) < (5, 2, 5))' 2>/dev/null \
  || pip_install 'moto[server]>=5.2.5'
command -v kubernetes-validate >/dev/null || pip_install kubernetes-validate
python3 -c 'import aiosmtpd' 2>/dev/null || pip_install aiosmtpd
python3 -c 'import aiosmtpd; print("aiosmtpd", aiosmtpd.__version__)'
command -v openssl >/dev/null || { echo "openssl is needed (the e-mail test's certificate)" >&2; exit 1; }
python3 -c 'import oras; print("oras", oras.__version__)'
command -v moto_server
command -v kubernetes-validate
command -v kubectl >/dev/null || { echo "kubectl (client) is needed to render deploy/kubernetes" >&2; exit 1; }

step "cargo-pgrx 0.18.0"
if ! cargo pgrx --version 2>/dev/null | grep -q ' 0\.18\.0'; then
  cargo install cargo-pgrx --version 0.18.0 --locked
fi
if ! grep -q '^pg15' "$HOME/.pgrx/config.toml" 2>/dev/null; then
  cargo pgrx init --pg15 "$PG_CONFIG"
fi
cargo pgrx --version

step "PostgreSQL 15 cluster"
if ! pg_lsclusters -h 2>/dev/null | awk '$1=="15" && $2=="main"' | grep -q .; then
  $SUDO pg_createcluster 15 main
fi
pg_lsclusters -h | awk '$1=="15" && $2=="main" {print $4}' | grep -q online || $SUDO pg_ctlcluster 15 main start
for _ in $(seq 1 60); do pg_isready -q -h /var/run/postgresql && break; sleep 0.5; done
pg_isready -h /var/run/postgresql
if ! as_postgres psql -h /var/run/postgresql -tAc "SELECT 1 FROM pg_roles WHERE rolname = '$me'" | grep -q 1; then
  as_postgres psql -h /var/run/postgresql -c "CREATE ROLE \"$me\" SUPERUSER LOGIN"
fi

step "quay extension (cargo pgrx install)"
cargo pgrx install -p quay-pg --pg-config "$PG_CONFIG"
# cargo pgrx ships the current install script and the upgrade scripts (extension/pg/sql/quay--A--B.sql);
# earlier versions' install scripts are kept in the same folder for the upgrade test
# (tests/tests/sql/extension_upgrade.rs: CREATE EXTENSION quay VERSION '0.1.0', then ALTER EXTENSION UPDATE).
for f in extension/pg/sql/quay--*.sql; do
  case "$(basename "$f")" in
    quay--*--*) ;;
    *) $SUDO install -m 644 "$f" "$("$PG_CONFIG" --sharedir)/extension/" ;;
  esac
done

step "remove databases left by earlier test runs"
psql -h /var/run/postgresql -d postgres -tAc "SELECT datname FROM pg_database WHERE datname LIKE 'quaytest\_%'" |
  while read -r db; do [ -n "$db" ] && psql -h /var/run/postgresql -d postgres -qc "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)"; done

step "format and lints (cargo fmt --check; clippy -D warnings on the workspace, the pgrx crate included)"
cargo fmt --all --check
PGRX_PG_CONFIG_PATH="$PG_CONFIG" cargo clippy --workspace --all-targets --quiet -- -D warnings

step "tests (default members: everything but the pgrx crate, which is tested through SQL)"
export QUAY_TEST_PG="${QUAY_TEST_PG:-postgresql:///postgres?host=/var/run/postgresql}"
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --no-fail-fast "$@"
  cargo test --doc
else
  cargo test --no-fail-fast "$@"
fi

step "fuzz targets: a short run of each, from its committed corpus (docs/reliability.md, Fuzzing)"
rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
cargo +nightly fuzz --version 2>/dev/null | grep -q ' 0\.13\.2' || cargo install cargo-fuzz --version 0.13.2 --locked
for t in manifest names scope range config jwt; do
  scratch="$(mktemp -d)"
  # New inputs go to a scratch corpus; the committed one is only read. A crash fails the run
  # and leaves its input under fuzz/artifacts/.
  if ! (cd fuzz && CARGO_TARGET_DIR="$HOME/.cache/quay-fuzz-target" \
      cargo +nightly fuzz run -s none "$t" "$scratch" "corpus/$t" -- -runs=300000 -max_total_time=15 \
      >"$scratch.log" 2>&1); then
    tail -n 40 "$scratch.log"
    echo "fuzz target $t failed" >&2
    exit 1
  fi
  echo "$t: $(grep -E '^#[0-9]+[[:space:]]+DONE' "$scratch.log" | tail -n 1)"
  rm -rf "$scratch" "$scratch.log"
done
