#!/usr/bin/env python3
"""Logits parity of `ftmamba lm score` with Hugging Face transformers' MambaForCausalLM.

Three modes:
  run BINARY         on a machine with transformers and ftmamba (scripts/gpu-check, stage `lm`): for each shape, a
                     randomly initialised MambaForCausalLM is written with save_pretrained (safetensors),
                     transformers computes the logits of random token ids, ftmamba loads the folder and writes its
                     logits (--logits-out), on each device; compared by the maximum absolute difference over the
                     maximum absolute logit (target < 1e-4).
  write DIR          transformers side only: DIR/<shape>/model (the folder), DIR/<shape>/reference.json (the token
                     ids) and DIR/<shape>/logits-<device>.npy, for a machine with transformers but no ftmamba build.
  check DIR BINARY   ftmamba side only, against what `write` left (needs numpy, not transformers).
The weights are drawn by numpy's RandomState (stable across numpy versions) in named_parameters' order and listed
in DIR/<shape>/weights.json, so `check` rebuilds a model folder that `write` could not send back (the 130m shape's
516 MB) bit for bit from that list.
Each also checks greedy generation: the first 8 ids as the prompt, 64 new tokens from transformers' generate
(do_sample=False) against `ftmamba lm generate --ignore-eos`, which must be identical.
Prints one JSON line per (shape, device, check) and exits 1 when one misses the target.

    python3 scripts/hf_mamba_parity.py run BUILD/ftmamba [--shapes tiny,130m] [--tokens 64] [--devices cpu,cuda]
"""
import argparse
import json
import shutil
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

SHAPES = {
    "tiny": dict(hidden_size=64, num_hidden_layers=2, vocab_size=1000, state_size=16),
    "small": dict(hidden_size=256, num_hidden_layers=4, vocab_size=8000, state_size=16),
    "130m": dict(hidden_size=768, num_hidden_layers=24, vocab_size=50280, state_size=16),
    "370m": dict(hidden_size=1024, num_hidden_layers=48, vocab_size=50280, state_size=16),
}
TARGET = 1e-4
PROMPT, NEW_TOKENS = 8, 64  # greedy generation: the first 8 ids as the prompt, 64 new tokens


def draw_weights(spec, seed=0):
    """{name: float32 array} for [(name, shape), ...]: the same numbers on any machine with numpy.

    A_log and D as Mamba initialises them, dt_proj's bias the inverse softplus of a log-uniform step in
    [1e-3, 1e-1], norms 1 + N(0, 0.1), embeddings N(0, 0.02), other matrices N(0, 1 / fan_in), biases N(0, 0.02)."""
    rs = np.random.RandomState(seed)
    out = {}
    for name, shape in spec:
        if name.endswith("A_log"):
            a = np.log(np.tile(np.arange(1, shape[1] + 1, dtype=np.float64), (shape[0], 1)))
        elif name.endswith(".D"):
            a = np.ones(shape)
        elif name.endswith("dt_proj.bias"):
            dt = np.exp(rs.uniform(np.log(1e-3), np.log(1e-1), size=shape))
            a = dt + np.log(-np.expm1(-dt))
        elif "norm" in name:
            a = 1 + 0.1 * rs.standard_normal(shape)
        elif "embeddings" in name or len(shape) == 1:
            a = 0.02 * rs.standard_normal(shape)
        else:
            a = rs.standard_normal(shape) / np.sqrt(int(np.prod(shape[1:])))
        out[name] = a.astype(np.float32)
    return out


def write_safetensors(path, tensors):
    """The format's specification: 8-byte little-endian header length, JSON header, raw float32 data."""
    header, offset = {}, 0
    for name, a in tensors.items():
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [offset, offset + a.nbytes]}
        offset += a.nbytes
    blob = json.dumps(header).encode()
    blob += b" " * (-len(blob) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(blob)) + blob)
        for a in tensors.values():
            f.write(np.ascontiguousarray(a, dtype="<f4").tobytes())


