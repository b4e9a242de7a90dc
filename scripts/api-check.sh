#!/usr/bin/env bash
# Property-based check of kyso's HTTP API against its own OpenAPI document: starts
# `kyso serve` on loopback with a fresh data directory, and runs schemathesis (pinned
# below, installed into the repository's .venv) on every operation the document
# describes, with two checks: no response is a server error (5xx), and every response
# conforms to the schema documented for its status code. Exits non-zero on any failure,
# and when schemathesis, the binary or the server is missing or broken: it never skips.
#
#   scripts/api-check.sh [--build] [--kyso PATH] [--max-examples N] [--workers N]
#                        [--seed N] [--out DIR] [-- EXTRA SCHEMATHESIS ARGS…]
#
#   --build           cargo build --locked -p kyso-cli first (debug profile)
#   --kyso PATH       the binary to serve with (default: target/debug/kyso)
#   --max-examples N  test cases per operation and phase (default 100; the whole run is
#                     also capped at 10 minutes, and fails if it takes longer)
#   --workers N       concurrent schemathesis workers (default 2)
#   --seed N          reproduce an earlier run (its seed is printed at its end)
#   --out DIR         keep the server log and schemathesis' JUnit report there
#                     (default: a temporary directory, kept only when the check fails)
#
# The server is `kyso serve --data TMP --listen 127.0.0.1:PORT`; the document is read from
# http://127.0.0.1:PORT/api/v1/openapi.json (its paths are resolved against that origin,
# with the document's own base path, if it declares one). The server is stopped with
# SIGTERM on exit. Needs python3 with venv (scripts/test.sh makes .venv; this script
# makes it when missing) and curl.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

schemathesis_version=4.32.5
build=0
kyso=$root/target/debug/kyso
max_examples=100
workers=2
seed=""
out=""
extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --build) build=1 ;;
    --kyso) kyso=$2; shift ;;
    --max-examples) max_examples=$2; shift ;;
    --workers) workers=$2; shift ;;
    --seed) seed=$2; shift ;;
    --out) out=$2; shift ;;
    --) shift; extra=("$@"); break ;;
    -h|--help) sed -n '2,25p' "$0"; exit 0 ;;
    *) echo "scripts/api-check.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
for n in "$max_examples" "$workers"; do
  case $n in (*[!0-9]*|''|0) echo "scripts/api-check.sh: expected a positive number, not '$n'" >&2; exit 2 ;; esac
done

die() { echo "scripts/api-check.sh: FAILED: $*" >&2; exit 1; }

# --- tools ----------------------------------------------------------------------------
command -v curl >/dev/null || die "curl is missing (apt-get install curl)"
command -v python3 >/dev/null || die "python3 is missing"
venv=$root/.venv
st=$venv/bin/schemathesis
if [ "$("$st" --version 2>/dev/null)" != "schemathesis, version $schemathesis_version" ]; then
  echo "== installing schemathesis $schemathesis_version into $venv"
  if [ ! -x "$venv/bin/pip" ]; then
    python3 -m venv "$venv" || die "cannot create $venv (apt-get install python3-venv)"
  fi
  "$venv/bin/pip" install -q --disable-pip-version-check "schemathesis==$schemathesis_version" ||
    die "cannot install schemathesis==$schemathesis_version into $venv"
fi
[ "$("$st" --version 2>/dev/null)" = "schemathesis, version $schemathesis_version" ] ||
  die "$st is not schemathesis $schemathesis_version: $("$st" --version 2>&1 | head -1)"

if [ "$build" = 1 ]; then
  cargo build --locked -p kyso-cli
fi
[ -x "$kyso" ] || die "no kyso binary at $kyso (build it: cargo build --locked -p kyso-cli, or pass --build)"

if [ -z "$out" ]; then
  out=$(mktemp -d /tmp/kyso-api-check.XXXXXX)
  keep=0
else
  mkdir -p "$out"
  out=$(cd "$out" && pwd)
  keep=1
fi
data=$out/data
rm -rf "$data"
mkdir -p "$data"

