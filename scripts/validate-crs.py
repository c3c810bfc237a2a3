#!/usr/bin/env python3
"""Validates custom resources (KEDA's ScaledObject, TriggerAuthentication) in a manifest stream
against the CRDs in a folder, as strictly as the API server's strict field validation: a field
the schema does not declare is an error, not silently pruned.

    kubectl kustomize deploy/keda | scripts/validate-crs.py deploy/keda/schemas > rest.yaml

Documents of a kind no CRD defines go to stdout, for kubernetes-validate. Also checks what
kubernetes-validate cannot: that the references between these objects resolve (a ScaledObject's
target and TriggerAuthentication, a TriggerAuthentication's Secret key).
"""

import pathlib
import sys

import jsonschema
import yaml


def strict(schema):
    """A CRD's structural schema as a JSON Schema that rejects undeclared fields."""
    if isinstance(schema, list):
        return [strict(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: strict(v) for k, v in schema.items() if not k.startswith("x-kubernetes-")}
    if schema.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    if out.pop("nullable", False) and "type" in out:
        out["type"] = [out["type"], "null"]
    # Kubernetes keeps only declared fields unless the schema says to preserve unknown ones.
    if (
        schema.get("type") == "object"
        and "additionalProperties" not in schema
        and not schema.get("x-kubernetes-preserve-unknown-fields")
        and "properties" in schema
    ):
        out["additionalProperties"] = False
    return out


def load_crds(folder):
    """(apiVersion, kind) -> JSON Schema, for every served version of every CRD in folder."""
    crds = {}
    for path in sorted(pathlib.Path(folder).glob("*.yaml")):
        for crd in yaml.safe_load_all(path.read_text()):
            if not crd or crd.get("kind") != "CustomResourceDefinition":
                continue
            spec = crd["spec"]
            for version in spec["versions"]:
                if version.get("served"):
                    key = (f"{spec['group']}/{version['name']}", spec["names"]["kind"])
                    crds[key] = strict(version["schema"]["openAPIV3Schema"])
    if not crds:
        sys.exit(f"validate-crs: no CustomResourceDefinition in {folder}")
    return crds


def name(doc):
    meta = doc.get("metadata") or {}
    return f"{doc.get('kind')}/{meta.get('name')}"


def check_references(docs, errors):
    def find(kind, obj_name):
        return [d for d in docs if d.get("kind") == kind and d["metadata"].get("name") == obj_name]

    for doc in docs:
        spec = doc.get("spec") or {}
        if doc.get("kind") == "ScaledObject":
            target = spec["scaleTargetRef"]
            if not find(target.get("kind", "Deployment"), target["name"]):
                errors.append(f"{name(doc)}: scaleTargetRef {target['name']} is not defined")
            for trigger in spec.get("triggers", []):
                ref = (trigger.get("authenticationRef") or {}).get("name")
                if ref and not find("TriggerAuthentication", ref):
                    errors.append(f"{name(doc)}: authenticationRef {ref} is not defined")
        if doc.get("kind") == "TriggerAuthentication":
            for ref in spec.get("secretTargetRef", []):
                keys = set()
                for secret in find("Secret", ref["name"]):
                    keys |= {*secret.get("data", {}), *secret.get("stringData", {})}
                if ref["key"] not in keys:
                    errors.append(f"{name(doc)}: Secret {ref['name']} has no key {ref['key']}")


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: validate-crs.py CRD_FOLDER < manifests.yaml > other-manifests.yaml")
    crds = load_crds(sys.argv[1])
    groups = {api.split("/")[0] for api, _ in crds}
    docs = [d for d in yaml.safe_load_all(sys.stdin) if d]
    errors, rest, checked = [], [], 0
    for doc in docs:
        key = (doc.get("apiVersion"), doc.get("kind"))
        if key in crds:
            checked += 1
            validator = jsonschema.Draft7Validator(crds[key])
            for error in sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path)):
                path = ".".join(str(p) for p in error.absolute_path) or "(root)"
                errors.append(f"{name(doc)}: {path}: {error.message}")
        elif str(doc.get("apiVersion")).split("/")[0] in groups:
            errors.append(f"{name(doc)}: no CRD defines kind {key[1]} in {key[0]}")
        else:
            rest.append(doc)
    check_references(docs, errors)
    for error in errors:
        print(f"validate-crs: {error}", file=sys.stderr)
    if errors:
        sys.exit(1)
    print(f"validate-crs: {checked} custom resources valid", file=sys.stderr)
    yaml.safe_dump_all(rest, sys.stdout, sort_keys=False)


if __name__ == "__main__":
    main()
