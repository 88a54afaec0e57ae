"""Lists the crates of Cargo.lock that are not in the cargo home's download cache.

`cargo deny --offline` and `cargo metadata --offline` read every package of the lock file, the
ones only Windows or macOS builds use included, from `$CARGO_HOME/registry/cache/*/NAME-VERSION.crate`;
a build on Linux downloads only what Linux needs. scripts/check-deps runs `cargo fetch --locked`
first and, when that fails (no registry), this names what is still missing.

Usage: python3 tools/missing_crates.py [Cargo.lock] [CARGO_HOME]; prints one `name@version` per
line, nothing when every registry crate is there; exits 0 either way.
"""

import os
import sys
import tomllib
from pathlib import Path


def registry_packages(lock_path):
    with open(lock_path, "rb") as lock:
        packages = tomllib.load(lock).get("package", [])
    # Path dependencies (the workspace's own crates) have no source and are never downloaded.
    return [(p["name"], p["version"]) for p in packages if p.get("source", "").startswith("registry+")]


def cached_crates(cargo_home):
    cache = Path(cargo_home) / "registry" / "cache"
    if not cache.is_dir():
        return set()
    return {crate.name for index in cache.iterdir() if index.is_dir() for crate in index.glob("*.crate")}


def main():
    lock_path = sys.argv[1] if len(sys.argv) > 1 else "Cargo.lock"
    default_home = os.environ.get("CARGO_HOME") or str(Path.home() / ".cargo")
    cargo_home = sys.argv[2] if len(sys.argv) > 2 else default_home
    cached = cached_crates(cargo_home)
    for name, version in registry_packages(lock_path):
        if f"{name}-{version}.crate" not in cached:
            print(f"{name}@{version}")


if __name__ == "__main__":
    main()
