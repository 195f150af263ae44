#!/usr/bin/env python3
"""The floor for a cold index build (issue 7): read and parse every record file
of a data folder with PyYAML's C loader, in one process, and do nothing else.

    python bench/parse_floor.py FOLDER [--loader c|csafe|cbase]

Walks clients/, deals/, activities/, stakeholders/ and competitors/ (with
their subfolders; names starting with "." skipped, like crm does), reads each
*.yaml file and parses it with ``yaml.load(data, Loader=yaml.CLoader)``
(default; ``csafe`` = CSafeLoader, ``cbase`` = CBaseLoader, which leaves every
scalar a string as crm's reader does).  Prints the number of files and the
seconds it took on stderr.
"""
import argparse
import os
import sys
import time

import yaml

FOLDERS = ("clients", "deals", "activities", "stakeholders", "competitors")
LOADERS = {"c": "CLoader", "csafe": "CSafeLoader", "cbase": "CBaseLoader"}


def files(root):
    for folder in FOLDERS:
        stack = [os.path.join(root, folder)]
        while stack:
            d = stack.pop()
            try:
                it = os.scandir(d)
            except FileNotFoundError:
                continue
            with it:
                for e in it:
                    if e.name.startswith("."):
                        continue
                    if e.is_dir(follow_symlinks=False):
                        stack.append(e.path)
                    elif e.name.endswith(".yaml") and e.is_file(follow_symlinks=False):
                        yield e.path


def main(argv=None):
    ap = argparse.ArgumentParser(description="Parse every record file with PyYAML's C loader.")
    ap.add_argument("folder")
    ap.add_argument("--loader", choices=sorted(LOADERS), default="c")
    args = ap.parse_args(argv)
    loader = getattr(yaml, LOADERS[args.loader])
    t0 = time.perf_counter()
    n = 0
    for path in files(args.folder):
        with open(path, "rb") as fh:
            yaml.load(fh.read(), Loader=loader)
        n += 1
    sys.stderr.write(f"{n} files parsed with yaml.{LOADERS[args.loader]} in {time.perf_counter() - t0:.3f} s\n")


if __name__ == "__main__":
    main()
