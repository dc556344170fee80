#!/usr/bin/env python3
"""The PyTorch peer of bench_cuda_kernels: the selective scan as PyTorch users run it without mamba_ssm's CUDA
extension (its selective_scan_ref: (batch, d_inner, L) layout, the (batch, d_inner, L, N) products
materialised, a Python loop over L), eager and under torch.compile, at the LM and tabular shapes, float32 and
bfloat16 inputs (the recurrence in float32, as the reference does). Prints JSON lines.

  python3 bench/pytorch_scan_peer.py [--compile-lm] [--shapes lm,tabular]
"""
import argparse
import json
import time

import torch

from pytorch_peer import selective_scan_ref as peer_scan  # the script's own folder is on sys.path


def selective_scan_ref(u, delta, A, B, C, D, z, delta_bias):
    """The peer's reference scan (pytorch_peer.py), its recurrence in float32; returns u's dtype."""
    return peer_scan(u.float(), delta.float(), A, B.float(), C.float(), D, z.float(), delta_bias).to(u.dtype)


def time_us(f, reps=5):
    f()
    torch.cuda.synchronize()
    rounds = []
    for _ in range(3):
        t0 = time.perf_counter()
        for _ in range(reps):
            f()
        torch.cuda.synchronize()
        rounds.append((time.perf_counter() - t0) / reps * 1e6)
    return sorted(rounds)[1]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--compile-lm", action="store_true", help="also compile at the LM shape (a 2048-step loop)")
    ap.add_argument("--shapes", default="lm,tabular",
                    help="comma-separated: lm (its eager backward alone takes seconds per call), tabular")
    args = ap.parse_args()
    dev = torch.device("cuda")
    shapes = [("lm", 8, 2048, 1536, 16), ("tabular", 2048, 13, 256, 16)]
    for name, b, L, d, n in [s for s in shapes if s[0] in args.shapes.split(",")]:
        for dtype in (torch.float32, torch.bfloat16):
            torch.manual_seed(0)
            leaf = lambda *s, dt=dtype: torch.randn(*s, device=dev, dtype=dt).requires_grad_(True)
            u, z, delta = leaf(b, d, L), leaf(b, d, L), leaf(b, d, L)
            B, C = leaf(b, n, L), leaf(b, n, L)
            A = (-torch.exp(torch.randn(d, n, device=dev) * 0.5)).requires_grad_(True)
            D, bias = leaf(d, dt=torch.float32), leaf(d, dt=torch.float32)
            dout = torch.randn(b, d, L, device=dev, dtype=dtype)
            modes = [("eager", selective_scan_ref)]
            if name == "tabular" or args.compile_lm:
                modes.append(("compile", torch.compile(selective_scan_ref)))
            for mode, fn in modes:
                def fwd():
                    with torch.no_grad():
                        fn(u, delta, A, B, C, D, z, bias)

                def fwd_bwd():
                    y = fn(u, delta, A, B, C, D, z, bias)
                    torch.autograd.grad(y, (u, delta, A, B, C, D, z, bias), dout)

                try:
                    f_us = time_us(fwd)
                    fb_us = time_us(fwd_bwd)
                    rec = {"forward_us": round(f_us, 1), "backward_us": round(fb_us - f_us, 1),
                           "forward_backward_us": round(fb_us, 1)}
                except Exception as e:  # noqa: BLE001 - report what failed, keep measuring the rest
                    rec = {"error": f"{type(e).__name__}: {str(e)[:200]}"}
                print(json.dumps({"bench": "selective_scan", "impl": f"pytorch-{mode}", "torch": torch.__version__,
                                  "shape": name, "batch": b, "L": L, "d_inner": d, "d_state": n,
                                  "dtype": str(dtype).replace("torch.", ""), **rec}), flush=True)
                torch.cuda.empty_cache()


if __name__ == "__main__":
    main()