# --- the server -------------------------------------------------------------------------
server_pid=""
cleanup() {
  local rc=$?
  if [ -n "$server_pid" ] && kill -TERM "$server_pid" 2>/dev/null; then
    for _ in $(seq 100); do
      kill -0 "$server_pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$server_pid" 2>/dev/null; then
      echo "scripts/api-check.sh: kyso serve (pid $server_pid) ignored SIGTERM for 10 s; killing it" >&2
      kill -KILL "$server_pid" 2>/dev/null || true
      [ "$rc" = 0 ] && rc=1
    fi
    wait "$server_pid" 2>/dev/null || true
  fi
  if [ "$keep" = 0 ]; then
    if [ "$rc" = 0 ]; then
      rm -rf "$out"
    else
      echo "scripts/api-check.sh: server log and reports kept in $out" >&2
    fi
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base=http://127.0.0.1:$port
"$kyso" serve --data "$data" --listen "127.0.0.1:$port" > "$out/serve.log" 2>&1 &
server_pid=$!
ready=0
for _ in $(seq 600); do
  if ! kill -0 "$server_pid" 2>/dev/null; then
    cat "$out/serve.log" >&2
    die "kyso serve exited before answering $base/healthz"
  fi
  if [ "$(curl -sS --max-time 2 "$base/healthz" 2>/dev/null)" = ok ]; then
    ready=1
    break
  fi
  sleep 0.1
done
if [ "$ready" != 1 ]; then
  cat "$out/serve.log" >&2
  die "kyso serve did not answer 'ok' at $base/healthz within 60 s"
fi
spec_url=$base/api/v1/openapi.json
status=$(curl -sS --max-time 10 -o "$out/openapi.json" -w '%{http_code}' "$spec_url" || true)
[ "$status" = 200 ] || die "GET $spec_url answered HTTP $status"
python3 - "$out/openapi.json" <<'PY' || die "$spec_url is not an OpenAPI 3.x document with operations"
import json, sys
d = json.load(open(sys.argv[1]))
assert str(d.get("openapi", "")).startswith("3."), "no openapi: 3.x field"
ops = [(m.upper(), p) for p, item in (d.get("paths") or {}).items() for m in item
       if m in ("get", "put", "post", "delete", "options", "head", "patch", "trace")]
assert ops, "no operations"
print(f"== {d['openapi']} document, {len(ops)} operations: " + ", ".join(f"{m} {p}" for m, p in ops))
PY

# --- credentials ------------------------------------------------------------------------
# Three passes: anonymous; a machine client with an API token holding every scope; the
# administrator's cookie session (with its CSRF header). The administrator comes from the
# one-time setup link the server printed.
link=$(grep -o 'http://[^ ]*/setup?token=[A-Za-z0-9_-]*' "$out/serve.log" | head -1)
[ -n "$link" ] || die "kyso serve printed no setup link (see $out/serve.log)"
setup_token=${link##*token=}
password=api-check-password-2026
curl -sS --fail-with-body -H 'Content-Type: application/json' -o /dev/null "$base/api/v1/setup" \
  -d "{\"token\":\"$setup_token\",\"agency_id\":\"000.00.00.H13\",\"agency_name\":\"UBND\",\"name\":\"quantri\",\"full_name\":\"Quản trị\",\"password\":\"$password\"}" ||
  die "setup through $base/api/v1/setup failed"
login=$(curl -sS --fail-with-body -D "$out/login.headers" -H 'Content-Type: application/json' "$base/api/v1/sessions" \
  -d "{\"user\":\"quantri\",\"password\":\"$password\"}") || die "login failed: $login"
csrf=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["csrf_token"])' "$login")
cookie=$(grep -i '^set-cookie:' "$out/login.headers" | head -1 | sed -E 's/^[Ss]et-[Cc]ookie: *([^;]*).*/\1/')
[ -n "$cookie" ] || die "login set no cookie"
token_json=$(curl -sS --fail-with-body -H 'Content-Type: application/json' -H "Cookie: $cookie" -H "X-CSRF-Token: $csrf" \
  "$base/api/v1/tokens" -d '{"name":"api-check","scopes":["documents:read","documents:write","documents:advance"],"days":1}') ||
  die "cannot create an API token: $token_json"
api_token=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["token"])' "$token_json")

# --- schemathesis -----------------------------------------------------------------------
# It writes .hypothesis/ and .schemathesis/ into its working directory: keep them out of
# the repository.
mkdir -p "$out/st"
# shellcheck disable=SC2054 # the commas separate schemathesis' check names
args=(
  run "$spec_url"
  --origin "$base"
  --checks not_a_server_error,response_schema_conformance
  --max-examples "$max_examples"
  --workers "$workers"
  --request-timeout 60
  --generation-database none
  --report junit --report-junit-path "$out/junit.xml"
  --no-color
)
[ -n "$seed" ] && args+=(--seed "$seed")
args+=("${extra[@]}")
pass_number=0
for who in anonymous token session; do
  pass_number=$((pass_number + 1))
  pass_args=("${args[@]}")
  # Each pass its own report.
  for i in "${!pass_args[@]}"; do
    [ "${pass_args[$i]}" = "$out/junit.xml" ] && pass_args[i]="$out/junit-$who.xml"
  done
  case $who in
    token) pass_args+=(--header "Authorization: Bearer $api_token") ;;
    session) pass_args+=(--header "Cookie: $cookie" --header "X-CSRF-Token: $csrf") ;;
  esac
  echo "== schemathesis pass $pass_number ($who)"
  rc=0
  (cd "$out/st" && timeout --signal=INT --kill-after=30 600 "$st" "${pass_args[@]}") || rc=$?
  if [ "$rc" = 124 ] || [ "$rc" = 130 ]; then
    die "schemathesis did not finish within 10 minutes (lower --max-examples)"
  fi
  kill -0 "$server_pid" 2>/dev/null || { cat "$out/serve.log" >&2; die "kyso serve died during the check"; }
  [ "$rc" = 0 ] || die "schemathesis ($who) found failures (exit $rc); reproduce with --seed and the printed seed"
  # A run that tested nothing must not pass.
  python3 - "$out/junit-$who.xml" <<'PY' || die "schemathesis ran no test case (see $out/junit-$who.xml)"
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
tests = sum(int(s.get("tests", 0)) for s in suites)
skipped = sum(int(s.get("skipped", 0)) for s in suites)
bad = sum(int(s.get("failures", 0)) + int(s.get("errors", 0)) for s in suites)
print(f"== schemathesis: {tests} operation test(s), {skipped} skipped, {bad} failed or errored")
sys.exit(0 if tests > skipped and bad == 0 else 1)
PY
done
echo "api-check: passed"
