#!/usr/bin/env bash
# CAdES performance: `kyso sign` / `kyso verify` as whole processes beside
# `openssl cms -sign` / `-verify`, timed by hyperfine in the same run, on 1 MB and 10 MB
# random files with P-256 and RSA-2048 signers; optionally also the in-process criterion
# benchmark (`cargo bench -p kyso-cades`). Prints markdown tables of medians and the
# kyso/openssl ratios (medians, because the machine is shared and noisy).
#
#   scripts/bench.sh [--criterion] [--quick] [--rounds N] [--no-build] [--out DIR]
#                    [--ca-key-type T]
#
#   --criterion      also run the in-process benchmark and tabulate its medians
#   --quick          one round of few runs (a smoke test; figures are rougher)
#   --rounds N       repeat the whole timing N times (default 3) and pool the runs, so a
#                    burst of load from other users does not land on one command only
#   --no-build       use the existing target/release/kyso
#   --out DIR        keep the work files, JSON exports and results.md there
#                    (default: a fresh temporary directory, printed at the end)
#   --ca-key-type T  key type of the test CA (default p256, as in the in-process bench)
#
# Needs openssl, hyperfine and python3; installs hyperfine/openssl with apt-get when run
# as root. Nothing is sent over the network: the test CA publishes its CRLs as file://
# URLs, and every verification runs with --offline.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

criterion=0
quick=0
build=1
out=""
ca_key_type=p256
rounds=3
while [ $# -gt 0 ]; do
  case "$1" in
    --criterion) criterion=1 ;;
    --quick) quick=1 ;;
    --no-build) build=0 ;;
    --out) out=$2; shift ;;
    --ca-key-type) ca_key_type=$2; shift ;;
    --rounds) rounds=$2; shift ;;
    -h|--help) sed -n '2,23p' "$0"; exit 0 ;;
    *) echo "scripts/bench.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done

# --- tools ------------------------------------------------------------------------
missing=()
command -v openssl >/dev/null || missing+=(openssl)
command -v hyperfine >/dev/null || missing+=(hyperfine)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "scripts/bench.sh: needs ${missing[*]} (apt-get install ${missing[*]})" >&2
    exit 2
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
command -v python3 >/dev/null || { echo "scripts/bench.sh: needs python3" >&2; exit 2; }

if [ "$build" = 1 ]; then
  cargo build --release --locked -p kyso-cli
fi
kyso="${CARGO_TARGET_DIR:-$root/target}/release/kyso"
[ -x "$kyso" ] || { echo "scripts/bench.sh: no $kyso (drop --no-build)" >&2; exit 2; }

if [ -z "$out" ]; then
  out=$(mktemp -d /tmp/kyso-bench.XXXXXX)
elif [ -e "$out/.kyso-bench" ]; then
  rm -rf "$out"  # a previous run's output: replace it
  mkdir -p "$out"
elif [ -e "$out" ] && [ -n "$(ls -A "$out")" ]; then
  echo "scripts/bench.sh: $out exists and is not an earlier --out of this script" >&2
  exit 2
else
  mkdir -p "$out"
fi
touch "$out/.kyso-bench"
out=$(cd "$out" && pwd)
w=$out/work
mkdir -p "$w/plain" "$out/json"

# Per round and command; the rounds are pooled.
if [ "$quick" = 1 ]; then
  rounds=1
  hf_runs=(--warmup 1 --runs 5)
  hf_slow_runs=(--warmup 1 --runs 3)
else
  hf_runs=(--warmup 3 --runs 40)
  hf_slow_runs=(--warmup 1 --runs 6)
fi

# --- machine ----------------------------------------------------------------------
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
{
  echo "- date: $(date -u +%Y-%m-%dT%H:%MZ)"
  echo "- CPU: ${cpu:-unknown} × $(nproc) (nproc); $(grep -m1 -o -w 'sha_ni' /proc/cpuinfo || echo 'no sha_ni')"
  echo "- memory: $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)"
  echo "- load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "- $(openssl version)"
  echo "- $(hyperfine --version)"
  echo "- kyso $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$root" diff --quiet HEAD -- crates 2>/dev/null || echo ' (+ local changes)'), release profile"
} > "$out/machine.md"
cat "$out/machine.md"

