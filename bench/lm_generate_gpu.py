#!/usr/bin/env python3
"""GPU generation speed of `ftmamba lm generate` beside transformers' `generate`, on one GPU, in one run.

For each shape, a randomly initialised MambaForCausalLM (transformers; fp32) is written with save_pretrained and
given the fixture tokenizer; then, at batch 1 and 16, greedy decoding of --tokens new tokens after a 16-token
prompt (every run decodes the same count: no end token), timed per side:
  ftmamba   `lm generate --device cuda --ignore-eos --json` (one prompt by --ids, a batch by --prompts); its own
            decode tokens/s (prefill excluded), median of --runs runs, each a fresh process.
            Also with --precision bf16 (the matrices in bf16, the state fp32).
  ftmamba-per-layer  with --per-layer-kernels: each layer's four decode kernels instead of the one kernel that runs
            every layer (kernels/decode_layers_cuda.h); fp32 and bf16.
  ftmamba-eager  fp32 with --no-cuda-graph: each decode step's kernels launched one by one.
  peer      transformers' `generate` (do_sample False, min_new_tokens = max_new_tokens) in fp32 and in bf16, after a
            warm-up; tokens/s over decode alone (the time of a generate of N tokens less that of a generate of 1).
            mamba_ssm and causal_conv1d are not installed on the machine, so transformers runs its PyTorch path.
  graph peer  what a PyTorch user without mamba_ssm would write for speed: the recurrent step in plain PyTorch on
            the same weights (mamba_ssm's selective_state_update formulation: the conv window and the SSM state
            updated in place), greedy, the whole step captured once with torch.cuda.graph and replayed per token;
            fp32 and bf16 (the state kept in fp32). Checked against transformers' greedy tokens before it is timed.
Also the floor at batch 1: each new token reads every weight once, so tokens/s <= copy bandwidth / weight bytes
(the bandwidth: a device-to-device copy of 1 GiB, best of 5). One JSON line per measurement.

    python3 bench/lm_generate_gpu.py BUILD/ftmamba [--shapes 130m,370m] [--tokens 128] [--runs 3] [--batches 1,16]
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


def ftmamba_rate(binary, folder, batch, tokens, runs, graph=True, precision="fp32", fused=True):
    rates = []
    with tempfile.TemporaryDirectory() as tmp:
        prompts = Path(tmp) / "prompts.txt"
        prompts.write_text("\n".join(["the quick brown fox jumps over the lazy dog again"] * batch) + "\n")
        for _ in range(runs):
            cmd = [binary, "lm", "generate", "--model", str(folder), "--device", "cuda", "--max-new-tokens", str(tokens),
                   "--ignore-eos", "--json", "--precision", precision] + ([] if graph else ["--no-cuda-graph"])
            cmd += [] if fused else ["--per-layer-kernels"]
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


class GraphedStep:
    """Greedy decode of a MambaForCausalLM's weights in plain PyTorch, one token a replay of a captured CUDA graph."""

    def __init__(self, model, batch, dtype):
        self.m, self.dtype = model, dtype
        cfg = model.config
        self.layers = []
        for layer in model.backbone.layers:
            mx = layer.mixer
            self.layers.append(dict(
                norm=layer.norm.weight.to(dtype), in_w=mx.in_proj.weight.to(dtype),
                conv_w=mx.conv1d.weight[:, 0, :].to(dtype), conv_b=mx.conv1d.bias.to(dtype),
                x_w=mx.x_proj.weight.to(dtype), dt_w=mx.dt_proj.weight.to(dtype), dt_b=mx.dt_proj.bias.float(),
                A=-torch.exp(mx.A_log.float()), D=mx.D.float(), out_w=mx.out_proj.weight.to(dtype)))
        self.emb = model.backbone.embeddings.weight.to(dtype)
        self.norm_f = model.backbone.norm_f.weight.to(dtype)
        self.eps, self.r, self.n = cfg.layer_norm_epsilon, mx.time_step_rank, cfg.state_size
        di, k = mx.intermediate_size, cfg.conv_kernel
        self.conv = [torch.zeros(batch, di, k, device="cuda", dtype=dtype) for _ in self.layers]
        self.ssm = [torch.zeros(batch, di, self.n, device="cuda", dtype=torch.float32) for _ in self.layers]
        self.token = torch.zeros(batch, dtype=torch.long, device="cuda")
        self.graph = None

    def rms(self, x, w):
        xf = x.float()
        return (xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + self.eps)).to(self.dtype) * w

    def step(self):
        x = self.emb[self.token]  # (batch, d)
        for p, conv, ssm in zip(self.layers, self.conv, self.ssm):
            xz = torch.nn.functional.linear(self.rms(x, p["norm"]), p["in_w"])
            xi, z = xz.chunk(2, dim=-1)
            conv.copy_(torch.roll(conv, -1, dims=-1))
            conv[:, :, -1] = xi
            xc = torch.nn.functional.silu((conv * p["conv_w"]).sum(-1) + p["conv_b"])
            dbl = torch.nn.functional.linear(xc, p["x_w"])
            dt, B, C = torch.split(dbl, [self.r, self.n, self.n], dim=-1)
            dt = torch.nn.functional.softplus(torch.nn.functional.linear(dt, p["dt_w"]).float() + p["dt_b"])
            ssm.mul_(torch.exp(dt.unsqueeze(-1) * p["A"])).add_((dt * xc.float()).unsqueeze(-1) * B.float().unsqueeze(1))
            y = torch.einsum("bdn,bn->bd", ssm, C.float()) + p["D"] * xc.float()
            y = (y * torch.nn.functional.silu(z.float())).to(self.dtype)
            x = x + torch.nn.functional.linear(y, p["out_w"])
        return torch.nn.functional.linear(self.rms(x, self.norm_f), self.emb).argmax(-1)

    def decode(self, prompt, tokens):
        """Feeds the prompt a token at a time (the same state as a prefill), then `tokens` greedy tokens."""
        for c in self.conv:
            c.zero_()
        for h in self.ssm:
            h.zero_()
        with torch.no_grad():
            if self.graph is None:
                s = torch.cuda.Stream()
                s.wait_stream(torch.cuda.current_stream())
                with torch.cuda.stream(s):
                    for _ in range(3):
                        self.step()
                torch.cuda.current_stream().wait_stream(s)
                for c in self.conv:
                    c.zero_()
                for h in self.ssm:
                    h.zero_()
                self.graph = torch.cuda.CUDAGraph()
                with torch.cuda.graph(self.graph):
                    self.next = self.step()
            for t in prompt:
                self.token.fill_(t)
                self.graph.replay()
            out = []
            torch.cuda.synchronize()
            start = time.perf_counter()
            for _ in range(tokens):
                out.append(self.next.clone())
                self.token.copy_(self.next)
                self.graph.replay()
                out[-1] = out[-1].cpu()  # the host sees each token, as a streaming generate does
            torch.cuda.synchronize()
            return torch.stack(out, 1), time.perf_counter() - start


