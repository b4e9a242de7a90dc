#!/usr/bin/env bash
# Run every kyso test on a fresh Debian machine (as root): installs the peers the tests
# check kyso against (OpenSSL, pyHanko and schemathesis in a venv, PostgreSQL), then
# formatting, lints, tests and the API check.
# Re-running is cheap: installed pieces are kept.
#
#   bash scripts/test.sh                          everything, as CI runs it
#   bash scripts/test.sh --repeat 20 [ARGS…]      build once, then run `cargo test ARGS` 20
#                                                 times, stopping at the first failure (to
#                                                 catch flaky tests before they land; ARGS
#                                                 default to the signing and verification
#                                                 crates: -p kyso-pades -p kyso-cades -p kyso-cli)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

repeat=""
if [ "${1:-}" = --repeat ]; then
  repeat=${2:?"--repeat needs a count"}
  case $repeat in (*[!0-9]*|'') echo "scripts/test.sh: --repeat takes a number, not '$repeat'" >&2; exit 2;; esac
  shift 2
  repeat_args=("$@")
  [ ${#repeat_args[@]} -gt 0 ] || repeat_args=(-p kyso-pades -p kyso-cades -p kyso-cli)
fi

# --- system packages --------------------------------------------------------------
apt_packages=(openssl ca-certificates curl python3-venv poppler-utils qpdf fonts-liberation2 libnss3-tools postgresql-15 softhsm2 opensc chromium)
missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "scripts/test.sh: missing packages ${missing[*]} and not root to install them" >&2
    exit 2
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# --- pyHanko (the reference peer for CAdES/PAdES) ---------------------------------
venv="$root/.venv"
# python-pkcs11: pyHanko signing on the SoftHSM token beside kyso agent (bench_agent).
if ! "$venv/bin/pyhanko" --version >/dev/null 2>&1 || ! "$venv/bin/python" -c 'import pkcs11' 2>/dev/null; then
  [ -x "$venv/bin/pip" ] || python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check \
    'pyhanko[opentype,image-support]==0.38.0' 'pyhanko-certvalidator==0.33.0' 'pyhanko-cli==0.6.0' \
    'python-pkcs11==0.10.1'
fi
export KYSO_PYHANKO="$venv/bin/pyhanko"
export KYSO_PYTHON="$venv/bin/python"

# --- browser tests (Debian's Chromium driven by playwright-core; axe-core) -------------------
# tests/browser: the agent's VGCA test page and driver, the verification page's driver.
# playwright-core only drives the browser: it never downloads one; the test uses
# /usr/bin/chromium from the apt packages above.
browser_dir="$root/tests/browser"
if [ ! -d "$browser_dir/node_modules/playwright-core" ] || [ ! -d "$browser_dir/node_modules/axe-core" ]; then
  (cd "$browser_dir" && npm ci --no-audit --no-fund)
fi
export KYSO_BROWSER_DIR="$browser_dir"

# --- PostgreSQL on loopback (crates/store tests run on SQLite and on PostgreSQL) ------
# A throw-away cluster in a temporary directory, port 55432, trust auth, stopped on exit.
# The store tests fail (not skip) without it when CI=true or KYSO_REQUIRE_POSTGRES=1.
pg_bin=/usr/lib/postgresql/15/bin
pg_port=55432
if "$pg_bin/pg_isready" -q -h 127.0.0.1 -p "$pg_port" 2>/dev/null; then
  echo "scripts/test.sh: using the PostgreSQL already listening on 127.0.0.1:$pg_port" >&2
elif [ "$(id -u)" = 0 ]; then
  pg_dir=$(mktemp -d /tmp/kyso-pg.XXXXXX)
  chown postgres "$pg_dir"
  su postgres -c "$pg_bin/initdb -D '$pg_dir/data' -A trust -E UTF8 --locale=C.UTF-8" >/dev/null
  su postgres -c "$pg_bin/pg_ctl -D '$pg_dir/data' -w -l '$pg_dir/log' \
    -o '-p $pg_port -k $pg_dir -c listen_addresses=127.0.0.1 -c max_connections=200' start" >/dev/null
  trap 'su postgres -c "$pg_bin/pg_ctl -D \"$pg_dir/data\" -m fast stop" >/dev/null 2>&1; rm -rf "$pg_dir"' EXIT
else
  echo "scripts/test.sh: not root: start PostgreSQL on 127.0.0.1:$pg_port yourself (see crates/store/README.md)" >&2
fi
export KYSO_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$pg_port/postgres"

# --- repeat mode --------------------------------------------------------------------
# The test executables of one build, each run N times from its package's directory (as
# cargo runs them), so sources edited meanwhile change nothing.
if [ -n "$repeat" ]; then
  list=$(mktemp)
  cargo test --locked --no-run --message-format=json "${repeat_args[@]}" |
    python3 -c '
import json, os, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["profile"]["test"]:
        print(os.path.dirname(m["manifest_path"]) + "\t" + m["executable"])
' >"$list"
  echo "scripts/test.sh: $(wc -l <"$list") test executables, $repeat runs each"
  started=$(date +%s)
  for i in $(seq 1 "$repeat"); do
    t0=$(date +%s)
    while IFS=$'\t' read -r dir exe; do
      log="$root/target/repeat.log"
      if ! (cd "$dir" && "$exe" -q >"$log" 2>&1); then
        grep -E '^(test .* FAILED|---- |thread .* panicked)' "$log" | head -20 >&2 || true
        echo "scripts/test.sh: run $i of $repeat FAILED: $exe (log: target/repeat.log)" >&2
        exit 1
      fi
    done <"$list"
    echo "run $i of $repeat: ok ($(( $(date +%s) - t0 )) s)"
  done
  echo "scripts/test.sh: $repeat runs of $(wc -l <"$list") test executables (${repeat_args[*]}): all green in $(( $(date +%s) - started )) s"
  rm -f "$list"
  exit 0
fi

# --- checks ---------------------------------------------------------------------
cargo fmt --all -- --check
python3 scripts/check-licences.py
# A fresh clone is complete: no tracked file refers to a path outside the repository.
python3 scripts/check-self-contained.py
# Layers L0-L2 do no I/O: no async runtime, HTTP client or database below the adapters.
for crate in kyso-model kyso-signer kyso-pki kyso-cades kyso-pades kyso-office kyso-exchange; do
  if cargo tree -p "$crate" -e normal --prefix none --locked | grep -E '^(tokio|ureq|reqwest|hyper|sqlx|rusqlite|tiny_http) '; then
    echo "scripts/test.sh: $crate depends on an I/O crate (see above)" >&2
    exit 1
  fi
done
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo test --workspace --locked
# The HTTP API against its own OpenAPI document (schemathesis; anonymous, API token and
# administrator session passes): no 5xx, every response as documented.
bash scripts/api-check.sh --kyso "${CARGO_TARGET_DIR:-$root/target}/debug/kyso" --max-examples 50

# --- the tests that read testdata/, again in a copy of the repository ---------------------
# In a temporary directory with nothing beside it, so a test that still reads data from
# outside the repository fails even on a machine where that data exists. Under CI, or
# with KYSO_SELF_CONTAINED=1.
if [ "${CI:-}" = true ] || [ "${KYSO_SELF_CONTAINED:-}" = 1 ]; then
  # What the build holds so far, beside what the disk has left (a full disk once failed CI).
  du -sh "${CARGO_TARGET_DIR:-$root/target}" >&2 || true
  df -h "${CARGO_TARGET_DIR:-$root/target}" >&2 || true
  bash scripts/test-in-copy.sh
  du -sh "${CARGO_TARGET_DIR:-$root/target}" >&2 || true
fi
