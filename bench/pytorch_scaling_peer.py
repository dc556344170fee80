#!/usr/bin/env python3
"""The PyTorch peer of `ftmamba bench scaling`: one training-mode forward and backward of an encoder over L tokens
(L - 1 numerical features plus [CLS]), with the loss (out * weights).sum(), on random inputs, timed as ftmamba
times it (wall clock of forward + backward, median over repetitions after one untimed warm-up, at least
--min-seconds and 3 repetitions per point). The encoders are bench/pytorch_peer.py's: FT-Mamba with the time-major
scan, FT-Transformer as in rtdl (attention through scaled_dot_product_attention where the installed torch has it).
Prints one JSON line per point with the keys of ftmamba's ("model", "L", "batch", "wall_ms").

  python3 bench/pytorch_scaling_peer.py --model ft-mamba --lengths 64,256,1024 [--batch 4] [--d 64] [--threads 1]
                                        [--device cpu|cuda] [--compile]
--compile wraps the encoder in torch.compile (where the installed torch has it); its compilation falls in the
untimed warm-up. On a GPU each repetition is timed from a synchronised start to a synchronised end, as ftmamba times its own.
"""
import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from pytorch_peer import Encoder  # noqa: E402


def time_point(model, length, batch, d, layers, min_seconds, device="cpu", compile_model=False):
    torch.manual_seed(0)
    enc = Encoder(model, length - 1, 0, 0, d=d, layers=layers).train().to(device)
    step = torch.compile(enc) if compile_model else enc
    num, miss = torch.randn(batch, length - 1, device=device), torch.zeros(batch, length - 1, device=device)
    cat = torch.zeros(batch, 0, dtype=torch.long, device=device)
    weights = torch.randn(batch, enc.head.out_features, device=device)
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)  # a GPU step ends when its kernels do
    walls = []
    start = time.perf_counter()
    for rep in range(65):  # the first is the warm-up
        sync()
        t0 = time.perf_counter()
        (step(num, miss, cat) * weights).sum().backward()
        sync()
        wall = (time.perf_counter() - t0) * 1e3
        enc.zero_grad(set_to_none=True)
        if rep > 0:
            walls.append(wall)
        if len(walls) >= 3 and time.perf_counter() - start >= min_seconds:
            break
    return statistics.median(walls)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", choices=["ft-mamba", "ft-transformer"], required=True)
    ap.add_argument("--lengths", default="64,256,1024")
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--d", type=int, default=64)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--min-seconds", type=float, default=1.0)
    ap.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    ap.add_argument("--compile", action="store_true", help="torch.compile the encoder")
    args = ap.parse_args()
    if args.compile and not hasattr(torch, "compile"):
        sys.exit(f"--compile: torch {torch.__version__} has no torch.compile")
    torch.set_num_threads(args.threads)
    for length in (int(v) for v in args.lengths.split(",")):
        wall = time_point(args.model, length, args.batch, args.d, args.layers, args.min_seconds, args.device,
                          args.compile)
        print(json.dumps({"bench": "scaling", "impl": "pytorch", "torch": torch.__version__, "model": args.model,
                          "device": args.device, "L": length, "batch": args.batch, "d": args.d, "threads": args.threads,
                          "compiled": args.compile, "wall_ms": round(wall, 3)}), flush=True)


if __name__ == "__main__":
    main()
