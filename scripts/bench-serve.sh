#!/usr/bin/env bash
# Public verification over HTTP: throughput, p50/p99 latency and the server's peak memory
# for `POST /api/v1/verify` of a 1 MB PDF signed twice (a leader's visible signature and
# the agency seal over it, both by kyso), with wrk as the load generator on loopback.
#
#   scripts/bench-serve.sh [--no-build] [--kyso PATH] [--out DIR] [--duration SECS]
#                          [--threads N] [--connections N] [--runs N] [--level b-lt|b-b]
#                          [--expect VERDICT]
#
#   --no-build       use the existing target/release/kyso (default: cargo build --release)
#   --kyso PATH      the kyso binary to use for everything (implies --no-build)
#   --out DIR        keep the work files, logs and results.md there (a new or empty
#                    directory; default: a fresh temporary directory, removed at the end)
#   --duration SECS  length of each measured wrk run (default 20; the warm-up is 5 s)
#   --threads N      wrk threads (default 2)   --connections N   wrk connections (default 8)
#   --runs N         measured runs (default 3); the report gives each and their medians
#   --level L        PAdES level of both signatures (default b-lt: the PDF carries the CRLs
#                    of its chains and time-stamps from the test CA's TSA, so the verdict
#                    does not depend on fetching anything; b-b: the server must read the
#                    CRLs named in the certificates)
#   --expect V       the verdict every response must have (default valid)
#
# What it does: builds kyso (release), makes a throwaway CA (`kyso ca init`, P-256) whose
# certificates name file:// CRL URLs (nothing is ever fetched over the network: a
# revocation "fetch" is a read of a local file), issues a leader and a seal certificate,
# generates a 1 MB PDF (four pages with 250 kB incompressible images, as
# scripts/bench-pdf.sh does), signs it twice with `kyso sign` (for b-lt against a
# `kyso ca serve` TSA on loopback, stopped before the benchmark), puts the CA root into
# the server's trust store (`kyso --data DATA trust add`), starts
# `kyso serve --data DATA --listen 127.0.0.1:PORT`, waits for /healthz, checks that the
# exact request body wrk will send answers 200 with the expected verdict (and so does
# curl's own multipart encoding of the file), warms up for 5 s, then runs wrk --runs times
# and reports requests/s, p50, p99 and the server's peak RSS (VmHWM of /proc/PID/status,
# reset before each run through /proc/PID/clear_refs). Any non-2xx response, socket error
# or time-out fails the benchmark. The server is stopped with SIGTERM at the end.
#
# The load generator and the server share this machine's cores: the figures are for both
# on one host. Needs curl, python3 and wrk (installed with apt-get when run as root).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

build=1
kyso=""
out=""
duration=20
threads=2
connections=8
runs=3
level=b-lt
expect=valid
while [ $# -gt 0 ]; do
  case "$1" in
    --no-build) build=0 ;;
    --kyso) kyso=$2; build=0; shift ;;
    --out) out=$2; shift ;;
    --duration) duration=$2; shift ;;
    --threads) threads=$2; shift ;;
    --connections) connections=$2; shift ;;
    --runs) runs=$2; shift ;;
    --level) level=$2; shift ;;
    --expect) expect=$2; shift ;;
    -h|--help) sed -n '2,38p' "$0"; exit 0 ;;
    *) echo "scripts/bench-serve.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
for n in "$duration" "$threads" "$connections" "$runs"; do
  case $n in (*[!0-9]*|''|0) echo "scripts/bench-serve.sh: expected a positive number, not '$n'" >&2; exit 2 ;; esac
done
case $level in (b-lt|b-b) ;; (*) echo "scripts/bench-serve.sh: --level is b-lt or b-b" >&2; exit 2 ;; esac

die() { echo "scripts/bench-serve.sh: $*" >&2; exit 1; }

# --- tools ------------------------------------------------------------------------
missing=()
for tool in wrk curl; do
  command -v "$tool" >/dev/null || missing+=("$tool")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "scripts/bench-serve.sh: needs ${missing[*]} (apt-get install ${missing[*]})" >&2
    exit 2
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
command -v python3 >/dev/null || { echo "scripts/bench-serve.sh: needs python3" >&2; exit 2; }

