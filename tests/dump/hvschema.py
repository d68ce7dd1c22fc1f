"""hvschema.py -- load hvkit's JSON Schemas (schemas/*.json) with their
cross-references resolved, and validate objects against them."""
import json
import os

import jsonschema


def load(schemas_dir):
    """Return {file name: validator} for every schema in schemas_dir."""
    store, raw = {}, {}
    for name in sorted(os.listdir(schemas_dir)):
        if not name.endswith(".json"):
            continue
        with open(os.path.join(schemas_dir, name)) as f:
            doc = json.load(f)
        raw[name] = doc
        store[doc.get("$id", name)] = doc
    out = {}
    for name, doc in raw.items():
        cls = jsonschema.validators.validator_for(doc)
        cls.check_schema(doc)
        resolver = jsonschema.RefResolver.from_schema(doc, store=store)
        out[name] = cls(doc, resolver=resolver)
    return out


def check(validators, name, obj, what):
    """Raise AssertionError naming what and the first schema error."""
    errors = sorted(validators[name].iter_errors(obj), key=lambda e: list(e.path))
    if errors:
        e = errors[0]
        raise AssertionError("%s does not match %s: %s at %s"
                             % (what, name, e.message, list(e.absolute_path)))


def check_examples(validators, schemas_dir):
    """Every schema's own examples must validate (and there must be one)."""
    for name, v in validators.items():
        with open(os.path.join(schemas_dir, name)) as f:
            doc = json.load(f)
        ex = doc.get("examples") or []
        if not ex:
            raise AssertionError("%s has no example" % name)
        for i, obj in enumerate(ex):
            check(validators, name, obj, "%s example %d" % (name, i))
