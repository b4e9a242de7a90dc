#!/usr/bin/env python3
"""Fail if any crate in the dependency graph has a licence kyso cannot ship with.

kyso is MIT OR Apache-2.0; every dependency must allow redistribution under those
terms. Reads `cargo metadata` (no network) and checks each SPDX expression: an
expression passes when some alternative of every OR-group consists only of allowed
identifiers.
"""
import json
import re
import subprocess
import sys

ALLOWED = {
    "MIT", "Apache-2.0", "Apache-2.0 WITH LLVM-exception", "BSD-2-Clause", "BSD-3-Clause",
    "ISC", "Zlib", "Unicode-3.0", "Unicode-DFS-2016", "CC0-1.0", "Unlicense",
    "BSL-1.0", "CDLA-Permissive-2.0", "0BSD",
}
# Known crates whose metadata has no SPDX expression, with the licence verified by hand.
KNOWN = {"ring": "Apache-2.0 AND ISC"}


def ok(expr: str) -> bool:
    expr = expr.replace("/", " OR ").strip()
    # Split on OR at top level (no parentheses deeper than one level in practice).
    expr = expr.replace("(", " ").replace(")", " ")
    for alternative in re.split(r"\s+OR\s+", expr):
        parts = [p.strip() for p in re.split(r"\s+AND\s+", alternative)]
        if all(p in ALLOWED for p in parts):
            return True
    return False


def main() -> int:
    meta = json.loads(subprocess.check_output(
        ["cargo", "metadata", "--format-version", "1", "--locked"], text=True))
    bad = []
    for pkg in meta["packages"]:
        if pkg["source"] is None:
            if pkg.get("license") != "MIT OR Apache-2.0":
                bad.append(f"{pkg['name']} (ours): licence must be 'MIT OR Apache-2.0'")
            continue
        lic = pkg.get("license") or KNOWN.get(pkg["name"])
        if not lic or not ok(lic):
            bad.append(f"{pkg['name']} {pkg['version']}: {lic!r}")
    if bad:
        print("licence check failed:\n  " + "\n  ".join(bad), file=sys.stderr)
        return 1
    print(f"licence check: {len(meta['packages'])} packages OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
