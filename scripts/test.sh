#!/usr/bin/env bash
# Run every kyso test on a fresh Debian machine (as root): installs the peers the tests
# check kyso against (OpenSSL, pyHanko in a venv), then formatting, lints and tests.
# Re-running is cheap: installed pieces are kept.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

# --- system packages --------------------------------------------------------------
apt_packages=(openssl ca-certificates python3-venv poppler-utils qpdf fonts-liberation2 libnss3-tools)
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
if ! "$venv/bin/pyhanko" --version >/dev/null 2>&1; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check \
    'pyhanko[opentype,image-support]==0.38.0' 'pyhanko-certvalidator==0.33.0' 'pyhanko-cli==0.6.0'
fi
export KYSO_PYHANKO="$venv/bin/pyhanko"
export KYSO_PYTHON="$venv/bin/python"

# --- checks ---------------------------------------------------------------------
cargo fmt --all -- --check
python3 scripts/check-licences.py
# Layers L0-L2 do no I/O: no async runtime, HTTP client or database below the adapters.
for crate in kyso-model kyso-signer kyso-pki kyso-cades kyso-pades; do
  if cargo tree -p "$crate" -e normal --prefix none --locked | grep -E '^(tokio|ureq|reqwest|hyper|sqlx|rusqlite|tiny_http) '; then
    echo "scripts/test.sh: $crate depends on an I/O crate (see above)" >&2
    exit 1
  fi
done
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo test --workspace --locked
