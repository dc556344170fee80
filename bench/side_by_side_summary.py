#!/usr/bin/env python3
"""Reads the JSON lines of bench/run_cpu_side_by_side.sh (stdin or a file) and prints, as JSON lines, the median
training samples/s of each (configuration, implementation, model, precision) over the rounds, then the ratios the
efficiency claim rests on, each from medians of the same interleaved series:

  ftmamba FT-Mamba / the best PyTorch FT-Transformer (fp32 or bf16, whichever is faster);
  ftmamba FT-Mamba / PyTorch FT-Mamba at the same precision;
  ftmamba FT-Mamba / ftmamba FT-Transformer;
  ftmamba bf16 / ftmamba fp32.

    python3 bench/side_by_side_summary.py runs/bench/side_by_side.jsonl
"""
import json
import statistics
import sys
from collections import defaultdict


def main():
    source = open(sys.argv[1]) if len(sys.argv) > 1 else sys.stdin
    runs = defaultdict(list)
    for line in source:
        line = line.strip()
        if not line.startswith("{"):
            continue
        r = json.loads(line)
        if "train_samples_per_sec" not in r:
            continue
        precision = r.get("precision") or ("bf16" if r.get("amp") == "bf16" else "fp32")
        runs[(r["config"], r["impl"], r["model"], precision)].append(r["train_samples_per_sec"])
    median = {key: statistics.median(v) for key, v in runs.items()}
    for (config, impl, model, precision), v in sorted(runs.items()):
        print(json.dumps({"config": config, "impl": impl, "model": model, "precision": precision, "rounds": len(v),
                          "median_train_samples_per_sec": round(statistics.median(v), 1),
                          "min": round(min(v), 1), "max": round(max(v), 1)}))

    def ratio(config, name, num, den):
        if num in median and den in median:
            print(json.dumps({"config": config, "ratio": name, "value": round(median[num] / median[den], 3),
                              "numerator": round(median[num], 1), "denominator": round(median[den], 1)}))

    for config in sorted({key[0] for key in runs}):
        peers = [p for p in ("fp32", "bf16") if (config, "pytorch", "ft-transformer", p) in median]
        best = max(peers, key=lambda p: median[(config, "pytorch", "ft-transformer", p)]) if peers else None
        for precision in ("fp32", "bf16"):
            ours = (config, "ftmamba", "ft-mamba", precision)
            if best:
                ratio(config, f"ftmamba ft-mamba {precision} / best pytorch ft-transformer ({best})", ours,
                      (config, "pytorch", "ft-transformer", best))
            ratio(config, f"ftmamba ft-mamba {precision} / pytorch ft-mamba {precision}", ours,
                  (config, "pytorch", "ft-mamba", precision))
            ratio(config, f"ftmamba ft-mamba {precision} / ftmamba ft-transformer {precision}", ours,
                  (config, "ftmamba", "ft-transformer", precision))
        ratio(config, "ftmamba ft-mamba bf16 / fp32", (config, "ftmamba", "ft-mamba", "bf16"),
              (config, "ftmamba", "ft-mamba", "fp32"))


if __name__ == "__main__":
    main()
