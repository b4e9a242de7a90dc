#!/usr/bin/env bash
# Delivery between two nodes under load (tracker issue 12): sustained documents/s from
# agency A on node A to agency B on node B for distinct sealed 1 MB PDFs, verified on
# receipt at B, with p50/p99 latency from the sending request to B's status 01 in A's
# timeline, and the peak RSS of both servers; two `kyso serve` processes (release build)
# over mutual TLS on loopback.
#
#   scripts/bench-exchange.sh [--no-build] [--out DIR] [--docs N] [--rates R1,R2]
#                             [--runs N] [--senders N] [--max-seconds S] [--postgres URL]
#
#   --no-build       use the existing release binaries (default: cargo build --release)
#   --out DIR        keep the node logs, a sample document and results.md there (a new or
#                    empty directory; default: a fresh temporary directory, removed at
#                    the end unless the benchmark fails)
#   --docs N         documents sent per phase (default 1000)
#   --rates R,…      offered sending rates in documents/s, one phase each; 0 = as fast
#                    as the senders can (default 100,0)
#   --runs N         runs (default 3), each on two fresh nodes; the report gives each
#                    phase and the medians per rate
#   --senders N      threads posting the sendings (default 8)
#   --max-seconds S  bound of each timed phase (default 120): documents whose 01 has not
#                    been seen 5 s after it are counted as missing
#   --postgres URL   each node on a fresh database of this PostgreSQL server (default:
#                    SQLite in each node's data directory)
#
# What it does: builds `kyso` and the example `bench_exchange` of kyso-cli (release),
# then runs the example, which makes the test PKI of kyso-testkit (CRLs served from its
# own process on loopback), a node CA and two node certificates, starts both nodes on
# SQLite with their own data directories (`kyso serve --exchange-listen … --exchange-cert
# … --exchange-key … --exchange-ca …`), sets them up over the JSON API, and per phase
# prepares --docs distinct 1 MB PDFs signed by the leader and sealed (PAdES B-B, in
# process, before any timing), files them at A, then sends them to B on the schedule and
# watches A's timeline for 01. Method and caveats: the header of
# crates/cli/examples/bench_exchange.rs and docs/benchmarks.md.
#
# The load generator (signing, filing, sending, polling) and both nodes share this
# machine's cores: the figures are for all three on one host.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

build=1
out=""
bench_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --no-build) build=0 ;;
    --out) out=$2; shift ;;
    --docs|--rates|--runs|--senders|--max-seconds|--postgres) bench_args+=("$1" "$2"); shift ;;
    -h|--help) sed -n '2,37p' "$0"; exit 0 ;;
    *) echo "scripts/bench-exchange.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done

target=${CARGO_TARGET_DIR:-$root/target}
if [ "$build" = 1 ]; then
  cargo build --release --locked -p kyso-cli --bin kyso --example bench_exchange
fi
kyso=$target/release/kyso
bench=$target/release/examples/bench_exchange
for f in "$kyso" "$bench"; do
  [ -x "$f" ] || { echo "scripts/bench-exchange.sh: no binary at $f (drop --no-build)" >&2; exit 2; }
done

if [ -z "$out" ]; then
  out=$(mktemp -d /tmp/kyso-bench-exchange.XXXXXX)
  keep=0
else
  if [ -e "$out" ] && [ -n "$(ls -A "$out")" ]; then
    echo "scripts/bench-exchange.sh: $out exists and is not empty" >&2
    exit 2
  fi
  mkdir -p "$out"
  out=$(cd "$out" && pwd)
  keep=1
fi
cleanup() {
  local rc=$?
  if [ "$keep" = 0 ]; then
    if [ "$rc" = 0 ]; then
      rm -rf "$out"
    else
      echo "scripts/bench-exchange.sh: failed; logs kept in $out" >&2
    fi
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
{
  echo "- date: $(date -u +%Y-%m-%dT%H:%MZ)"
  echo "- CPU: ${cpu:-unknown} × $(nproc) (nproc), shared by both nodes and the load generator"
  echo "- memory: $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)"
  echo "- load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "- kyso $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$root" diff --quiet HEAD -- crates 2>/dev/null || echo ' (+ local changes)'): $kyso"
} > "$out/machine.md"
cat "$out/machine.md"

# The nodes are children of the benchmark process (killed when it ends, also on a
# failure); their logs go to $out/node-{a,b}-runN.log.
unset KYSO_DATA KYSO_DATABASE_URL
"$bench" --kyso "$kyso" --out "$out" "${bench_args[@]}" | tee "$out/bench.log"
{
  cat "$out/machine.md"
  echo
  grep '^document: ' "$out/bench.log"
  echo
  grep '^|' "$out/bench.log"
} > "$out/results.md"
echo
if [ "$keep" = 1 ]; then
  echo "results: $out/results.md (node logs: $out/node-*.log)"
fi
