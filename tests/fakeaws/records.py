#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
# Read the fake AWS's request records (one JSON object per line) for test
# assertions.  The fake writes a request's record before it sends the answer,
# so a client that has its answer (or saw its connection dropped) finds the
# record already there: no waiting needed.
#
# As a module:  records.read(path) -> [dict]; records.select(recs, **where);
#               records.last(path, **where) -> dict or None
#   where: field=value, or field=callable(value) -> bool; a dotted field
#   ("identity.arn") looks inside objects.
# As a program: records.py FILE [FIELD=VALUE ...] [--count | --field NAME]
#   prints the matching records (JSON lines), their count, or one field of
#   each; exit 1 when nothing matches.

import json
import sys


def read(path):
    out = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                out.append(json.loads(line))
            except ValueError as exc:
                raise ValueError("%s:%d: not JSON: %s" % (path, n, exc))
    return out


def field(rec, name):
    cur = rec
    for part in name.split("."):
        if not isinstance(cur, dict) or part not in cur:
            return None
        cur = cur[part]
    return cur


def matches(rec, where):
    for name, want in where.items():
        got = field(rec, name)
        if callable(want):
            if not want(got):
                return False
        elif got != want:
            return False
    return True


def select(recs, **where):
    return [r for r in recs if matches(r, where)]


def last(records_file, /, **where):
    found = select(read(records_file), **where)
    return found[-1] if found else None


def header(rec, name):
    """A request header's (redacted) value from a record, or None."""
    for n, v in rec.get("headers", []):
        if n.lower() == name.lower():
            return v
    return None


def _value(text):
    try:
        return json.loads(text)
    except ValueError:
        return text


def main(argv):
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__ if __doc__ else "usage: records.py FILE [FIELD=VALUE "
              "...] [--count | --field NAME]")
        return 2
    path, rest = argv[0], argv[1:]
    where, mode, fname = {}, "records", None
    i = 0
    while i < len(rest):
        a = rest[i]
        if a == "--count":
            mode = "count"
        elif a == "--field" and i + 1 < len(rest):
            mode, fname = "field", rest[i + 1]
            i += 1
        elif "=" in a:
            k, _, v = a.partition("=")
            where[k] = _value(v)
        else:
            print("records.py: bad argument %r" % a, file=sys.stderr)
            return 2
        i += 1
    found = select(read(path), **where)
    if mode == "count":
        print(len(found))
    else:
        for r in found:
            print(json.dumps(field(r, fname)) if mode == "field"
                  else json.dumps(r, sort_keys=True))
    return 0 if found else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
