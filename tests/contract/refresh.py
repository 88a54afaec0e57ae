#!/usr/bin/env python3
"""Regenerate the Microsoft Graph contract snapshot in this directory.

Standard library only. Reads Microsoft's published files and writes two small,
sorted JSON files of our own format:

  graph-schema.json       the microsoft.graph.security types, enums and bound
                          operations this project relies on, per cloud/version,
                          from the CSDL in microsoftgraph/msgraph-metadata
  graph-permissions.json  every /security/identities/... path of the permission
                          map in microsoftgraph/microsoft-graph-devx-content
                          (permissions/new/permissions.json), per method, and
                          the permission ids from provisioningInfo.json

Typical use, with bare git snapshots of the two repositories:

  python3 tests/contract/refresh.py \\
      --metadata-git /path/to/msgraph-metadata.git \\
      --devx-git /path/to/microsoft-graph-devx-content.git

Files that the snapshot lacks (the beta CSDL files are larger than some mirrors
keep) can be given explicitly; their repository path, commit and blob id are
still read from the git snapshot, and a complete file is checked against the
blob id:

  --file beta-global=/downloads/beta-Prod.csdl
  --excerpt beta-global=/notes/beta-Prod.excerpt.xml   (partial transcription;
                                                         recorded as "excerpt")

Without --metadata-git/--devx-git every input must be given with --file and the
source records carry only the repository and path.

Output is deterministic: same inputs, same bytes.
"""

import argparse
import hashlib
import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET

EDM = "{http://docs.oasis-open.org/odata/ns/edm}"
NAMESPACE = "microsoft.graph.security"

METADATA_REPOSITORY = "microsoftgraph/msgraph-metadata"
DEVX_REPOSITORY = "microsoftgraph/microsoft-graph-devx-content"

# (our key, path in msgraph-metadata). Fairfax is the US Government cloud
# (graph.microsoft.us: GCC High / L4 and DoD / L5 share this schema).
SCHEMA_SOURCES = [
    ("v1.0-global", "schemas/v1.0-Prod.csdl"),
    ("v1.0-usgov", "schemas/v1.0-Fairfax.csdl"),
    ("beta-global", "schemas/beta-Prod.csdl"),
    ("beta-usgov", "schemas/beta-Fairfax.csdl"),
]
PERMISSIONS_PATH = "permissions/new/permissions.json"
PROVISIONING_PATH = "permissions/new/provisioningInfo.json"
PATH_PREFIX = "/security/identities/"

# Types of microsoft.graph.security that the snapshot records. A name that a
# schema lacks is listed under "absent" for that schema.
WANTED_ENTITY_TYPES = [
    "healthIssue",
    "identityContainer",
    "networkAdapter",
    "sensor",
    "sensorCandidate",
    "sensorCandidateActivationConfiguration",
    "sensorMigration",
]
WANTED_COMPLEX_TYPES = [
    "deploymentAccessKeyType",
    "sensorDeploymentPackage",
    "sensorSettings",
]
WANTED_ENUM_TYPES = [
    "deploymentStatus",
    "deviceType",
    "healthIssueSeverity",
    "healthIssueStatus",
    "healthIssueType",
    "migrationState",
    "sensorCandidateActivationMode",
    "sensorHealthStatus",
    "sensorType",
    "serviceStatus",
]
# Actions/functions bound to one of these (or to a collection of one) are
# recorded; the names listed in WANTED_OPERATIONS are reported when absent.
BINDING_TYPES = {
    NAMESPACE + "." + name
    for name in (
        "healthIssue",
        "identityContainer",
        "sensor",
        "sensorCandidate",
        "sensorCandidateActivationConfiguration",
        "sensorMigration",
    )
}
WANTED_OPERATIONS = [
    "activate",
    "getDeploymentAccessKey",
    "getDeploymentPackageUri",
    "migrate",
    "regenerateDeploymentAccessKey",
]


def fail(message):
    sys.stderr.write("refresh.py: " + message + "\n")
    sys.exit(1)


