"""Checks that Cargo.toml's rust-version is what the locked dependencies need.

Reads `cargo metadata --format-version 1` on stdin. The shipped graph is the mdi-sensor-key
package's normal and build dependencies on every target (dev-dependencies are not shipped). The
needed version is the highest `rust-version` among them; the stated one must equal it, so the
manifest neither promises an older compiler than works nor asks for a newer one than needed.
"""

import json
import sys


def version(text):
    return tuple(int(part) for part in text.split("."))


def main():
    meta = json.load(sys.stdin)
    packages = {p["id"]: p for p in meta["packages"]}
    nodes = {n["id"]: n for n in meta["resolve"]["nodes"]}
    root = next(p for p in meta["packages"] if p["name"] == "mdi-sensor-key")
    seen, todo = set(), [root["id"]]
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        for dep in nodes[current]["deps"]:
            if any(kind["kind"] != "dev" for kind in dep["dep_kinds"]):
                todo.append(dep["pkg"])
    declared = [
        (version(packages[i]["rust_version"]), packages[i]["name"], packages[i]["rust_version"])
        for i in seen - {root["id"]}
        if packages[i].get("rust_version")
    ]
    needed, by, needed_text = max(declared)
    stated = root.get("rust_version") or "none"
    if stated == "none" or version(stated) != needed:
        sys.exit(
            f"Cargo.toml states rust-version = {stated}, but the locked dependencies need "
            f"{needed_text} (highest: {by}); state {needed_text}"
        )
    print(f"rust-version {stated} is what the locked dependencies need (highest: {by})")


if __name__ == "__main__":
    main()