def rebuild_model(folder, weights_json):
    """folder/model/model.safetensors from the list `write` left in weights_json."""
    model = folder / "model"
    meta = json.loads(Path(weights_json).read_text())
    write_safetensors(model / "model.safetensors", draw_weights(meta["parameters"], meta["seed"]))


def same_weights(folder):
    """Whether the file save_pretrained wrote holds exactly the tensors weights.json rebuilds."""
    sys.path.insert(0, str(Path(__file__).parent))
    from read_safetensors import read
    meta = json.loads((folder.parent / "weights.json").read_text())
    _, saved = read(str(folder / "model.safetensors"))
    drawn = draw_weights(meta["parameters"], meta["seed"])
    return set(saved) == set(drawn) and all(np.array_equal(saved[n][1], drawn[n]) for n in drawn)


def transformers_side(shape, tokens, devices, folder):
    """Writes the model to `folder`; returns (ids, {device: logits (L, vocab) float32 numpy})."""
    import torch
    from transformers import MambaConfig, MambaForCausalLM
    torch.manual_seed(0)
    config = MambaConfig(**SHAPES[shape], expand=2, conv_kernel=4, use_bias=False, use_conv_bias=True,
                         tie_word_embeddings=True)
    model = MambaForCausalLM(config).eval()
    spec = [(n, list(p.shape)) for n, p in model.named_parameters()]
    drawn = draw_weights(spec)
    with torch.no_grad():
        for n, p in model.named_parameters():
            p.copy_(torch.from_numpy(drawn[n]))
    (folder.parent / "weights.json").write_text(json.dumps({"seed": 0, "parameters": spec}))
    ids = torch.randint(config.vocab_size, (1, tokens))
    model.save_pretrained(folder, safe_serialization=True)
    logits, greedy = {}, {}
    for device in devices:
        with torch.no_grad():
            m = model.to(device)
            logits[device] = m(ids.to(device)).logits[0].float().cpu().numpy()
            prompt = ids[:, :PROMPT].to(device)
            out = m.generate(prompt, attention_mask=torch.ones_like(prompt), max_new_tokens=NEW_TOKENS,
                             do_sample=False, eos_token_id=None, pad_token_id=0)
            greedy[device] = out[0, PROMPT:].tolist()
    return ids[0].tolist(), logits, greedy


def ftmamba_side(binary, folder, ids, device, out):
    """ftmamba's logits of the folder, (L, vocab) float32 numpy."""
    sys.path.insert(0, str(Path(__file__).parent))
    from read_safetensors import read
    subprocess.run([binary, "lm", "score", "--model", str(folder), "--device", device, "--ids",
                    ",".join(str(i) for i in ids), "--logits-out", str(out), "--json"], check=True,
                   stdout=subprocess.DEVNULL)
    _, tensors = read(str(out))
    return np.asarray(tensors["logits"][1], dtype=np.float32)


def ftmamba_greedy(binary, folder, prompt, device):
    """ftmamba's greedy continuation of `prompt`: NEW_TOKENS ids."""
    out = subprocess.run([binary, "lm", "generate", "--model", str(folder), "--device", device, "--ids",
                          ",".join(str(i) for i in prompt), "--max-new-tokens", str(NEW_TOKENS), "--ignore-eos",
                          "--json"], check=True, capture_output=True, text=True).stdout
    return json.loads(out)["ids"]


def compare_greedy(shape, device, got, want, ours_on):
    same = sum(1 for a, b in zip(got, want) if a == b)
    first_diff = next((i for i, (a, b) in enumerate(zip(got, want)) if a != b), None)
    line = {"check": "greedy", "shape": shape, "transformers_device": device, "ftmamba_device": ours_on,
            "prompt_tokens": PROMPT, "new_tokens": len(want), "identical": got == want, "same_positions": same,
            "first_difference": first_diff, "ok": got == want}
    print(json.dumps(line), flush=True)
    return line["ok"]