def graph_peer_rate(model, batch, tokens, runs, dtype, want):
    """want: transformers' 16 greedy tokens in fp32 after PROMPT, (16,)."""
    peer = GraphedStep(model, batch, dtype)
    got, _ = peer.decode(PROMPT, 16)
    same = (got == want.unsqueeze(0)).float().mean().item()
    rates = []
    for _ in range(runs):
        _, seconds = peer.decode(PROMPT, tokens)
        rates.append(batch * tokens / seconds)
    return statistics.median(rates), rates, same


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("binary")
    ap.add_argument("--shapes", default="130m,370m")
    ap.add_argument("--tokens", type=int, default=128)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--batches", default="1,16")
    args = ap.parse_args()
    batches = [int(b) for b in args.batches.split(",")]
    bw = copy_bandwidth()
    print(json.dumps({"gpu": torch.cuda.get_device_name(), "torch": torch.__version__,
                      "copy_bandwidth_gb_s": round(bw / 1e9, 1)}), flush=True)
    for shape in args.shapes.split(","):
        torch.manual_seed(0)
        config = MambaConfig(**SHAPES[shape], vocab_size=50280, state_size=16, expand=2, conv_kernel=4,
                             use_bias=False, use_conv_bias=True, tie_word_embeddings=True)
        model = MambaForCausalLM(config).eval()
        n_params = sum(p.numel() for p in model.parameters())

        def report(shape, impl, precision, batch, med, all_runs, **extra):
            """One JSON line; at batch 1 with the floor: copy bandwidth / the weight bytes of `precision`."""
            line = {"shape": shape, "impl": impl, **extra, "precision": precision, "batch": batch,
                    "tokens": args.tokens, "tokens_per_s": round(med, 1), "runs": [round(r, 1) for r in all_runs]}
            if batch == 1:
                floor = bw / (n_params * (4 if precision == "fp32" else 2))
                line.update(floor_tokens_per_s=round(floor, 1), fraction_of_floor=round(med / floor, 3))
            print(json.dumps(line), flush=True)
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp) / "model"
            model.save_pretrained(folder, safe_serialization=True)
            shutil.copy(REPO / "tests/fixtures/hf_tokenizer/neox/tokenizer.json", folder / "tokenizer.json")
            for batch in batches:
                for impl, graph, precision, fused in (("ftmamba", True, "fp32", True), ("ftmamba", True, "bf16", True),
                                                     ("ftmamba-per-layer", True, "fp32", False),
                                                     ("ftmamba-per-layer", True, "bf16", False),
                                                     ("ftmamba-eager", False, "fp32", True)):
                    med, all_runs = ftmamba_rate(args.binary, folder, batch, args.tokens, args.runs, graph, precision,
                                                 fused)
                    report(shape, impl, precision, batch, med, all_runs)
        model = model.to("cuda")
        with torch.no_grad():
            ids = torch.tensor([PROMPT], device="cuda")
            want = model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=16, min_new_tokens=16,
                                  do_sample=False, pad_token_id=0)[0, len(PROMPT):].cpu()
        for dtype, name in ((torch.float32, "fp32"), (torch.bfloat16, "bf16")):
            for batch in batches:
                med, all_runs, same = graph_peer_rate(model, batch, args.tokens, args.runs, dtype, want)
                report(shape, "pytorch-graph", name, batch, med, all_runs, path="plain PyTorch step, torch.cuda.graph",
                       same_tokens_as_transformers=round(same, 3))
        for dtype, name in ((torch.float32, "fp32"), (torch.bfloat16, "bf16")):
            m = model.to("cuda", dtype)
            for batch in batches:
                med, all_runs = peer_rate(m, batch, args.tokens, args.runs)
                report(shape, "transformers", name, batch, med, all_runs, path="PyTorch (no mamba_ssm)")
        del model, m
        torch.cuda.empty_cache()


if __name__ == "__main__":
    main()
