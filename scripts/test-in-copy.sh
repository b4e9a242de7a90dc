#!/usr/bin/env bash
# Run the test binaries that read testdata/ in a copy of the repository placed in a
# temporary directory, where nothing lies beside it: proof that a fresh clone is complete
# (scripts/check-self-contained.py checks the text; this checks what the tests really open).
#
# The copy holds exactly the files a clone would have: tracked files plus new files that
# are not ignored (so it also works before a commit), nothing ignored (no target/, no
# .venv/). It shares the repository's target directory, so dependencies are not rebuilt.
# The workspace crates are, and must be: a test finds its data through the path
# env!("CARGO_MANIFEST_DIR") baked in when it is compiled, and cargo gives a workspace
# crate the same artifact name wherever the workspace lies, so without a rebuild the copy
# would run the repository's own binaries. A profile override on every workspace crate
# (no debuginfo, harmless; the workspace's dev profile keeps line tables) gives the
# copy's builds their own artifact names: the repository's artifacts are never reused
# nor overwritten, and the copy's fixed path keeps this to one extra set of artifacts
# (and means a binary built for an earlier copy always reads the copy at the same
# place). Peers as for scripts/test.sh (KYSO_PYHANKO, KYSO_PYTHON; defaults: the
# repository's .venv).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
export KYSO_PYHANKO="${KYSO_PYHANKO:-$root/.venv/bin/pyhanko}"
export KYSO_PYTHON="${KYSO_PYTHON:-$root/.venv/bin/python}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"

parent="/tmp/kyso-self-contained-$(id -u)" # fixed (not $TMPDIR): see the artifact names above
copy="$parent/kyso"
mkdir -p "$parent"
exec 9>"$parent/lock"
flock 9 # one run at a time on this machine: they share the copy's path (children get
#         the lock's descriptor closed, `9>&-`, so a server a test leaves running cannot
#         hold it)
rm -rf "$copy"
mkdir "$copy"
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  git ls-files -z --cached --others --exclude-standard \
    | while IFS= read -r -d '' f; do if [ -e "$f" ]; then printf '%s\0' "$f"; fi; done \
    | tar --null -T - -cf - | tar -xf - -C "$copy"
else # an exported tree without .git: everything but build output and the venv
  tar --exclude=./target --exclude=./.venv --exclude=./bench-out -cf - . | tar -xf - -C "$copy"
fi
for outside in "$parent/shared" "$(dirname "$parent")/shared"; do
  if [ -e "$outside" ]; then
    echo "scripts/test-in-copy.sh: $outside exists; the copy would not be isolated" >&2
    exit 2
  fi
done

# Every workspace crate gets the override (so none is shared with the repository's build).
members=$(cargo metadata --no-deps --format-version 1 --locked 9>&- \
  | python3 -c 'import json, sys; print(" ".join(p["name"] for p in json.load(sys.stdin)["packages"]))')
overrides=()
for m in $members; do
  overrides+=(--config "profile.dev.package.$m.debug=false")
done

started=$(date +%s)
cd "$copy"
# One binary per way of finding testdata/ (kept to these for time: the other binaries that
# read it use the same helpers — pades peers and properties, cli pdf: support/fixture.rs):
#   pkits       crates/pki/tests/pkits.rs data_dir()
#   sign        crates/pades/tests/sign/support.rs testdata()
#   attacks     crates/testkit/src/lib.rs document() (the shared test-support crate)
#   pdf_sign    crates/cli/tests/pdf_sign.rs testdata()
#   peers (cli) crates/cli/tests/peers/support.rs workspace(): custody images, token documents
#   peers (pades) crates/pades/tests/peers.rs (selected with the cli's by the same name)
# Selected by target name over the whole workspace (not with -p), so that the features of
# the dependencies resolve as in the repository's build and none of them is built again.
cargo test --locked --workspace "${overrides[@]}" \
  --test pkits --test sign --test attacks --test pdf_sign --test peers 9>&-
echo "scripts/test-in-copy.sh: the testdata tests pass in $copy ($(($(date +%s) - started)) s)" >&2
cd "$root"
rm -rf "$copy"