if [ "$build" = 1 ]; then
  cargo build --release --locked -p kyso-cli
fi
kyso=${kyso:-$root/target/release/kyso}
[ -x "$kyso" ] || { echo "scripts/bench-serve.sh: no kyso binary at $kyso (drop --no-build)" >&2; exit 2; }
lua=$root/scripts/bench-serve.lua
[ -f "$lua" ] || { echo "scripts/bench-serve.sh: missing $lua" >&2; exit 2; }

if [ -z "$out" ]; then
  out=$(mktemp -d /tmp/kyso-bench-serve.XXXXXX)
  keep=0
else
  if [ -e "$out" ] && [ -n "$(ls -A "$out")" ]; then
    echo "scripts/bench-serve.sh: $out exists and is not empty" >&2
    exit 2
  fi
  mkdir -p "$out"
  out=$(cd "$out" && pwd)
  keep=1
fi
w=$out/work
mkdir -p "$w"

# --- processes started here, stopped on every exit ----------------------------------
server_pid=""
ca_pid=""
stop() { # pid name
  local pid=$1 name=$2 i
  kill -TERM "$pid" 2>/dev/null || return 0
  for i in $(seq 100); do
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
    sleep 0.1
  done
  echo "scripts/bench-serve.sh: $name (pid $pid) did not stop within 10 s of SIGTERM; killing it" >&2
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
cleanup() {
  local rc=$?
  [ -n "$server_pid" ] && stop "$server_pid" "kyso serve"
  [ -n "$ca_pid" ] && stop "$ca_pid" "kyso ca serve"
  if [ "$keep" = 0 ]; then
    if [ "$rc" = 0 ]; then
      rm -rf "$out"
    else
      echo "scripts/bench-serve.sh: failed; work files kept in $out" >&2
    fi
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
# wait_http URL PID NAME LOG: until URL answers 2xx (60 s), failing if PID exits first.
wait_http() {
  local url=$1 pid=$2 name=$3 log=$4 i
  for i in $(seq 600); do
    if ! kill -0 "$pid" 2>/dev/null; then
      cat "$log" >&2
      die "$name exited before answering $url"
    fi
    curl -fsS --max-time 2 -o /dev/null "$url" 2>/dev/null && return 0
    sleep 0.1
  done
  cat "$log" >&2
  die "$name did not answer $url within 60 s"
}
json_field() { # file field
  python3 -c 'import json, sys; print(json.load(open(sys.argv[1])).get(sys.argv[2]))' "$1" "$2" 2>/dev/null || echo "(not JSON)"
}
show_response() { # file
  python3 - "$1" >&2 <<'PY' || head -c 2000 "$1" >&2
import json, sys
r = json.load(open(sys.argv[1]))
print("  verdict:", r.get("verdict"))
for n in r.get("notes") or []:
    print("  note:", n.get("code"), "-", n.get("en"))
for reason in r.get("reasons") or []:
    print("  reason:", reason.get("code"), "-", reason.get("en"))
for s in r.get("signatures") or []:
    print("  signature", s.get("field"), s.get("indication"), s.get("sub_indication"),
          "trust", s.get("trust"), "revocation", s.get("revocation"))
if "code" in r:
    print("  error:", r.get("code"), "-", r.get("en"))
PY
}

# --- machine ----------------------------------------------------------------------
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
{
  echo "- date: $(date -u +%Y-%m-%dT%H:%MZ)"
  echo "- CPU: ${cpu:-unknown} × $(nproc) (nproc), shared by the server and wrk"
  echo "- memory: $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)"
  echo "- load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "- $(wrk --version 2>&1 | head -1 | sed 's/ *Copyright.*//')"
  echo "- kyso $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$root" diff --quiet HEAD -- crates 2>/dev/null || echo ' (+ local changes)'): $kyso"
} > "$out/machine.md"
cat "$out/machine.md"

# --- the signed document -------------------------------------------------------------
unset KYSO_DATA KYSO_SCRYPT_LOG_N
export KYSO_CA_PASSPHRASE=bench-ca-passphrase KYSO_PASSPHRASE=bench-key-passphrase
signer=$w/signer   # the signers' keystore (never given to the server)
data=$w/data       # the server's data directory: only its trust store is prepared
echo "== test CA and signers in $w"
"$kyso" --data "$signer" ca init --ca "$w/ca" --name "Bench CA" --key-type p256 >/dev/null
KYSO_SCRYPT_LOG_N=10 "$kyso" --data "$signer" ca issue --ca "$w/ca" --profile person --name leader \
  --cn "Nguyễn Văn An" --title "Chủ tịch" --org "Ủy ban nhân dân thành phố Cần Thơ" >/dev/null
KYSO_SCRYPT_LOG_N=10 "$kyso" --data "$signer" ca issue --ca "$w/ca" --profile seal --name seal \
  --cn "Ủy ban nhân dân thành phố Cần Thơ" --org "Ủy ban nhân dân thành phố Cần Thơ" >/dev/null

# Four pages with one (random, incompressible) 250 kB image each, as scripts/bench-pdf.sh.
python3 - "$w/1mb.pdf" <<'EOF'
import os, sys
def make(path, pages, image_bytes):
    objs = {1: b"<< /Type /Catalog /Pages 2 0 R >>", 3: b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"}
    kids, n = [], 4
    for p in range(pages):
        img, cont, page = n, n + 1, n + 2
        n += 3
        data = os.urandom(image_bytes)
        objs[img] = b"<< /Type /XObject /Subtype /Image /Width 1000 /Height 1000 /ColorSpace /DeviceRGB /BitsPerComponent 8 /Filter /DCTDecode /Length %d >>\nstream\n" % len(data) + data + b"\nendstream"
        c = b"q 500 0 0 700 50 100 cm /Im0 Do Q BT /F1 12 Tf 72 60 Td (Trang %d) Tj ET" % (p + 1)
        objs[cont] = b"<< /Length %d >>\nstream\n" % len(c) + c + b"\nendstream"
        objs[page] = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 3 0 R >> /XObject << /Im0 %d 0 R >> >> /Contents %d 0 R >>" % (img, cont)
        kids.append(page)
    objs[2] = b"<< /Type /Pages /Kids [" + b" ".join(b"%d 0 R" % k for k in kids) + b"] /Count %d >>" % pages
    out, offs = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"), {}
    for k in sorted(objs):
        offs[k] = len(out)
        out += b"%d 0 obj\n" % k + objs[k] + b"\nendobj\n"
    x = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % n + b"".join(b"%010d 00000 n \n" % offs[k] for k in range(1, n))
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (n, x)
    open(path, "wb").write(out)
make(sys.argv[1], 4, 250_000)
EOF

images=$root/testdata/images
sign_args=()
if [ "$level" = b-lt ]; then
  # The CA's time-stamp authority, only while signing.
  ca_port=$(free_port)
  "$kyso" --data "$signer" ca serve --ca "$w/ca" --listen "127.0.0.1:$ca_port" > "$w/ca-serve.log" 2>&1 &
  ca_pid=$!
  wait_http "http://127.0.0.1:$ca_port/crl/root.crl" "$ca_pid" "kyso ca serve" "$w/ca-serve.log"
  sign_args=(--tsa "http://127.0.0.1:$ca_port/tsa" --level b-lt)
fi
echo "== signing twice ($level): the leader, then the agency seal over the leader's signature"
"$kyso" --data "$signer" sign "$w/1mb.pdf" --key leader --image "$images/signature-blue.png" \
  --page 1 --rect 300,150,500,250 "${sign_args[@]}" --out "$w/1mb-s1.pdf" >/dev/null
"$kyso" --data "$signer" sign "$w/1mb-s1.pdf" --key seal --role seal --image "$images/seal-red.png" \
  "${sign_args[@]}" --out "$w/1mb-signed.pdf" >/dev/null
if [ -n "$ca_pid" ]; then
  stop "$ca_pid" "kyso ca serve"
  ca_pid=""
fi
doc=$w/1mb-signed.pdf
doc_size=$(stat -c%s "$doc")

"$kyso" --data "$data" trust add "$w/ca/root.crt.pem" >/dev/null
# The CLI's verdict on the same data directory (b-lt: without reading any CRL file, to
# show that the document carries what it needs).
offline=()
[ "$level" = b-lt ] && offline=(--offline)
"$kyso" --data "$data" verify "$doc" --json --lang en "${offline[@]}" > "$w/cli-verify.json" || true
cli_verdict=$(json_field "$w/cli-verify.json" verdict)
echo "== $doc: $doc_size bytes, 2 signatures, kyso verify: $cli_verdict"
if [ "$cli_verdict" != "$expect" ]; then
  show_response "$w/cli-verify.json"
  die "kyso verify says '$cli_verdict' for the benchmark document, expected '$expect'"
fi

# The request body wrk sends: multipart/form-data, one field `file`.
boundary="kyso-bench-$(python3 -c 'import secrets; print(secrets.token_hex(12))')"
body=$w/body.multipart
python3 - "$doc" "$body" "$boundary" <<'EOF'
import sys
doc, body, boundary = sys.argv[1], sys.argv[2], sys.argv[3].encode()
data = open(doc, "rb").read()
with open(body, "wb") as f:
    f.write(b"--" + boundary + b"\r\n"
            b'Content-Disposition: form-data; name="file"; filename="1mb-signed.pdf"\r\n'
            b"Content-Type: application/pdf\r\n\r\n" + data + b"\r\n--" + boundary + b"--\r\n")
EOF

# --- the server -----------------------------------------------------------------------
port=$(free_port)
base=http://127.0.0.1:$port
# The per-address limit of public verification (600 a minute by default) is off: wrk is
# one address, and this measures the verifier, not the limiter.
"$kyso" serve --data "$data" --listen "127.0.0.1:$port" --verify-rate-per-minute 0 > "$out/serve.log" 2>&1 &
server_pid=$!
wait_http "$base/healthz" "$server_pid" "kyso serve" "$out/serve.log"
[ "$(curl -sS --max-time 5 "$base/healthz")" = ok ] || die "$base/healthz did not answer 'ok'"
idle_rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$server_pid/status")
echo "== kyso serve (pid $server_pid) at $base, RSS when idle: $idle_rss kB"

# check NAME: the last response in $w/check.json must be 200 with the expected verdict.
check() {
  local name=$1 status=$2 verdict
  verdict=$(json_field "$w/check.json" verdict)
  if [ "$status" != 200 ] || [ "$verdict" != "$expect" ]; then
    echo "scripts/bench-serve.sh: $name: HTTP $status, verdict '$verdict' (expected 200, '$expect'):" >&2
    show_response "$w/check.json"
    die "not benchmarking: the responses are not the expected verification"
  fi
  echo "== $name: HTTP 200, verdict $verdict"
}
status=$(curl -sS --max-time 60 -o "$w/check.json" -w '%{http_code}' \
  -H "Content-Type: multipart/form-data; boundary=$boundary" --data-binary "@$body" "$base/api/v1/verify" || true)
check "the wrk request body" "$status"
cp "$w/check.json" "$out/response.json"
status=$(curl -sS --max-time 60 -o "$w/check.json" -w '%{http_code}' \
  -F "file=@$doc;type=application/pdf" "$base/api/v1/verify" || true)
check "curl -F file=@1mb-signed.pdf" "$status"

# --- load ---------------------------------------------------------------------------------
export KYSO_BENCH_BODY=$body
wrk_args=(-t "$threads" -c "$connections" --timeout 30s --latency -s "$lua" "$base/api/v1/verify")
# wrk_run LOG SECS: one run; its summary line must show no error of any kind.
wrk_run() {
  local log=$1 secs=$2 line
  wrk -d "${secs}s" "${wrk_args[@]}" > "$log" 2>&1 || { cat "$log" >&2; die "wrk failed"; }
  line=$(grep '^KYSO_BENCH ' "$log") || { cat "$log" >&2; die "no summary line from bench-serve.lua"; }
  case $line in
    *" connect_errors=0 read_errors=0 write_errors=0 status_errors=0 timeouts=0"*) ;;
    *) cat "$log" >&2; die "errors during the run: $line" ;;
  esac
  case $line in
    *" requests=0 "*) cat "$log" >&2; die "no request completed" ;;
  esac
}
echo "== warm-up: 5 s"
wrk_run "$out/wrk-warmup.log" 5
warmup_hwm=$(awk '/^VmHWM:/ {print $2}' "/proc/$server_pid/status")
for i in $(seq "$runs"); do
  # Reset the peak RSS so each run's VmHWM is its own (root or the same user: allowed).
  reset=1
  echo 5 > "/proc/$server_pid/clear_refs" 2>/dev/null || reset=0
  echo "== run $i/$runs: wrk -t$threads -c$connections -d${duration}s"
  wrk_run "$out/wrk-run$i.log" "$duration"
  kill -0 "$server_pid" 2>/dev/null || { cat "$out/serve.log" >&2; die "kyso serve died during run $i"; }
  hwm=$(awk '/^VmHWM:/ {print $2}' "/proc/$server_pid/status")
  echo "$(grep '^KYSO_BENCH ' "$out/wrk-run$i.log") hwm_kb=$hwm hwm_reset=$reset" >> "$out/runs.txt"
