#!/usr/bin/env python3
"""Prints the objects a new install script adds to an old one, as the body of an upgrade script.

    cargo pgrx schema -p quay-pg -c "$PG_CONFIG" -o /tmp/new.sql pg15
    extension/pg/tools/upgrade_diff.py extension/pg/sql/quay--OLD.sql /tmp/new.sql

pgrx writes each object as a block between `/* <begin connected objects> */` and
`/* </end connected objects> */`; a block is new when its text (without the source-line comment,
which moves with every edit) is not in the old script. The upgrade test
(tests/tests/sql/extension_upgrade.rs) checks the result against a fresh install; a changed
(not added) object must be written by hand.
"""
import re
import sys


def blocks(path):
    text = open(path, encoding="utf-8").read()
    found = re.findall(r"/\* <begin connected objects> \*/\n(.*?)/\* </end connected objects> \*/", text, re.S)
    return [re.sub(r"^-- extension/pg/src/lib\.rs:\d+\n", "", b, flags=re.M).strip() for b in found]


def main():
    old, new = sys.argv[1], sys.argv[2]
    before = set(blocks(old))
    for b in blocks(new):
        if b not in before:
            print(b)
            print()


if __name__ == "__main__":
    main()
