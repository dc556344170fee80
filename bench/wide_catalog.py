#!/usr/bin/env python3
"""Writes a copy of a dataset folder whose items table has N rows: the original items, then new items whose
every column is drawn, independently and with a fixed seed, from that column's values in the original table
(the id column gets fresh ids). Users and interactions are copied unchanged. A larger catalog with the same
schema, for timing an item index with a run's item tower (`ftmamba index --run RUN --data OUT`).

    python3 bench/wide_catalog.py DATA_DIR OUT_DIR N [--seed S]
"""
import argparse
import csv
import random
import shutil
import sys
from pathlib import Path


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("items", type=int)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    items_csv = args.data / "items.csv"
    if not items_csv.is_file():
        sys.exit(f"{items_csv}: missing")
    if args.out.exists():
        sys.exit(f"{args.out}: exists")
    with items_csv.open(newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        rows = list(reader)
    if args.items < len(rows):
        sys.exit(f"N ({args.items}) is below the {len(rows)} items there are")
    tmp = args.out.with_name(args.out.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(args.data, tmp, ignore=shutil.ignore_patterns("items.csv", "oracle.safetensors"))
    rng = random.Random(args.seed)
    columns = list(zip(*rows))
    with (tmp / "items.csv").open("w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)
        for i in range(args.items - len(rows)):
            w.writerow([f"wide{i:07d}"] + [rng.choice(col) for col in columns[1:]])
    tmp.rename(args.out)


if __name__ == "__main__":
    main()
