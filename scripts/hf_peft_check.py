#!/usr/bin/env python3
"""Loads ftmamba's LoRA adapters with PEFT and compares the adapted logits with ftmamba's.

  python3 scripts/hf_peft_check.py BASE ADAPTERS OURS.safetensors IDS

BASE: a transformers MambaForCausalLM folder; ADAPTERS: `ftmamba lm finetune`'s output (adapter_config.json,
adapter_model.safetensors); OURS: `ftmamba lm score --model BASE --adapters ADAPTERS --ids IDS --logits-out OURS`.
Runs PeftModel.from_pretrained on the CPU (and the GPU when there is one) and prints one JSON line per device: the
maximum absolute difference of the logits over the largest logit (target < 1e-4), and how far the adapters moved
the logits from the base model's (so that a match is not the base model matching itself).
"""
import json
import sys

import torch
from peft import PeftModel
from safetensors.torch import load_file
from transformers import MambaForCausalLM

TARGET = 1e-4


def main():
    base_dir, adapters, ours_path, ids = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
    tokens = torch.tensor([[int(i) for i in ids.split(",")]])
    ours = load_file(ours_path)["logits"].double()
    ok = True
    for device in ["cpu"] + (["cuda"] if torch.cuda.is_available() else []):
        base = MambaForCausalLM.from_pretrained(base_dir, torch_dtype=torch.float32).to(device).eval()
        with torch.no_grad():
            plain = base(tokens.to(device)).logits[0].double().cpu()
        model = PeftModel.from_pretrained(base, adapters).to(device).eval()
        with torch.no_grad():
            adapted = model(tokens.to(device)).logits[0].double().cpu()
        rel = float((adapted - ours).abs().max() / adapted.abs().max())
        moved = float((adapted - plain).abs().max() / adapted.abs().max())
        line = {"check": "peft_adapters", "device": device, "tokens": tokens.shape[1], "max_rel_error": rel,
                "adapters_moved_logits_by": moved, "target": TARGET, "ok": rel < TARGET and moved > 1e-3,
                "targets": json.load(open(f"{adapters}/adapter_config.json"))["target_modules"]}
        print(json.dumps(line), flush=True)
        ok &= line["ok"]
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
