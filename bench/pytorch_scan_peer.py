#!/usr/bin/env python3
"""The PyTorch peers of bench_cuda_kernels: the selective scan as PyTorch users run it without mamba_ssm's CUDA
extension, in two forms: mamba_ssm's selective_scan_ref ((batch, d_inner, L) layout, a strided slice per step)
and the faster time-major form (pytorch_peer.py: contiguous (L, batch, d_inner, N) terms, a loop over their
unbound steps), eager and under torch.compile, at the LM and tabular shapes, float32 and bfloat16 inputs (the
recurrence in float32, as the reference does). Prints JSON lines; a kernel is compared with the fastest.

  python3 bench/pytorch_scan_peer.py [--compile-lm] [--shapes lm,tabular]
"""
import argparse
import json
import time

import torch

from pytorch_peer import SCANS  # the script's own folder is on sys.path


def in_float32(scan):
    """The scan with its recurrence in float32 (as the reference runs it); returns u's dtype."""
    def run(u, delta, A, B, C, D, z, delta_bias):
        return scan(u.float(), delta.float(), A, B.float(), C.float(), D, z.float(), delta_bias).to(u.dtype)
    return run


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
            modes = []
            for form, scan in sorted(SCANS.items()):
                modes.append((f"{form}-eager", in_float32(scan)))
                if name == "tabular" or args.compile_lm:
                    modes.append((f"{form}-compile", torch.compile(in_float32(scan))))
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