def compare(shape, device, ids, got, want, ours_on):
    rel = float(np.abs(got.astype(np.float64) - want).max() / np.abs(want).max())
    line = {"check": "logits", "shape": shape, "transformers_device": device, "ftmamba_device": ours_on,
            "tokens": len(ids), "vocab": int(want.shape[1]), "max_rel_error": rel, "target": TARGET,
            "ok": rel < TARGET, "transformers_path": "slow (torch; mamba_ssm is not installed)"}
    print(json.dumps(line), flush=True)
    return line["ok"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("mode", choices=["run", "write", "check"])
    ap.add_argument("paths", nargs="+")
    ap.add_argument("--shapes", default="tiny,130m")
    ap.add_argument("--tokens", type=int, default=64)
    ap.add_argument("--devices", default=None)
    ap.add_argument("--drop-weights-over-mb", type=int, default=0,
                    help="write: leave out model.safetensors files larger than this (check rebuilds them)")
    args = ap.parse_args()
    ok = True
    if args.mode == "check":
        # Writes nothing under DIR (a test fixture): a model folder left without its weights is rebuilt in a
        # temporary folder, and ftmamba's logits go there too.
        root, binary = Path(args.paths[0]), args.paths[1]
        refs = sorted(root.glob("*/reference.json"))
        if not refs:
            sys.exit(f"{root}: no */reference.json (written by the write mode)")
        with tempfile.TemporaryDirectory() as tmp:
            for ref in refs:
                meta = json.loads(ref.read_text())
                model = ref.parent / "model"
                if not (model / "model.safetensors").exists():
                    shutil.copytree(model, Path(tmp) / meta["shape"] / "model")
                    rebuild_model(Path(tmp) / meta["shape"], ref.parent / "weights.json")
                    model = Path(tmp) / meta["shape"] / "model"
                for device in meta["devices"]:
                    want = np.load(ref.parent / f"logits-{device}.npy")
                    got = ftmamba_side(binary, model, meta["ids"], "cpu", Path(tmp) / "ours.safetensors")
                    ok &= compare(meta["shape"], device, meta["ids"], got, want, "cpu")
                    if "greedy" in meta:
                        ours = ftmamba_greedy(binary, model, meta["prompt"], "cpu")
                        ok &= compare_greedy(meta["shape"], device, ours, meta["greedy"][device], "cpu")
        sys.exit(0 if ok else 1)
    import torch
    devices = (args.devices or ("cpu,cuda" if torch.cuda.is_available() else "cpu")).split(",")
    for shape in args.shapes.split(","):
        if args.mode == "write":
            folder = Path(args.paths[0]) / shape
            folder.mkdir(parents=True, exist_ok=True)
            ids, logits, greedy = transformers_side(shape, args.tokens, devices, folder / "model")
            for device, l in logits.items():
                np.save(folder / f"logits-{device}.npy", l)
            (folder / "reference.json").write_text(json.dumps({"shape": shape, "ids": ids, "devices": devices,
                                                               "prompt": ids[:PROMPT], "greedy": greedy}))
            same = same_weights(folder / "model")
            print(json.dumps({"check": "weights_rebuilt_from_list", "shape": shape, "identical": same}), flush=True)
            ok &= same
            if args.drop_weights_over_mb and (folder / "model" / "model.safetensors").stat().st_size > args.drop_weights_over_mb << 20:
                (folder / "model" / "model.safetensors").unlink()  # check rebuilds it from weights.json
            print(json.dumps({"wrote": str(folder), "shape": shape, "devices": devices}), flush=True)
            continue
        with tempfile.TemporaryDirectory() as tmp:
            ids, logits, greedy = transformers_side(shape, args.tokens, devices, Path(tmp) / "model")
            for device in devices:
                got = ftmamba_side(args.paths[0], Path(tmp) / "model", ids, device, Path(tmp) / f"ours-{device}.st")
                ok &= compare(shape, device, ids, got, logits[device], device)
                ours = ftmamba_greedy(args.paths[0], Path(tmp) / "model", ids[:PROMPT], device)
                ok &= compare_greedy(shape, device, ours, greedy[device], device)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
