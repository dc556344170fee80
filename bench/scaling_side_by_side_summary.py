#!/usr/bin/env python3
"""Medians of bench/run_cpu_scaling_side_by_side.sh's lines per (L, implementation and model), and the ratios of
wall time: the peer's FT-Transformer and FT-Mamba (eager, and torch.compile'd where the series has them), and
ftmamba's FT-Transformer, each over ftmamba's FT-Mamba (so above 1 means ftmamba's FT-Mamba is faster). One JSON
line each.

  python3 bench/scaling_side_by_side_summary.py runs/scaling-sbs/scaling_side_by_side.jsonl
"""
import json
import statistics
import sys
from collections import defaultdict


def main():
    walls = defaultdict(list)
    for line in open(sys.argv[1]):
        row = json.loads(line)
        if "round" in row:
            walls[(row["L"], row["impl_model"])].append(row["wall_ms"])
    med = {key: statistics.median(v) for key, v in walls.items()}
    for (length, which), value in sorted(med.items()):
        print(json.dumps({"L": length, "impl_model": which, "rounds": len(walls[(length, which)]),
                          "median_wall_ms": value, "min": min(walls[(length, which)]),
                          "max": max(walls[(length, which)])}))
    for length in sorted({key[0] for key in med}):
        ours = med.get((length, "ftmamba-ft-mamba"))
        for other in ("pytorch-ft-transformer", "pytorch-ft-mamba", "pytorch-compiled-ft-transformer",
                      "pytorch-compiled-ft-mamba", "ftmamba-ft-transformer"):
            if ours and (length, other) in med:
                print(json.dumps({"L": length, "ratio": f"{other} wall / ftmamba-ft-mamba wall",
                                  "value": round(med[(length, other)] / ours, 3)}))


if __name__ == "__main__":
    main()
