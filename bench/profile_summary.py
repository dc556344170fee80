#!/usr/bin/env python3
"""Prints where a training step's time goes, from `bench_train --profile OUT.json`: self time (an operator's time
less that of the operators it calls) per operator, and per operator and input shapes.

    python3 bench/profile_summary.py OUT.json [--top 25]
"""
import argparse
import collections
import json


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("profile")
    ap.add_argument("--top", type=int, default=25)
    args = ap.parse_args()
    data = json.load(open(args.profile))
    steps, ops = data["steps"], data["operators"]
    whole = sum(o["self_us"] for o in ops)
    by_op = collections.defaultdict(lambda: [0.0, 0])
    for o in ops:
        name = o["op"].split(" [")[0]
        by_op[name][0] += o["self_us"]
        by_op[name][1] += o["calls"]
    print(f"{whole / steps / 1e3:.1f} ms of operator time per step\n")
    print(f"{'operator':60} {'ms/step':>9} {'share':>7} {'calls/step':>11}")
    for name, (t, n) in sorted(by_op.items(), key=lambda kv: -kv[1][0])[:args.top]:
        print(f"{name[:60]:60} {t / steps / 1e3:9.2f} {100 * t / whole:6.1f}% {n / steps:11.1f}")
    print(f"\n{'operator [input shapes]':90} {'ms/step':>9} {'calls/step':>11}")
    for o in sorted(ops, key=lambda o: -o["self_us"])[:args.top]:
        print(f"{o['op'][:90]:90} {o['self_us'] / steps / 1e3:9.2f} {o['calls'] / steps:11.1f}")


if __name__ == "__main__":
    main()