# --------------------------------------------------------------------------
# git helpers (read-only: cat-file, show, log, rev-parse)


def git(git_dir, *args):
    result = subprocess.run(
        ["git", "--git-dir=" + git_dir] + list(args),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    if result.returncode != 0:
        return None
    return result.stdout


def git_source(git_dir, rev, path):
    """commit/date of the last change to path, its blob id, and the tip."""
    blob = git(git_dir, "rev-parse", "%s:%s" % (rev, path))
    if blob is None:
        fail("%s has no %s at %s" % (git_dir, path, rev))
    log = git(git_dir, "log", "-1", "--format=%H %cI", rev, "--", path)
    commit, committed = log.decode().split()
    head = git(git_dir, "log", "-1", "--format=%H %cI", rev).decode().split()
    return {
        "blob": blob.decode().strip(),
        "commit": commit,
        "committed": committed,
        "snapshotHead": head[0],
        "snapshotHeadCommitted": head[1],
    }


def git_read(git_dir, rev, path):
    if git(git_dir, "cat-file", "-e", "%s:%s" % (rev, path)) is None:
        return None  # listed in the tree but its content is absent
    return git(git_dir, "show", "%s:%s" % (rev, path))


def git_blob_id(data):
    header = ("blob %d\0" % len(data)).encode()
    return hashlib.sha1(header + data).hexdigest()


# --------------------------------------------------------------------------
# CSDL


class Csdl:
    def __init__(self, data):
        root = ET.fromstring(data)
        self.aliases = {}
        self.schemas = {}
        for schema in root.iter(EDM + "Schema"):
            namespace = schema.get("Namespace")
            self.schemas[namespace] = schema
            if schema.get("Alias"):
                self.aliases[schema.get("Alias")] = namespace
        if NAMESPACE not in self.schemas:
            fail("no %s schema in the input" % NAMESPACE)
        self.security = self.schemas[NAMESPACE]

    def qualify(self, type_name):
        if type_name.startswith("Collection(") and type_name.endswith(")"):
            return "Collection(%s)" % self.qualify(type_name[len("Collection("):-1])
        prefix, _, name = type_name.rpartition(".")
        if prefix in self.aliases:
            return self.aliases[prefix] + "." + name
        return type_name

    def elements(self, tag):
        return [e for e in self.security if e.tag == EDM + tag]

    def structured(self, element):
        out = {}
        if element.get("BaseType"):
            out["baseType"] = self.qualify(element.get("BaseType"))
        if element.get("Abstract") == "true":
            out["abstract"] = True
        if element.get("OpenType") == "true":
            out["openType"] = True
        properties = {}
        for prop in element.findall(EDM + "Property"):
            properties[prop.get("Name")] = {
                "type": self.qualify(prop.get("Type")),
                "nullable": prop.get("Nullable", "true") != "false",
            }
        out["properties"] = properties
        navigation = {}
        for nav in element.findall(EDM + "NavigationProperty"):
            entry = {"type": self.qualify(nav.get("Type"))}
            if nav.get("ContainsTarget") == "true":
                entry["containsTarget"] = True
            if nav.get("Nullable") == "false":
                entry["nullable"] = False
            navigation[nav.get("Name")] = entry
        out["navigation"] = sorted(navigation)
        if navigation:
            out["navigationTypes"] = navigation
        return out

    def extract(self):
        result = {
            "entityTypes": {},
            "complexTypes": {},
            "enumTypes": {},
            "flagsEnumTypes": [],
            "operations": {},
        }
        for element in self.elements("EntityType"):
            if element.get("Name") in WANTED_ENTITY_TYPES:
                result["entityTypes"][element.get("Name")] = self.structured(element)
        for element in self.elements("ComplexType"):
            if element.get("Name") in WANTED_COMPLEX_TYPES:
                result["complexTypes"][element.get("Name")] = self.structured(element)
        for element in self.elements("EnumType"):
            name = element.get("Name")
            if name in WANTED_ENUM_TYPES:
                result["enumTypes"][name] = [
                    m.get("Name") for m in element.findall(EDM + "Member")
                ]
                if element.get("IsFlags") == "true":
                    result["flagsEnumTypes"].append(name)
        result["flagsEnumTypes"].sort()
        for kind in ("Action", "Function"):
            for element in self.elements(kind):
                params = element.findall(EDM + "Parameter")
                if element.get("IsBound") != "true" or not params:
                    continue
                bound = self.qualify(params[0].get("Type"))
                target = bound
                if target.startswith("Collection("):
                    target = target[len("Collection("):-1]
                if target not in BINDING_TYPES:
                    continue
                name = element.get("Name")
                if name in result["operations"]:
                    fail("two operations named %s bound to sensor types" % name)
                returns = element.find(EDM + "ReturnType")
                op = {
                    "kind": kind.lower(),
                    "bound": bound,
                    "returns": self.qualify(returns.get("Type")) if returns is not None else None,
                    "parameters": {
                        p.get("Name"): self.qualify(p.get("Type")) for p in params[1:]
                    },
                }
                result["operations"][name] = op
        container = result["entityTypes"].get("identityContainer")
        result["identityContainer"] = {
            "navigation": container["navigation"] if container else []
        }
        result["absent"] = {
            "entityTypes": sorted(set(WANTED_ENTITY_TYPES) - set(result["entityTypes"])),
            "complexTypes": sorted(set(WANTED_COMPLEX_TYPES) - set(result["complexTypes"])),
            "enumTypes": sorted(set(WANTED_ENUM_TYPES) - set(result["enumTypes"])),
            "operations": sorted(set(WANTED_OPERATIONS) - set(result["operations"])),
        }
        return result


# --------------------------------------------------------------------------
# permission map


def parse_path_value(value):
    """'least=DelegatedWork,Application;AlsoRequires=X' -> dict of lists."""
    out = {}
    for part in value.split(";"):
        if not part:
            continue
        key, _, items = part.partition("=")
        out[key] = [i for i in items.split(",") if i]
    return out


def extract_permissions(permission_map, provisioning):
    paths = {}
    used = set()
    for name, permission in permission_map["permissions"].items():
        for path_set in permission.get("pathSets", []):
            for path, value in path_set.get("paths", {}).items():
                if not path.lower().startswith(PATH_PREFIX):
                    continue
                used.add(name)
                parsed = parse_path_value(value)
                least = set(parsed.get("least", []))
                for method in path_set["methods"]:
                    slot = paths.setdefault(path, {}).setdefault(
                        method, {"entries": {}, "_app": {}, "_del": {}}
                    )
                    if name in slot["entries"] and slot["entries"][name] != value:
                        fail("conflicting entries for %s %s %s" % (method, path, name))
                    slot["entries"][name] = value
                    if "AlsoRequires" in parsed:
                        slot.setdefault("alsoRequires", {})[name] = parsed["AlsoRequires"]
                    for scheme in path_set["schemeKeys"]:
                        if scheme == "Application":
                            slot["_app"][name] = "Application" in least
                        elif scheme == "DelegatedWork":
                            slot["_del"][name] = "DelegatedWork" in least
    for methods in paths.values():
        for slot in methods.values():
            for key, out_list, out_least in (
                ("_app", "application", "leastPrivilegedApplication"),
                ("_del", "delegated", "leastPrivilegedDelegated"),
            ):
                marks = slot.pop(key)
                leasts = sorted(n for n, is_least in marks.items() if is_least)
                others = sorted(n for n, is_least in marks.items() if not is_least)
                slot[out_list] = leasts + others
                if len(leasts) > 1:
                    slot[out_least] = leasts
                else:
                    slot[out_least] = leasts[0] if leasts else None
    permissions = {}
    deployments = provisioning.get("permissionDeployments", {}) if provisioning else {}
    for name in sorted(used):
        schemes = permission_map["permissions"][name].get("schemes", {})
        entry = {}
        for scheme, details in sorted(schemes.items()):
            info = {
                "requiresAdminConsent": details.get("requiresAdminConsent"),
                "privilegeLevel": details.get("privilegeLevel"),
            }
            for deployment in deployments.get(name, []):
                if deployment.get("scheme") == scheme:
                    info["id"] = deployment.get("id")
            entry[scheme] = info
        permissions[name] = entry
    return paths, permissions


# --------------------------------------------------------------------------


def write_json(path, data):
    text = json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    with open(path, "w", encoding="utf-8", newline="\n") as handle:
        handle.write(text)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--metadata-git", help="bare git dir of %s" % METADATA_REPOSITORY)
    parser.add_argument("--devx-git", help="bare git dir of %s" % DEVX_REPOSITORY)
    parser.add_argument("--rev", default="HEAD", help="revision to read (default HEAD)")
    parser.add_argument("--file", action="append", default=[], metavar="NAME=PATH",
                        help="complete input file; NAME is a schema key "
                             "(v1.0-global, ...), 'permissions' or 'provisioning'")
    parser.add_argument("--excerpt", action="append", default=[], metavar="NAME=PATH",
                        help="partial CSDL transcription for a schema key")
    parser.add_argument("--out", default=here, help="output directory (default: this one)")
    args = parser.parse_args()

    files, excerpts = {}, {}
    for spec, target in [(s, files) for s in args.file] + [(s, excerpts) for s in args.excerpt]:
        name, sep, path = spec.partition("=")
        if not sep:
            fail("expected NAME=PATH, got %r" % spec)
        target[name] = path

    def load(name, repository, git_dir, path, allow_excerpt):
        record = {"name": name, "repository": repository, "path": path}
        if git_dir:
            record.update(git_source(git_dir, args.rev, path))
        if name in excerpts:
            if not allow_excerpt:
                fail("--excerpt is only for schema files")
            with open(excerpts[name], "rb") as handle:
                data = handle.read()
            record["content"] = "excerpt"
        elif name in files:
            with open(files[name], "rb") as handle:
                data = handle.read()
            if "blob" in record and git_blob_id(data) != record["blob"]:
                fail("%s is not blob %s of %s" % (files[name], record["blob"], path))
            record["content"] = "complete"
        elif git_dir:
            data = git_read(git_dir, args.rev, path)
            if data is None:
                fail("%s: content of %s is not in the snapshot; pass --file %s=... "
                     "or --excerpt %s=..." % (name, path, name, name))
            record["content"] = "complete"
        else:
            fail("no input for %s" % name)
        return record, data

    sources, schemas = [], {}
    for name, path in SCHEMA_SOURCES:
        if not args.metadata_git and name not in files and name not in excerpts:
            continue
        record, data = load(name, METADATA_REPOSITORY, args.metadata_git, path, True)
        sources.append(record)
        schemas[name] = Csdl(data).extract()

    write_json(os.path.join(args.out, "graph-schema.json"), {
        "namespace": NAMESPACE,
        "sources": sources,
        "schemas": schemas,
    })

    perm_record, perm_data = load("permissions", DEVX_REPOSITORY, args.devx_git,
                                  PERMISSIONS_PATH, False)
    prov_record, prov_data = load("provisioning", DEVX_REPOSITORY, args.devx_git,
                                  PROVISIONING_PATH, False)
    paths, permissions = extract_permissions(json.loads(perm_data), json.loads(prov_data))
    write_json(os.path.join(args.out, "graph-permissions.json"), {
        "convention": (
            "Per path and method, 'entries' copies the permission map's value for each "
            "permission listed ('least=<schemes>' marks the least privileged permission "
            "for those schemes; '' means listed but not least; 'AlsoRequires=' names "
            "permissions needed in addition). 'application'/'delegated' list the "
            "permissions the map allows for the Application / DelegatedWork scheme, "
            "least privileged first, then the others by name. A path or method that "
            "is not here is not in the map. Paths are spelled as in the map; Graph "
            "matches path segments case-insensitively."
        ),
        "source": perm_record,
        "provisioningSource": prov_record,
        "paths": paths,
        "permissions": permissions,
    })


if __name__ == "__main__":
    main()