# --- test PKI with the kyso CLI ------------------------------------------------------
export KYSO_DATA=$w/data
export KYSO_CA_PASSPHRASE=bench-ca-passphrase
export KYSO_PASSPHRASE=bench-key-passphrase
unset KYSO_SCRYPT_LOG_N
echo "== setting up the test CA in $w"
"$kyso" ca init --ca "$w/ca" --name "Bench CA" --key-type "$ca_key_type" >/dev/null
algs=(p256 rsa2048)
for alg in "${algs[@]}"; do
  # Same profile and key type, three keystore KDF costs: the default (N=2^17), 2^14
  # (= openssl's default -scrypt parameters) and 2^10. The cost is fixed when the
  # entry is written.
  "$kyso" ca issue --ca "$w/ca" --profile person --name "$alg" --cn "Nguyễn Văn An" \
    --org "Ủy ban nhân dân thành phố Cần Thơ" --key-type "$alg" --export-plain "$w/plain" >/dev/null
  for n in 14 10; do
    KYSO_SCRYPT_LOG_N=$n "$kyso" ca issue --ca "$w/ca" --profile person --name "$alg-n$n" \
      --cn "Nguyễn Văn An" --org "Ủy ban nhân dân thành phố Cần Thơ" --key-type "$alg" >/dev/null
  done
  p=$w/plain/$alg
  # Intermediates only (the exported file is signer, issuing CA, root): openssl refuses
  # a -certfile that repeats the signer, and needs the issuing CA to reach the root.
  awk '/BEGIN CERTIFICATE/ {n++} n >= 2 {print}' "$p.crt.pem" > "$p.chain.pem"
  # The same plain key, encrypted for openssl -passin: scrypt with openssl's default
  # parameters (N=2^14, r=8, p=1: the same as a kyso entry written with
  # KYSO_SCRYPT_LOG_N=14), and with p=8, the same CPU work as kyso's default N=2^17
  # (openssl caps scrypt memory at 32 MiB, so N=2^17, r=8 itself is refused).
  openssl pkcs8 -topk8 -v2 aes-256-cbc -scrypt -scrypt_N 16384 -scrypt_r 8 -scrypt_p 1 \
    -in "$p.key.pem" -out "$p.n14.key.pem" -passout "pass:$KYSO_PASSPHRASE"
  openssl pkcs8 -topk8 -v2 aes-256-cbc -scrypt -scrypt_N 16384 -scrypt_r 8 -scrypt_p 8 \
    -in "$p.key.pem" -out "$p.n14p8.key.pem" -passout "pass:$KYSO_PASSPHRASE"
  # And as a PKCS#12 (openssl 3 defaults: PBES2/AES-256-CBC, PBKDF2 2048 iterations)
  # for `kyso sign --p12`, the cheapest protected key kyso reads.
  openssl pkcs12 -export -in "$p.crt.pem" -inkey "$p.key.pem" -out "$p.p12" \
    -passout "pass:$KYSO_PASSPHRASE"
done
root_pem=$w/ca/root.crt.pem

sizes=(1M 10M)
for s in "${sizes[@]}"; do
  head -c "$s" /dev/urandom > "$w/file-$s.bin"
done

# --- signatures to verify ----------------------------------------------------------------
ossl_sign() { # alg file out [key passin...]
  local alg=$1 file=$2 sig=$3 key=${4:-$w/plain/$1.key.pem}
  shift 4 2>/dev/null || shift 3
  echo openssl cms -sign -binary -md sha256 -outform DER -nosmimecap \
    -signer "$w/plain/$alg.crt.pem" -inkey "$key" "$@" -certfile "$w/plain/$alg.chain.pem" \
    -in "$file" -out "$sig"
}
for alg in "${algs[@]}"; do
  for s in "${sizes[@]}"; do
    f=$w/file-$s.bin
    "$kyso" sign "$f" --key "$alg-n10" --no-embed-revocation --out "$w/$alg-$s.kyso.p7s" >/dev/null
    "$kyso" sign "$f" --key "$alg-n10" --out "$w/$alg-$s.kyso-crl.p7s" >/dev/null
    $(ossl_sign "$alg" "$f" "$w/$alg-$s.openssl.p7s")
    # Every signature must verify with both tools before anything is timed.
    "$kyso" verify "$f" --sig "$w/$alg-$s.kyso.p7s" --trust "$root_pem" --offline --no-revocation-check >/dev/null
    "$kyso" verify "$f" --sig "$w/$alg-$s.kyso-crl.p7s" --trust "$root_pem" --offline >/dev/null
    "$kyso" verify "$f" --sig "$w/$alg-$s.openssl.p7s" --trust "$root_pem" --offline --no-revocation-check >/dev/null
    for sig in kyso kyso-crl openssl; do
      openssl cms -verify -binary -inform DER -in "$w/$alg-$s.$sig.p7s" -content "$f" \
        -CAfile "$root_pem" -purpose any -out /dev/null 2>/dev/null
    done
    openssl cms -verify -binary -inform DER -in "$w/$alg-$s.kyso-crl.p7s" -content "$f" \
      -CAfile "$root_pem" -purpose any -crl_check_all -out /dev/null 2>/dev/null
  done
done
echo "== all signatures verify with both tools"

