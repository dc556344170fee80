#!/usr/bin/env python3
"""Logits parity of `ftmamba lm score` with Hugging Face transformers' MambaForCausalLM, on the machine that has
transformers (the GPU machine of scripts/gpu-check; its stage `lm`). For each shape: a randomly initialised
MambaForCausalLM is written with save_pretrained (safetensors), transformers computes the logits of random token
ids, ftmamba loads the folder and writes its logits (--logits-out), and the two are compared: the maximum absolute
difference over the maximum absolute logit. Prints one JSON line per (shape, device).

    python3 scripts/hf_mamba_parity.py BUILD/ftmamba [--shapes tiny,130m] [--tokens 64] [--devices cpu,cuda]
"""
import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import torch
from safetensors.torch import load_file
from transformers import MambaConfig, MambaForCausalLM

SHAPES = {
    "tiny": dict(hidden_size=64, num_hidden_layers=2, vocab_size=1000, state_size=16),
    "130m": dict(hidden_size=768, num_hidden_layers=24, vocab_size=50280, state_size=16),
}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("binary")
    ap.add_argument("--shapes", default="tiny,130m")
    ap.add_argument("--tokens", type=int, default=64)
    ap.add_argument("--devices", default="cpu,cuda" if torch.cuda.is_available() else "cpu")
    args = ap.parse_args()
    failed = False
    for shape in args.shapes.split(","):
        torch.manual_seed(0)
        config = MambaConfig(**SHAPES[shape], expand=2, conv_kernel=4, use_bias=False, use_conv_bias=True,
                             tie_word_embeddings=True)
        model = MambaForCausalLM(config).eval()
        ids = torch.randint(config.vocab_size, (1, args.tokens))
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp) / "model"
            model.save_pretrained(folder, safe_serialization=True)
            for device in args.devices.split(","):
                with torch.no_grad():
                    want = model.to(device)(ids.to(device)).logits[0].float().cpu()
                out = Path(tmp) / f"logits-{device}.safetensors"
                subprocess.run([args.binary, "lm", "score", "--model", str(folder), "--device", device, "--ids",
                                ",".join(str(i) for i in ids[0].tolist()), "--logits-out", str(out), "--json"],
                               check=True, stdout=subprocess.DEVNULL)
                got = load_file(str(out))["logits"]
                rel = ((got - want).abs().max() / want.abs().max()).item()
                ok = rel < 1e-4
                failed |= not ok
                print(json.dumps({"check": "logits", "shape": shape, "device": device, "tokens": args.tokens,
                                  "vocab": config.vocab_size, "max_rel_error": rel, "target": 1e-4, "ok": ok,
                                  "transformers_path": "slow (torch; mamba_ssm is not installed)"}), flush=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