done
# Still the same answer after the load.
status=$(curl -sS --max-time 60 -o "$w/check.json" -w '%{http_code}' \
  -H "Content-Type: multipart/form-data; boundary=$boundary" --data-binary "@$body" "$base/api/v1/verify" || true)
check "after the runs" "$status"
stop "$server_pid" "kyso serve"
server_pid=""

# --- report -------------------------------------------------------------------------------
python3 - "$out" "$doc_size" "$expect" "$level" "$threads" "$connections" "$duration" "$idle_rss" \
  > "$out/results.md" <<'PY'
import os, statistics, sys
out, size, expect, level, threads, conns, duration, idle = sys.argv[1:9]
runs = []
for line in open(os.path.join(out, "runs.txt")):
    runs.append({k: int(v) for k, v in (f.split("=") for f in line.split()[1:])})
def ms(us):
    return f"{us / 1000:.1f} ms"
def mb(kb):
    return f"{kb / 1024:.1f} MiB"
for r in runs:
    r["rps"] = r["requests"] / (r["duration_us"] / 1e6)
print(open(os.path.join(out, "machine.md")).read())
print(f"### POST /api/v1/verify, {int(size):,}-byte PDF with 2 signatures (PAdES {level.upper()}), "
      f"verdict `{expect}` checked before and after; wrk -t{threads} -c{conns} -d{duration}s on loopback\n")
