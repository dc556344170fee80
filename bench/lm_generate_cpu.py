#!/usr/bin/env python3
"""CPU generation speed of `ftmamba lm generate` at a published Mamba shape, against its memory-bandwidth floor.

Writes a randomly initialised model of the shape in mamba_ssm's layout (config.json and pytorch_model.bin, by
PyTorch: Debian's python3-torch, `FTMAMBA_PEER=1 scripts/install-deps`), then times greedy decoding of batch 1
(--ignore-eos, so every run decodes the same number of tokens) and prints one JSON line per run and a summary.
The floor: each new token reads every weight once (the tied LM head is the whole embedding matrix), so
tokens/s <= copy bandwidth / weight bytes; the bandwidth is numpy's copy of a 1 GiB array here, best of 5.

    python3 bench/lm_generate_cpu.py BUILD/ftmamba [--shape 130m] [--tokens 128] [--runs 3]
"""
import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

SHAPES = {"130m": (24, 768), "370m": (48, 1024)}


def copy_bandwidth():
    a = np.ones(1 << 28, dtype=np.float32)  # 1 GiB
    b = np.empty_like(a)
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        np.copyto(b, a)
        best = min(best, time.perf_counter() - start)
    return 2 * a.nbytes / best  # read + write


def write_model(folder, layers, d):
    import torch
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "mamba_ssm"))
    from make_fixture import LMHeadModel
    torch.manual_seed(0)
    model = LMHeadModel(50280, d, layers, n=16)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("A_log"):
                p.copy_(torch.log(torch.arange(1, p.shape[1] + 1, dtype=torch.float32)).repeat(p.shape[0], 1))
            elif name.endswith("norm.weight") or name.endswith("norm_f.weight") or name.endswith(".D"):
                p.fill_(1.0)
            else:
                p.normal_(0, 0.02)
    torch.save(model.state_dict(), folder / "pytorch_model.bin")
    (folder / "config.json").write_text(json.dumps({"d_model": d, "n_layer": layers, "vocab_size": 50277,
                                                    "ssm_cfg": {}, "rms_norm": True, "residual_in_fp32": True,
                                                    "fused_add_norm": True, "pad_vocab_size_multiple": 8}))
    return sum(p.numel() for p in model.parameters())


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("binary")
    ap.add_argument("--shape", default="130m", choices=sorted(SHAPES))
    ap.add_argument("--tokens", type=int, default=128)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    layers, d = SHAPES[args.shape]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        params = write_model(folder, layers, d)
        rates = []
        for run in range(args.runs):
            out = subprocess.run([args.binary, "lm", "generate", "--model", str(folder), "--device", "cpu", "--ids",
                                  "1,2,3,4,5,6,7,8", "--max-new-tokens", str(args.tokens), "--ignore-eos", "--json"],
                                 check=True, capture_output=True, text=True).stdout
            j = json.loads(out)
            rates.append(j["decode_tokens_per_second"])
            print(json.dumps({"run": run, "shape": args.shape, "batch": 1, "new_tokens": len(j["ids"]),
                              "decode_tokens_per_second": j["decode_tokens_per_second"],
                              "prefill_seconds": j["prefill_seconds"]}), flush=True)
    bandwidth = copy_bandwidth()
    weight_bytes = params * 4
    floor = bandwidth / weight_bytes
    median = statistics.median(rates)
    print(json.dumps({"summary": "lm generate, CPU, fp32", "shape": args.shape, "parameters": params,
                      "weight_bytes": weight_bytes, "copy_bandwidth_gb_s": bandwidth / 1e9,
                      "floor_tokens_per_second": floor, "median_tokens_per_second": median,
                      "fraction_of_floor": median / floor}), flush=True)


if __name__ == "__main__":
    main()
