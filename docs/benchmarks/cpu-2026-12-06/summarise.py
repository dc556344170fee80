#!/usr/bin/env python3
"""Summarises run_isa_ab.sh output: per figure and build, the median over rounds of bench_kernels' per-call
median (wall) and CPU time, and the median over rounds of the per-round ratio against "before".
Usage: summarise.py ab.jsonl [more.jsonl ...] (rounds of each file counted separately)"""
import json
import statistics
import sys
from collections import defaultdict

rows = []
for i, path in enumerate(sys.argv[1:]):
    for line in open(path):
        if line.startswith("{"):
            row = json.loads(line)
            row["round"] = (i, row["round"])
            rows.append(row)
by = defaultdict(dict)  # (bench, shape, pass) -> build -> round -> row
for r in rows:
    by[(r["bench"], r["shape"], r["pass"])].setdefault(r["build"], {})[r["round"]] = r
builds = sorted({r["build"] for r in rows}, key=lambda b: (b != "before", b))
print("| kernel | shape | pass | build (path) | rounds | wall ms, median | CPU ms, median | wall / before, median of rounds | CPU / before, median of rounds |")
print("| --- | --- | --- | --- | ---: | ---: | ---: | ---: | ---: |")
for key in sorted(by, key=lambda k: (k[0] != "selective_scan", k[1] != "tabular", k[2])):
    base = by[key].get("before", {})
    for b in builds:
        runs = by[key].get(b, {})
        if not runs:
            continue
        wall = statistics.median(x["median_ms"] for x in runs.values())
        cpu = statistics.median(x["cpu_ms"] for x in runs.values())
        isa = runs[next(iter(runs))].get("cpu_isa", "native")
        if b == "before":
            rw = rc = "1"
        else:
            common = [k for k in runs if k in base]
            rw = "%.3f" % statistics.median(runs[k]["median_ms"] / base[k]["median_ms"] for k in common)
            rc = "%.3f" % statistics.median(runs[k]["cpu_ms"] / base[k]["cpu_ms"] for k in common)
        print(f"| {key[0]} | {key[1]} | {key[2]} | {b} ({isa}) | {len(runs)} | {wall:.3f} | {cpu:.3f} | {rw} | {rc} |")
