#!/usr/bin/env python3
"""Fine-tunes the same LoRA adapters with ftmamba and with transformers + PEFT, and compares the runs.

  python3 scripts/hf_peft_finetune_check.py BUILD/ftmamba [--device cuda] [--steps 30] [--lr 1e-3]

Both sides start from the same point and take the same steps, so the runs should agree step for step:
  - the base model: a randomly initialised MambaForCausalLM (4 layers, hidden 256, vocabulary 3,072) written by
    save_pretrained, with the GPT-NeoX-pipeline fixture tokenizer (tests/fixtures/hf_tokenizer/neox);
  - the data: 8 Alpaca records, all in one batch, so every step sees every record (no data order to match);
  - the adapters: rank 8, alpha 16, on in_proj and x_proj (the targets PEFT takes for Mamba). ftmamba draws them
    (`lm finetune --seed`) and writes them in PEFT's format after a step with a negligible learning rate (1e-30,
    as B starts at zero and A's gradient is then zero, the step leaves them as drawn); PEFT loads those with
    PeftModel.from_pretrained(is_trainable=True), and ftmamba draws the same ones again for its real run;
  - each step: the cross-entropy of the response tokens (ftmamba's template: the Alpaca prompt, then the output
    and the end token, tokenized apart and joined), their mean over the batch; gradient norm clipped to 1; AdamW
    (0.9, 0.999, eps 1e-8, no weight decay) at a constant --lr; fp32.
Prints one JSON line per step (both losses) and a summary: both losses fall, the largest difference between
them, and the final adapted logits of a held-out prompt (`lm score --adapters` against the PEFT model): the
maximum absolute difference over the largest logit.
"""
import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import torch
from peft import PeftModel
from safetensors.torch import load_file
from tokenizers import Tokenizer
from transformers import MambaConfig, MambaForCausalLM

REPO = Path(__file__).resolve().parent.parent
PROMPT = ("Below is an instruction that describes a task. Write a response that appropriately completes the "
          "request.\n\n### Instruction:\n{instruction}\n\n### Response:\n")
RECORDS = [
    ("Name a primary colour.", "Red."),
    ("What is two plus two?", "Four."),
    ("Give the opposite of hot.", "Cold."),
    ("Spell the word cat backwards.", "tac"),
    ("Which animal barks?", "A dog."),
    ("What comes after Monday?", "Tuesday."),
    ("Name the largest planet.", "Jupiter."),
    ("What is water made of?", "Hydrogen and oxygen."),
]
HELD_OUT = "Below is an instruction. What colour is the sky?"


def ftmamba(binary, *args):
    return subprocess.run([binary, *args], check=True, capture_output=True, text=True).stdout


def peer_batch(tokenizer, eos, device):
    rows, masks = [], []
    for instruction, output in RECORDS:
        prompt = tokenizer.encode(PROMPT.format(instruction=instruction), add_special_tokens=False).ids
        response = tokenizer.encode(output, add_special_tokens=False).ids + [eos]
        rows.append(prompt + response)
        masks.append([0] * len(prompt) + [1] * len(response))
    width = max(map(len, rows))
    ids = torch.tensor([r + [0] * (width - len(r)) for r in rows], device=device)
    target = torch.tensor([m + [0] * (width - len(m)) for m in masks], device=device, dtype=torch.bool)
    return ids, target


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("binary")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--lr", type=float, default=1e-3)
    args = ap.parse_args()
    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        config = MambaConfig(hidden_size=256, num_hidden_layers=4, vocab_size=3072, state_size=16, expand=2,
                             conv_kernel=4, use_bias=False, use_conv_bias=True, tie_word_embeddings=True,
                             eos_token_id=0, bos_token_id=0, pad_token_id=0)
        MambaForCausalLM(config).save_pretrained(tmp / "model", safe_serialization=True)
        shutil.copy(REPO / "tests/fixtures/hf_tokenizer/neox/tokenizer.json", tmp / "model" / "tokenizer.json")
        data = tmp / "data.jsonl"
        data.write_text("".join(json.dumps({"instruction": i, "output": o}) + "\n" for i, o in RECORDS))
        common = ["lm", "finetune", "--model", str(tmp / "model"), "--data", str(data), "--lora.targets", "in_proj",
                  "x_proj", "--batch", str(len(RECORDS)), "--seed", "3", "--device", args.device]
        ftmamba(args.binary, *common, "--out", str(tmp / "init"), "--epochs", "1", "--lr", "1e-30")
        ftmamba(args.binary, *common, "--out", str(tmp / "ours"), "--epochs", str(args.steps), "--lr", str(args.lr))
        ours = [json.loads(line)["loss"] for line in (tmp / "ours" / "train_log.jsonl").read_text().splitlines()]

        tokenizer = Tokenizer.from_file(str(tmp / "model" / "tokenizer.json"))
        base = MambaForCausalLM.from_pretrained(tmp / "model", torch_dtype=torch.float32).to(args.device)
        model = PeftModel.from_pretrained(base, tmp / "init", is_trainable=True).to(args.device).train()
        trainable = [p for p in model.parameters() if p.requires_grad]
        optimizer = torch.optim.AdamW(trainable, lr=args.lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)
        ids, target = peer_batch(tokenizer, 0, args.device)
        peer = []
        for step in range(args.steps):
            logits = model(ids).logits[:, :-1].float()  # position t predicts token t + 1
            mask = target[:, 1:]
            loss = torch.nn.functional.cross_entropy(logits[mask], ids[:, 1:][mask])
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(trainable, 1.0)
            optimizer.step()
            peer.append(loss.item())
            print(json.dumps({"step": step + 1, "ftmamba_loss": ours[step], "peft_loss": peer[-1]}), flush=True)

        held = tokenizer.encode(HELD_OUT, add_special_tokens=False).ids
        ftmamba(args.binary, "lm", "score", "--model", str(tmp / "model"), "--adapters", str(tmp / "ours"), "--ids",
                ",".join(map(str, held)), "--logits-out", str(tmp / "ours.safetensors"), "--device", args.device)
        mine = load_file(str(tmp / "ours.safetensors"))["logits"].double()
        model.eval()
        with torch.no_grad():
            theirs = model(torch.tensor([held], device=args.device)).logits[0].double().cpu()
        rel = float((mine - theirs).abs().max() / theirs.abs().max())
        summary = {"check": "lora_finetune_against_peft", "device": args.device, "steps": args.steps, "lr": args.lr,
                   "ftmamba_first_loss": ours[0], "ftmamba_last_loss": ours[-1], "peft_first_loss": peer[0],
                   "peft_last_loss": peer[-1], "max_loss_difference": max(abs(a - b) for a, b in zip(ours, peer)),
                   "final_logits_max_rel_difference": rel,
                   "both_fall": ours[-1] < 0.5 * ours[0] and peer[-1] < 0.5 * peer[0]}
        summary["ok"] = summary["both_fall"] and rel < 1e-2
        print(json.dumps(summary), flush=True)
        sys.exit(0 if summary["ok"] else 1)


if __name__ == "__main__":
    main()
