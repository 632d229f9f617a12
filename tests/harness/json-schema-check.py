#!/usr/bin/python3
"""json-schema-check.py SCHEMA.json DOCUMENT.json: validates with python3-jsonschema
(Debian's), the draft the schema names. Exit 0 valid; 1 with the first error."""
import json
import sys

import jsonschema

schema = json.load(open(sys.argv[1]))
doc = json.load(open(sys.argv[2]))
cls = jsonschema.validators.validator_for(schema)
cls.check_schema(schema)
errors = sorted(cls(schema).iter_errors(doc), key=lambda e: list(e.path))
for e in errors[:1]:
    print("invalid at /%s: %s" % ("/".join(str(p) for p in e.path), e.message))
sys.exit(1 if errors else 0)
