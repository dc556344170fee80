#!/usr/bin/env python3
"""The PyTorch peer of `ftmamba bench finetune`: Hugging Face transformers' MambaForCausalLM (the layout of
the Mamba checkpoints: embedding, residual Mamba layers with RMSNorm, final norm, tied LM head) fine-tuned on
random tokens with next-token cross-entropy and AdamW, full or with PEFT's LoRA, in fp32 or under autocast.
Without mamba_ssm's CUDA kernels (not installable here) transformers runs its PyTorch path: the mamba.py
parallel scan in training (--scan mambapy, the default) or the step-by-step loop (--scan sequential).

The variants mirror ftmamba's: LoRA in a mixed precision holds the frozen projections and the embedding in
the low dtype, the adapters in float32. Each variant runs in its own process, so that its peak memory is its
own. One JSON line per measurement, with the same keys as ftmamba's."""
import argparse
import json
import subprocess
import sys
import time

SHAPES = {"130m": (24, 768), "370m": (48, 1024), "790m": (48, 1536), "1.4b": (48, 2048)}
# PEFT refuses out_proj (and conv1d) on Mamba models: mamba_ssm's fused kernel reads out_proj's weight
# directly. ftmamba adapts out_proj too, so its LoRA steps do more work than these.
TARGETS = ["in_proj", "x_proj", "dt_proj"]


def parse_shape(name):
    if name in SHAPES:
        return SHAPES[name]
    layers, d = name.split("x")
    return int(layers), int(d)


def measure(a, shape, length, variant):
    import importlib.util
    import torch
    import transformers
    from transformers import MambaConfig, MambaForCausalLM

    mode, precision = variant.split("-", 1)
    low = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}[precision]
    n_layers, d_model = parse_shape(shape)
    torch.manual_seed(a.seed)
    cfg = dict(vocab_size=a.vocab, hidden_size=d_model, num_hidden_layers=n_layers, state_size=16, expand=2,
               conv_kernel=4, tie_word_embeddings=True, use_cache=False, use_mambapy=a.scan == "mambapy")
    model = MambaForCausalLM(MambaConfig(**cfg)).to(a.device)
    model.train()
    if mode == "lora":
        from peft import LoraConfig, get_peft_model
        model = get_peft_model(model, LoraConfig(r=a.rank, lora_alpha=a.alpha, lora_dropout=0.0,
                                                 target_modules=TARGETS, bias="none"))
        if low is not None:
            with torch.no_grad():
                for name, p in model.named_parameters():
                    frozen_matrix = name.endswith("_proj.weight") or name.endswith("_proj.base_layer.weight") \
                        or name.endswith("embeddings.weight")
                    if frozen_matrix and not p.requires_grad:
                        p.data = p.data.to(low)
    trainable = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(trainable, lr=1e-4, weight_decay=0.0, fused=a.device.startswith("cuda"))
    scaler = torch.amp.GradScaler("cuda") if precision == "fp16" else None
    steps = a.warmup + a.steps
    tokens = torch.randint(a.vocab, (steps, a.batch, length), device=a.device)

    def sync():
        if a.device.startswith("cuda"):
            torch.cuda.synchronize()

    losses, times = [], []
    for step in range(steps):
        sync()
        t0 = time.perf_counter()
        x = tokens[step]
        with torch.autocast(device_type=a.device.split(":")[0], dtype=low or torch.float32, enabled=low is not None):
            logits = model(input_ids=x).logits[:, :-1]
        loss = torch.nn.functional.cross_entropy(logits.float().reshape(-1, a.vocab), x[:, 1:].reshape(-1))
        opt.zero_grad(set_to_none=True)
        if scaler:
            scaler.scale(loss).backward()
            scaler.unscale_(opt)
            torch.nn.utils.clip_grad_norm_(trainable, 1.0)
            scaler.step(opt)
            scaler.update()
        else:
            loss.backward()
            torch.nn.utils.clip_grad_norm_(trainable, 1.0)
            opt.step()
        losses.append(loss.detach())
        sync()
        if step >= a.warmup:
            times.append(time.perf_counter() - t0)
    times.sort()
    step_s = times[len(times) // 2]
    peak = torch.cuda.max_memory_allocated() / 2**20 if a.device.startswith("cuda") else 0.0
    ntok = a.batch * length
    return {"bench": "finetune", "impl": "pytorch-peer", "peer": f"transformers {transformers.__version__} "
            f"MambaForCausalLM ({a.scan} scan; mamba_ssm kernels "
            f"{'present' if importlib.util.find_spec('mamba_ssm') else 'absent'})"
            + (", peft LoRA" if mode == "lora" else ""), "torch": torch.__version__,
            "device": torch.cuda.get_device_name() if a.device.startswith("cuda") else "cpu",
            "shape": shape, "n_layers": n_layers, "d_model": d_model, "vocab": a.vocab, "length": length,
            "batch": a.batch, "variant": variant, "step_ms": step_s * 1000, "tokens_per_s": ntok / step_s,
            "peak_gpu_mib": peak, "gpu_kib_per_token": peak * 1024 / ntok, "kib_per_token": peak * 1024 / ntok,
            "trainable": sum(p.numel() for p in trainable), "total": sum(p.numel() for p in model.parameters()),
            "loss_first": losses[0].item(), "loss_last": losses[-1].item()}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--shapes", default="130m,370m")
    p.add_argument("--lengths", default="512,1024")
    p.add_argument("--variants", default="full-fp32,full-bf16,lora-fp32,lora-bf16")
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--vocab", type=int, default=50280)
    p.add_argument("--rank", type=int, default=8)
    p.add_argument("--alpha", type=float, default=16.0)
    p.add_argument("--scan", choices=["mambapy", "sequential"], default="mambapy")
    p.add_argument("--device", default="cuda")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--single", action="store_true", help="measure the first shape, length and variant here")
    a = p.parse_args()
    shapes, lengths, variants = a.shapes.split(","), [int(x) for x in a.lengths.split(",")], a.variants.split(",")
    if a.single:
        print(json.dumps(measure(a, shapes[0], lengths[0], variants[0])), flush=True)
        return
    for shape in shapes:
        for length in lengths:
            for variant in variants:
                argv = [sys.executable, __file__, "--single", "--shapes", shape, "--lengths", str(length),
                        "--variants", variant] + [f"--{k}={v}" for k, v in
                                                   [("batch", a.batch), ("steps", a.steps), ("warmup", a.warmup),
                                                    ("vocab", a.vocab), ("rank", a.rank), ("alpha", a.alpha),
                                                    ("scan", a.scan), ("device", a.device), ("seed", a.seed)]]
                r = subprocess.run(argv, capture_output=True, text=True)
                lines = [l for l in r.stdout.splitlines() if l.startswith("{")]
                if r.returncode == 0 and lines:
                    print(lines[-1], flush=True)
                else:
                    err = (r.stderr.strip().splitlines() or ["?"])[-1][:300]
                    print(json.dumps({"bench": "finetune", "impl": "pytorch-peer", "shape": shape, "length": length,
                                      "batch": a.batch, "variant": variant, "error": err}), flush=True)


if __name__ == "__main__":
    main()
