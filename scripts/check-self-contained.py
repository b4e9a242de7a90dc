#!/usr/bin/env python3
"""Fail if a file of the repository refers to a path outside the repository.

A fresh clone of kyso must be complete: its tests, test data (`testdata/`) and documentation
(`docs/`) live in it. This check greps every tracked file, and every untracked file that is
not ignored (so a new file is checked before it is committed), except Cargo.lock, binary
files and this script, for:

1. the team's reference directory `shared` beside the repository (one level up from the
   root, with `spec/`, `testdata/`, `trust/`, `research/` in it), which a clone does not
   have;
2. absolute paths of a development machine (`/work/…`, `/home/…`, `/Users/…`);
3. relative paths that climb out of the repository root: a run of N `../` is resolved
   against the directory it is relative to — the crate directory for Rust code
   (`env!("CARGO_MANIFEST_DIR")`, `cargo test`'s working directory), the file's own
   directory for `include_str!` / `include_bytes!` / `#[path]` and for every other file —
   and flagged when N is larger than that directory's depth below the root. So
   `concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata")` in `crates/pki` is fine and
   `"/../../../x"` is not.

A line that must mention such a path anyway (a test of this script, say) can carry the
marker `self-contained: allow`. Exit status 1 and one line per finding when something is
found, else 0.
"""
import os
import re
import subprocess
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
SELF = os.path.relpath(os.path.abspath(__file__), ROOT)
SKIP = {"Cargo.lock", "fuzz/Cargo.lock", SELF}
# Third-party files kept unchanged (minified code whose strings are not paths of ours).
VENDORED = ("crates/server/static/vendor/",)
ALLOW = "self-contained: allow"

OUTSIDE = [
    (re.compile(r"\.\./shared\b"), "refers to the shared directory beside the repository"),
    (
        re.compile(r"(?<![\w.-])shared/(spec|testdata|trust|research|hooks|DESIGN\.md|README\.md)"),
        "refers to the team's shared/ reference directory, which a clone does not have",
    ),
    (
        re.compile(r"(?<![\w.~:-])/(work|home|Users)/"),
        "absolute path of a development machine",
    ),
]
# A run of `../` (optionally ending in a bare `..`) not glued to a word or dot before it.
CLIMB = re.compile(r"(?<![\w.])((?:\.\./)+)(\.\.(?![\w.]))?")
FILE_RELATIVE = re.compile(r"include_str!|include_bytes!|#\[path")


def files():
    out = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, check=True, capture_output=True,
    ).stdout
    return sorted({p for p in out.decode("utf-8").split("\0") if p})


def depth(directory):
    return 0 if directory in ("", ".") else len(directory.split("/"))


def crate_dir(path):
    """The nearest directory above `path` holding a Cargo.toml (the package root)."""
    d = os.path.dirname(path)
    while d:
        if os.path.isfile(os.path.join(ROOT, d, "Cargo.toml")):
            return d
        d = os.path.dirname(d)
    return ""


def text(path):
    full = os.path.join(ROOT, path)
    if not os.path.isfile(full) or os.path.islink(full):
        return None  # deleted in the working tree, or a link (its target is checked)
    with open(full, "rb") as f:
        data = f.read()
    if b"\0" in data[:8192]:
        return None  # binary (PDF, DER, PNG…)
    return data.decode("utf-8", errors="replace")


def check(path, body):
    found = []
    file_dir = os.path.dirname(path)
    rust = path.endswith(".rs")
    base_crate = crate_dir(path) if rust else None
    for number, line in enumerate(body.splitlines(), 1):
        if ALLOW in line:
            continue
        for pattern, why in OUTSIDE:
            if pattern.search(line):
                found.append((number, why, line))
        for m in CLIMB.finditer(line):
            climb = m.group(1).count("../") + (1 if m.group(2) else 0)
            if rust and not FILE_RELATIVE.search(line):
                base = base_crate
            else:
                base = file_dir
            allowed = depth(base)
            if not rust and "CARGO_MANIFEST_DIR" in line:
                allowed = max(allowed, 2)  # documentation of a crate-relative path
            if climb > allowed:
                found.append((
                    number,
                    f"{m.group(0)!r} climbs {climb} levels from {base or '.'}/, "
                    "out of the repository",
                    line,
                ))
    return found


def main():
    problems = 0
    checked = 0
    for path in files():
        if path in SKIP or path.startswith("target/") or path.startswith(VENDORED):
            continue
        body = text(path)
        if body is None:
            continue
        checked += 1
        for number, why, line in check(path, body):
            problems += 1
            print(f"{path}:{number}: {why}: {line.strip()[:160]}")
    if problems:
        print(
            f"check-self-contained: {problems} reference(s) to paths outside the repository "
            "(tests and docs must use what the repository holds: testdata/, docs/, trust/)",
            file=sys.stderr,
        )
        return 1
    print(f"check-self-contained: {checked} files refer to nothing outside the repository")
    return 0


if __name__ == "__main__":
    sys.exit(main())
