#!/usr/bin/env python3
"""Self time per operator from a Chrome trace of LibTorch's profiler (bench_train --profile TRACE.json).

Each event's self time is its duration less that of the events nested in it on the same thread, so a cast is
counted once, not again in every operator that calls it. Prints the top operators as a table and one JSON line.

    python3 bench/profile_summary.py TRACE.json [--top 25]
"""
import argparse
import collections
import json


def self_times(events):
    """{name: (self microseconds, calls)} over complete ("X") events, nesting by thread."""
    by_thread = collections.defaultdict(list)
    for e in events:
        if e.get("ph") == "X":
            by_thread[e.get("tid")].append((float(e["ts"]), float(e["dur"]), e["name"]))
    total = collections.defaultdict(float)
    calls = collections.Counter()
    for evs in by_thread.values():
        evs.sort(key=lambda x: (x[0], -x[1]))
        stack = []  # [end, name, child time]
        def close(frame):
            end, name, child, start = frame
            total[name] += (end - start) - child
            if stack:
                stack[-1][2] += end - start
        for ts, dur, name in evs:
            while stack and stack[-1][0] <= ts:
                close(stack.pop())
            stack.append([ts + dur, name, 0.0, ts])
            calls[name] += 1
        while stack:
            close(stack.pop())
    return {n: (t, calls[n]) for n, t in total.items()}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("trace")
    ap.add_argument("--top", type=int, default=25)
    args = ap.parse_args()
    data = json.load(open(args.trace))
    events = data["traceEvents"] if isinstance(data, dict) else data
    times = self_times(events)
    whole = sum(t for t, _ in times.values())
    rows = sorted(times.items(), key=lambda kv: -kv[1][0])
    print(f"{'operator':48} {'self ms':>10} {'share':>7} {'calls':>7}")
    for name, (t, n) in rows[:args.top]:
        print(f"{name[:48]:48} {t / 1e3:10.2f} {100 * t / whole:6.1f}% {n:7d}")
    print(json.dumps({"total_self_ms": round(whole / 1e3, 3),
                      "top": [{"op": n, "self_ms": round(t / 1e3, 3), "calls": c} for n, (t, c) in rows[:args.top]]}))


if __name__ == "__main__":
    main()
