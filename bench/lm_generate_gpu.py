#!/usr/bin/env python3
"""GPU generation speed of `ftmamba lm generate` beside transformers' `generate`, on one GPU, in one run.

For each shape, a randomly initialised MambaForCausalLM (transformers; fp32) is written with save_pretrained and
given the fixture tokenizer; then, at batch 1 and 16, greedy decoding of --tokens new tokens after a 16-token
prompt (every run decodes the same count: no end token), timed per side:
  ftmamba   `lm generate --device cuda --ignore-eos --json` (one prompt by --ids, a batch by --prompts); its own
            decode tokens/s (prefill excluded), median of --runs runs, each a fresh process.
  peer      transformers' `generate` (do_sample False, min_new_tokens = max_new_tokens) in fp32 and in bf16, after a
            warm-up; tokens/s over decode alone (the time of a generate of N tokens less that of a generate of 1).
            mamba_ssm and causal_conv1d are not installed on the machine, so transformers runs its PyTorch path.
Also the floor at batch 1: each new token reads every weight once, so tokens/s <= copy bandwidth / weight bytes
(the bandwidth: a device-to-device copy of 1 GiB, best of 5). One JSON line per measurement.

    python3 bench/lm_generate_gpu.py BUILD/ftmamba [--shapes 130m,370m] [--tokens 128] [--runs 3]
"""
import argparse
import json
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import torch
from transformers import MambaConfig, MambaForCausalLM

SHAPES = {"130m": dict(hidden_size=768, num_hidden_layers=24), "370m": dict(hidden_size=1024, num_hidden_layers=48)}
REPO = Path(__file__).resolve().parent.parent
PROMPT = list(range(100, 116))


def copy_bandwidth():
    a = torch.empty(1 << 28, dtype=torch.float32, device="cuda")
    b = torch.empty_like(a)
    best = float("inf")
    for _ in range(5):
        torch.cuda.synchronize()
        start = time.perf_counter()
        b.copy_(a)
        torch.cuda.synchronize()
        best = min(best, time.perf_counter() - start)
    return 2 * a.numel() * 4 / best


def ftmamba_rate(binary, folder, batch, tokens, runs):
    rates = []
    with tempfile.TemporaryDirectory() as tmp:
        prompts = Path(tmp) / "prompts.txt"
        prompts.write_text("\n".join(["the quick brown fox jumps over the lazy dog again"] * batch) + "\n")
        for _ in range(runs):
            cmd = [binary, "lm", "generate", "--model", str(folder), "--device", "cuda", "--max-new-tokens", str(tokens),
                   "--ignore-eos", "--json"]
            cmd += ["--ids", ",".join(map(str, PROMPT))] if batch == 1 else ["--prompts", str(prompts)]
            out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.splitlines()
            rates.append(json.loads(out[0])["decode_tokens_per_second"])
    return statistics.median(rates), rates


def peer_rate(model, batch, tokens, runs):
    ids = torch.tensor([PROMPT] * batch, device="cuda")
    mask = torch.ones_like(ids)

    def gen(n):
        torch.cuda.synchronize()
        start = time.perf_counter()
        with torch.no_grad():
            model.generate(ids, attention_mask=mask, max_new_tokens=n, min_new_tokens=n, do_sample=False,
                           pad_token_id=0)
        torch.cuda.synchronize()
        return time.perf_counter() - start

    gen(4)  # warm-up
    rates = []
    for _ in range(runs):
        decode = gen(tokens) - gen(1)
        rates.append(batch * (tokens - 1) / decode)
    return statistics.median(rates), rates


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("binary")
    ap.add_argument("--shapes", default="130m,370m")
    ap.add_argument("--tokens", type=int, default=128)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    bw = copy_bandwidth()
    print(json.dumps({"gpu": torch.cuda.get_device_name(), "torch": torch.__version__,
                      "copy_bandwidth_gb_s": round(bw / 1e9, 1)}), flush=True)
    for shape in args.shapes.split(","):
        torch.manual_seed(0)
        config = MambaConfig(**SHAPES[shape], vocab_size=50280, state_size=16, expand=2, conv_kernel=4,
                             use_bias=False, use_conv_bias=True, tie_word_embeddings=True)
        model = MambaForCausalLM(config).eval()
        n_params = sum(p.numel() for p in model.parameters())
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp) / "model"
            model.save_pretrained(folder, safe_serialization=True)
            shutil.copy(REPO / "tests/fixtures/hf_tokenizer/neox/tokenizer.json", folder / "tokenizer.json")
            for batch in (1, 16):
                med, all_runs = ftmamba_rate(args.binary, folder, batch, args.tokens, args.runs)
                line = {"shape": shape, "impl": "ftmamba", "precision": "fp32", "batch": batch, "tokens": args.tokens,
                        "tokens_per_s": round(med, 1), "runs": [round(r, 1) for r in all_runs]}
                if batch == 1:
                    floor = bw / (n_params * 4)
                    line.update(floor_tokens_per_s=round(floor, 1), fraction_of_floor=round(med / floor, 3))
                print(json.dumps(line), flush=True)
        for dtype, name in ((torch.float32, "fp32"), (torch.bfloat16, "bf16")):
            m = model.to("cuda", dtype)
            for batch in (1, 16):
                med, all_runs = peer_rate(m, batch, args.tokens, args.runs)
                line = {"shape": shape, "impl": "transformers", "path": "PyTorch (no mamba_ssm)", "precision": name,
                        "batch": batch, "tokens": args.tokens, "tokens_per_s": round(med, 1),
                        "runs": [round(r, 1) for r in all_runs]}
                if batch == 1:
                    floor = bw / (n_params * (4 if name == "fp32" else 2))
                    line.update(floor_tokens_per_s=round(floor, 1), fraction_of_floor=round(med / floor, 3))
                print(json.dumps(line), flush=True)
        del model, m
        torch.cuda.empty_cache()


if __name__ == "__main__":
    main()