# --- timing ----------------------------------------------------------------------------
# One hyperfine run per (algorithm, size, sign|verify) and round, so each comparison
# shares its seconds of machine state. -N: no shell in between.
bench() { # json-name runs-array-name  then pairs: name command
  local json=$1.r$round runs_name=$2
  shift 2
  local -n runs_ref=$runs_name
  local args=()
  while [ $# -gt 0 ]; do
    args+=(-n "$1" "$2")
    shift 2
  done
  hyperfine -N --style basic "${runs_ref[@]}" --export-json "$out/json/$json.json" "${args[@]}" \
    > "$out/json/$json.log" 2>&1 || { cat "$out/json/$json.log" >&2; exit 1; }
}

for round in $(seq "$rounds"); do
for alg in "${algs[@]}"; do
  for s in "${sizes[@]}"; do
    f=$w/file-$s.bin
    p=$w/plain/$alg
    o=$w/out-$alg-$s
    echo "== round $round/$rounds: timing $alg $s: sign"
    # Signing with the default-cost keystore entry pays ~0.3 s of scrypt per process:
    # timed apart with fewer runs, beside openssl reading a key of the same scrypt work.
    bench "sign-slow-$alg-$s" hf_slow_runs \
      "kyso sign (keystore, scrypt N=2^17 default)" \
        "$kyso sign $f --key $alg --no-embed-revocation --force --out $o.k17.p7s" \
      "openssl sign (key scrypt N=2^14 r=8 p=8, same work)" \
        "$(ossl_sign "$alg" "$f" "$o.o-n14p8.p7s" "$p.n14p8.key.pem" -passin "pass:$KYSO_PASSPHRASE")"
    bench "sign-$alg-$s" hf_runs \
      "kyso sign (keystore, scrypt N=2^14)" \
        "$kyso sign $f --key $alg-n14 --no-embed-revocation --force --out $o.k14.p7s" \
      "openssl sign (key scrypt N=2^14, -passin)" \
        "$(ossl_sign "$alg" "$f" "$o.o-n14.p7s" "$p.n14.key.pem" -passin "pass:$KYSO_PASSPHRASE")" \
      "kyso sign (keystore, scrypt N=2^10)" \
        "$kyso sign $f --key $alg-n10 --no-embed-revocation --force --out $o.k10.p7s" \
      "kyso sign (keystore N=2^10, embed CRLs)" \
        "$kyso sign $f --key $alg-n10 --force --out $o.k10crl.p7s" \
      "kyso sign (--p12, PBKDF2 2048)" \
        "$kyso sign $f --p12 $p.p12 --no-embed-revocation --force --out $o.kp12.p7s" \
      "openssl sign (plain key)" \
        "$(ossl_sign "$alg" "$f" "$o.o-plain.p7s")"
    echo "== round $round/$rounds: timing $alg $s: verify"
    bench "verify-$alg-$s" hf_runs \
      "kyso verify (no revocation check)" \
        "$kyso verify $f --sig $w/$alg-$s.kyso.p7s --trust $root_pem --offline --no-revocation-check" \
      "kyso verify openssl's .p7s (no revocation check)" \
        "$kyso verify $f --sig $w/$alg-$s.openssl.p7s --trust $root_pem --offline --no-revocation-check" \
      "openssl verify" \
        "openssl cms -verify -binary -inform DER -in $w/$alg-$s.openssl.p7s -content $f -CAfile $root_pem -purpose any -out /dev/null" \
      "kyso verify (embedded CRLs, revocation required)" \
        "$kyso verify $f --sig $w/$alg-$s.kyso-crl.p7s --trust $root_pem --offline" \
      "openssl verify kyso's .p7s (embedded CRLs, -crl_check_all)" \
        "openssl cms -verify -binary -inform DER -in $w/$alg-$s.kyso-crl.p7s -content $f -CAfile $root_pem -purpose any -crl_check_all -out /dev/null"
  done
done
done

# --- in-process (criterion) ---------------------------------------------------------------
if [ "$criterion" = 1 ]; then
  echo "== cargo bench -p kyso-cades"
  rm -rf "$root/target/criterion"
  if [ "$quick" = 1 ]; then
    cargo bench --locked -p kyso-cades --bench cades -- --quick > "$out/criterion.log" 2>&1
  else
    cargo bench --locked -p kyso-cades --bench cades > "$out/criterion.log" 2>&1
  fi
  cp -r "$root/target/criterion" "$out/criterion"
fi

# --- report ------------------------------------------------------------------------------
python3 - "$out" "$criterion" > "$out/results.md" <<'PY'
import glob, json, os, statistics, sys

out, criterion = sys.argv[1], sys.argv[2] == "1"
jdir = os.path.join(out, "json")

def load(name):
    """Runs of every command of one comparison, pooled over the rounds."""
    pooled = {}
    for path in sorted(glob.glob(os.path.join(jdir, name + ".r*.json"))):
        for r in json.load(open(path))["results"]:
            p = pooled.setdefault(r["command"], {"times": [], "round_medians": []})
            p["times"] += r["times"]
            p["round_medians"].append(r["median"])
    for p in pooled.values():
        p["median"] = statistics.median(p["times"])
        p["min"] = min(p["times"])
    return pooled

def ms(seconds):
    return f"{seconds * 1e3:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"

print(open(os.path.join(out, "machine.md")).read())
print("### Whole processes (hyperfine, medians of all runs pooled over the rounds)\n")
print("| operation | alg | size | kyso | openssl | kyso/openssl (medians) | (minima) | ≤ 1.5×? |")
print("|---|---|---|---|---|---|---|---|")
pairs = [
    ("sign", "sign-slow", "kyso sign (keystore, scrypt N=2^17 default)",
     "sign-slow", "openssl sign (key scrypt N=2^14 r=8 p=8, same work)", "default keystore vs openssl key of equal scrypt work"),
    ("sign", "sign-slow", "kyso sign (keystore, scrypt N=2^17 default)",
     "sign", "openssl sign (plain key)", "default keystore vs openssl plain key"),
    ("sign", "sign", "kyso sign (keystore, scrypt N=2^14)",
     "sign", "openssl sign (key scrypt N=2^14, -passin)", "identical scrypt parameters"),
    ("sign", "sign", "kyso sign (keystore, scrypt N=2^10)",
     "sign", "openssl sign (plain key)", "KYSO_SCRYPT_LOG_N=10 vs plain key"),
    ("sign", "sign", "kyso sign (--p12, PBKDF2 2048)",
     "sign", "openssl sign (plain key)", "--p12 vs plain key"),
    ("verify", "verify", "kyso verify (no revocation check)",
     "verify", "openssl verify", "each its own .p7s"),
    ("verify", "verify", "kyso verify openssl's .p7s (no revocation check)",
     "verify", "openssl verify", "same .p7s"),
    ("verify", "verify", "kyso verify (embedded CRLs, revocation required)",
     "verify", "openssl verify kyso's .p7s (embedded CRLs, -crl_check_all)", "same .p7s, CRLs checked"),
]
full = []
for alg in ("p256", "rsa2048"):
    for size in ("1M", "10M"):
        groups = {g: load(f"{g}-{alg}-{size}") for g in ("sign-slow", "sign", "verify")}
        for op, kg, kc, og, oc, what in pairs:
            k, o = groups[kg].get(kc), groups[og].get(oc)
            if not k or not o:
                continue
            ratio = k["median"] / o["median"]
            print(f"| {op}: {what} | {alg} | {size}B | {ms(k['median'])} | {ms(o['median'])} "
                  f"| {ratio:.2f} | {k['min'] / o['min']:.2f} | {'yes' if ratio <= 1.5 else '**no**'} |")
        for g in ("sign-slow", "sign", "verify"):
            for cmd, r in groups[g].items():
                full.append((alg, size, cmd, r))
print("\n### Every command (hyperfine)\n")
print("| alg | size | command | median | min | medians of the rounds | runs |")
print("|---|---|---|---|---|---|---|")
for alg, size, cmd, r in full:
    rounds = " / ".join(ms(m) for m in r["round_medians"])
    print(f"| {alg} | {size}B | {cmd} | {ms(r['median'])} | {ms(r['min'])} | {rounds} | {len(r['times'])} |")

if criterion:
    rows = []
    for dp, _, files in os.walk(os.path.join(out, "criterion")):
        if dp.endswith(os.sep + "new") and "estimates.json" in files:
            b = json.load(open(os.path.join(dp, "benchmark.json")))
            e = json.load(open(os.path.join(dp, "estimates.json")))["median"]
            rows.append((b["full_id"], e["point_estimate"],
                         e["confidence_interval"]["lower_bound"], e["confidence_interval"]["upper_bound"]))
    def t(ns):
        return f"{ns / 1e6:.3f} ms" if ns >= 1e5 else f"{ns / 1e3:.1f} µs"
    print("\n### In process (criterion medians, 95% CI)\n")
    print("| benchmark | median | CI |")
    print("|---|---|---|")
    for name, m, lo, hi in sorted(rows):
        print(f"| {name} | {t(m)} | {t(lo)} – {t(hi)} |")
    target = [r for r in rows if r[0] == "sign/p256/1MB"]
    if target:
        m = target[0][1] / 1e6
        print(f"\nIn-process signing of 1 MB with P-256: {m:.3f} ms "
              f"(target < 2 ms: {'met' if m < 2 else 'MISSED'}).")
PY

echo
cat "$out/results.md"
echo
echo "results: $out/results.md (JSON: $out/json, work files: $out/work)"
