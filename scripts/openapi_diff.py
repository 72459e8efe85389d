#!/usr/bin/env python3
"""Diffs two OpenAPI documents semantically.

Both are normalised before a unified diff of their sorted-key JSON: every
local `$ref` (schemas, parameters, responses) is replaced by what it names,
so moving a shape into or out of `components` is no difference; parameter
lists are keyed by (in, name); nullable forms (`type: [T, "null"]`,
`oneOf: [T, {type: null}]`) are written one way; utoipa's integer `format`s
are dropped; `const: X` is `enum: [X]`; and `components` itself is left out once inlined.

    cargo run -q --example openapi > /tmp/new.json
    git show main:src/http/openapi.json > /tmp/old.json
    scripts/openapi_diff.py /tmp/old.json /tmp/new.json
"""

import difflib
import json
import sys


def resolve(doc, ref):
    node = doc
    for part in ref.lstrip("#/").split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def nullable(schema):
    """`{"oneOf": [X, {"type": "null"}]}` and `type: [t, "null"]` → `{"nullable": X}`."""
    one = schema.get("oneOf")
    if isinstance(one, list) and len(one) == 2 and {"type": "null"} in one:
        rest = dict(schema)
        del rest["oneOf"]
        inner = next(s for s in one if s != {"type": "null"})
        return {**rest, "nullable": inner}
    t = schema.get("type")
    if isinstance(t, list) and "null" in t and len(t) == 2:
        inner = dict(schema)
        inner["type"] = next(x for x in t if x != "null")
        enum = inner.get("enum")
        if isinstance(enum, list) and None in enum:
            inner["enum"] = [e for e in enum if e is not None]
        return {"nullable": inner}
    return schema


def norm(doc, node, seen=()):
    if isinstance(node, list):
        return [norm(doc, n, seen) for n in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        ref = node["$ref"]
        if ref in seen:
            return {"$recursive": ref}
        target = dict(resolve(doc, ref))
        target.update({k: v for k, v in node.items() if k != "$ref"})
        return norm(doc, target, seen + (ref,))
    node = nullable(node)
    if "const" in node:
        node = {**node, "enum": [node["const"]]}
        del node["const"]
    out = {}
    for k, v in node.items():
        if k == "format" and v in ("int32", "int64", "uint64", "uint32"):
            continue
        if k == "parameters" and isinstance(v, list):
            params = [norm(doc, p, seen) for p in v]
            out[k] = {f'{p.get("in")}:{p.get("name")}': p for p in params}
            continue
        if k in ("required", "enum", "tags") and isinstance(v, list):
            out[k] = sorted(v, key=json.dumps)
            continue
        out[k] = norm(doc, v, seen)
    return out


def normalised(path):
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    body = {k: v for k, v in doc.items() if k != "components"}
    body["securitySchemes"] = doc.get("components", {}).get("securitySchemes")
    return json.dumps(norm(doc, body), indent=1, sort_keys=True, ensure_ascii=False)


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    old, new = (normalised(p).splitlines() for p in sys.argv[1:])
    diff = list(difflib.unified_diff(old, new, sys.argv[1], sys.argv[2], lineterm="", n=4))
    print("\n".join(diff))
    sys.exit(1 if diff else 0)


if __name__ == "__main__":
    main()