print("| run | requests | requests/s | p50 | p90 | p99 | max | server peak RSS (VmHWM) |")
print("|---|---|---|---|---|---|---|---|")
for i, r in enumerate(runs, 1):
    note = "" if r["hwm_reset"] else " (since start: clear_refs refused)"
    print(f"| {i} | {r['requests']} | {r['rps']:.1f} | {ms(r['p50_us'])} | {ms(r['p90_us'])} "
          f"| {ms(r['p99_us'])} | {ms(r['max_us'])} | {mb(r['hwm_kb'])}{note} |")
med = lambda k: statistics.median(r[k] for r in runs)
print(f"| **median** | | **{med('rps'):.1f}** | **{ms(med('p50_us'))}** | {ms(med('p90_us'))} "
      f"| **{ms(med('p99_us'))}** | {ms(med('max_us'))} | max {mb(max(r['hwm_kb'] for r in runs))} |")
print(f"\nServer RSS when idle (after start): {mb(int(idle))}.")
PY
echo "Server peak RSS from its start to the end of the warm-up (checks included): $((warmup_hwm / 1024)) MiB." >> "$out/results.md"
echo
cat "$out/results.md"
if [ "$keep" = 1 ]; then
  echo
  echo "results: $out/results.md (wrk logs: $out/wrk-run*.log, server log: $out/serve.log)"
fi
