#!/usr/bin/env python3
"""The PyTorch peer of ftmamba's training and encoding benchmarks: the same two-tower model, loss and optimizer
step, written the fastest way a competent PyTorch user would: FT-Mamba's selective scan time-major (the
discretised terms computed once as contiguous (L, batch, d_inner, d_state) tensors, the recurrence a loop over
their unbound time steps, so no step slices a strided view), FT-Transformer as in rtdl with its attention
through scaled_dot_product_attention (where the installed torch has it; 1.13 has not), bf16 autocast, and
torch.compile (where the installed torch has it). Trained on the same dataset and the same encoded inputs (from
`ftmamba encode --with-inputs`). Prints JSON lines.

  python3 bench/pytorch_peer.py --users U.safetensors --items I.safetensors --data DIR --model ft-mamba
      [--device cuda] [--compile] [--amp bf16] [--scan time-major|reference]

Counting: a training step takes `batch` (user, item) pairs; train_samples_per_sec counts pairs on both sides. The
peer encodes each distinct user and item of a batch once; ftmamba's step keeps one shape for every batch (so that a
GPU step is one CUDA graph) and encodes every pair's user and item, 2 x batch rows, masking the duplicates in the
loss, which is then the same distinct-item softmax. So per pair the peer's towers do less work (fewer rows), in
the peer's favour; train_rows_per_sec reports the rows each side's towers encoded.
--scan reference runs mamba_ssm's selective_scan_ref form instead ((batch, d_inner, L) layout, a strided slice
per step), the peer this benchmark used before, for comparison.
"""
import argparse
import contextlib
import csv
import json
import math
import platform
import struct
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

# ---------------------------------------------------------------- inputs
TORCH_DTYPES = {"F64": torch.float64, "F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16,
                "I64": torch.int64, "I32": torch.int32, "U8": torch.uint8, "BOOL": torch.bool}


def read_safetensors(path):
    """(metadata, {name: torch tensor}) straight from the format's specification (torch alone, no numpy)."""
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    data = raw[8 + n:]
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        start, end = info["data_offsets"]
        t = torch.frombuffer(bytearray(data[start:end]), dtype=TORCH_DTYPES[info["dtype"]]) if end > start else \
            torch.empty(0, dtype=TORCH_DTYPES[info["dtype"]])
        tensors[name] = t.reshape(info["shape"])
    return header.get("__metadata__", {}), tensors


def read_pairs(data_dir, user_ids, item_ids):
    """Training pairs: every interaction but each user's last two (the ftmamba time split)."""
    import tomllib
    with open(f"{data_dir}/schema.toml", "rb") as f:
        schema = tomllib.load(f)["interactions"]
    uidx = {u: i for i, u in enumerate(user_ids)}
    iidx = {v: i for i, v in enumerate(item_ids)}
    per_user = {}
    with open(f"{data_dir}/interactions.csv", newline="") as f:
        for row in csv.DictReader(f):
            ts = float(row[schema["timestamp"]]) if "timestamp" in schema else 0.0
            per_user.setdefault(uidx[row[schema["user"]]], []).append((ts, iidx[row[schema["item"]]]))
    users, items = [], []
    for u, evs in per_user.items():
        evs.sort(key=lambda e: e[0])
        keep = evs[:-2] if len(evs) >= 3 else evs[:max(0, len(evs) - 1)]
        for _, i in keep:
            users.append(u)
            items.append(i)
    return torch.tensor(users), torch.tensor(items)


# ---------------------------------------------------------------- model
class Tokenizer(nn.Module):
    def __init__(self, n_num, n_cat, n_categories, d):
        super().__init__()
        s = d ** -0.5
        u = lambda *shape: nn.Parameter(torch.empty(*shape).uniform_(-s, s))
        self.num_weight, self.num_bias, self.num_missing = u(n_num, d), u(n_num, d), u(n_num, d)
        self.cat_embeddings, self.cat_bias, self.cls_token = u(max(n_categories, 1), d), u(n_cat, d), u(d)

    def forward(self, num, miss, cat):
        t_num = num.unsqueeze(-1) * self.num_weight + self.num_bias + miss.unsqueeze(-1) * self.num_missing
        t_cat = self.cat_embeddings[cat] + self.cat_bias
        cls = self.cls_token.expand(num.shape[0], 1, -1)
        return torch.cat([t_num, t_cat, cls], dim=1)


def selective_scan_ref(u, delta, A, B, C, D, z, delta_bias):
    """mamba_ssm's selective_scan_ref form. u, delta, z: (b, d, l); A: (d, n); B, C: (b, n, l)."""
    delta = F.softplus(delta + delta_bias[..., None])
    deltaA = torch.exp(torch.einsum("bdl,dn->bdln", delta, A))
    deltaB_u = torch.einsum("bdl,bnl,bdl->bdln", delta, B, u)
    x = u.new_zeros(u.shape[0], u.shape[1], A.shape[1])
    ys = []
    for i in range(u.shape[2]):
        x = deltaA[:, :, i] * x + deltaB_u[:, :, i]
        ys.append(torch.einsum("bdn,bn->bd", x, C[:, :, i]))
    y = torch.stack(ys, dim=2)
    return (y + u * D[:, None]) * F.silu(z)


def selective_scan_time_major(u, delta, A, B, C, D, z, delta_bias):
    """The same scan, time-major. u, delta, z: (b, d, l); A: (d, n); B, C: (b, n, l); returns (b, d, l)."""
    delta = F.softplus(delta + delta_bias[..., None])
    dt = delta.permute(2, 0, 1).contiguous()                         # (l, b, d)
    dA = torch.exp(dt.unsqueeze(-1) * A)                             # (l, b, d, n)
    dtu = dt * u.permute(2, 0, 1)                                    # (l, b, d)
    dBu = dtu.unsqueeze(-1) * B.permute(2, 0, 1).contiguous().unsqueeze(2)  # (l, b, d, n)
    Ct = C.permute(2, 0, 1).contiguous().unsqueeze(-1)               # (l, b, n, 1)
    x = u.new_zeros(u.shape[0], u.shape[1], A.shape[1])              # (b, d, n)
    ys = []
    for dA_t, dBu_t, C_t in zip(dA.unbind(0), dBu.unbind(0), Ct.unbind(0)):
        x = torch.addcmul(dBu_t, dA_t, x)
        ys.append(torch.bmm(x, C_t))                                 # (b, d, 1)
    y = torch.cat(ys, dim=2)                                         # (b, d, l)
    return (y + u * D[:, None]) * F.silu(z)


SCANS = {"time-major": selective_scan_time_major, "reference": selective_scan_ref}


class Mamba(nn.Module):
    def __init__(self, d_model, d_state=16, d_conv=4, expand=2, scan=selective_scan_time_major):
        super().__init__()
        self.scan = scan
        self.d_inner, self.d_state, self.rank = expand * d_model, d_state, math.ceil(d_model / 16)
        di = self.d_inner
        self.in_proj = nn.Linear(d_model, 2 * di, bias=False)
        self.conv1d = nn.Conv1d(di, di, d_conv, groups=di, padding=d_conv - 1)
        self.x_proj = nn.Linear(di, self.rank + 2 * d_state, bias=False)
        self.dt_proj = nn.Linear(self.rank, di)
        nn.init.uniform_(self.dt_proj.weight, -self.rank ** -0.5, self.rank ** -0.5)
        dt = torch.exp(torch.rand(di) * (math.log(0.1) - math.log(1e-3)) + math.log(1e-3)).clamp(min=1e-4)
        with torch.no_grad():
            self.dt_proj.bias.copy_(dt + torch.log(-torch.expm1(-dt)))
        self.A_log = nn.Parameter(torch.log(torch.arange(1, d_state + 1, dtype=torch.float32)).repeat(di, 1))
        self.D = nn.Parameter(torch.ones(di))
        self.out_proj = nn.Linear(di, d_model, bias=False)

    def forward(self, h):  # (b, l, d)
        b, l, _ = h.shape
        xz = self.in_proj(h).transpose(1, 2)  # (b, 2di, l)
        x, z = xz.chunk(2, dim=1)
        x = F.silu(self.conv1d(x)[..., :l])
        x_dbl = self.x_proj(x.transpose(1, 2).reshape(b * l, -1))
        dt, B, C = torch.split(x_dbl, [self.rank, self.d_state, self.d_state], dim=-1)
        dt = (self.dt_proj.weight @ dt.t()).view(self.d_inner, b, l).permute(1, 0, 2)
        B = B.view(b, l, -1).transpose(1, 2).contiguous()
        C = C.view(b, l, -1).transpose(1, 2).contiguous()
        y = self.scan(x, dt, -torch.exp(self.A_log), B, C, self.D, z, self.dt_proj.bias)
        return self.out_proj(y.transpose(1, 2))


class RMSNorm(nn.Module):
    def __init__(self, d, eps=1e-5):
        super().__init__()
        self.eps, self.weight = eps, nn.Parameter(torch.ones(d))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


class MambaLayer(nn.Module):
    def __init__(self, d, scan):
        super().__init__()
        self.mixer, self.norm = Mamba(d, scan=scan), RMSNorm(d)

    def forward(self, x):
        return x + self.mixer(self.norm(x))


class TransformerLayer(nn.Module):
    """rtdl block: pre-LayerNorm (none before the first block's attention), 8 heads, ReGLU FFN (d*4/3)."""

    def __init__(self, d, first, heads=8):
        super().__init__()
        self.heads = heads
        self.attention_norm = nn.Identity() if first else nn.LayerNorm(d)
        self.qkv, self.out = nn.Linear(d, 3 * d), nn.Linear(d, d)
        hidden = int(d * 4 / 3)
        self.ffn_norm, self.ffn1, self.ffn2 = nn.LayerNorm(d), nn.Linear(d, 2 * hidden), nn.Linear(hidden, d)

    def forward(self, x):
        b, l, d = x.shape
        q, k, v = self.qkv(self.attention_norm(x)).view(b, l, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        if hasattr(F, "scaled_dot_product_attention"):
            o = F.scaled_dot_product_attention(q, k, v)
        else:
            o = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(d // self.heads), dim=-1) @ v
        x = x + self.out(o.transpose(1, 2).reshape(b, l, d))
        a, g = self.ffn1(self.ffn_norm(x)).chunk(2, dim=-1)
        return x + self.ffn2(a * F.relu(g))


class Encoder(nn.Module):
    def __init__(self, kind, n_num, n_cat, n_categories, d=64, layers=2, embed=64, scan=selective_scan_time_major):
        super().__init__()
        self.kind = kind
        self.tokenizer = Tokenizer(n_num, n_cat, n_categories, d)
        if kind == "ft-mamba":
            self.layers = nn.ModuleList(MambaLayer(d, scan) for _ in range(layers))
            self.norm_f = RMSNorm(d)
        else:
            self.layers = nn.ModuleList(TransformerLayer(d, i == 0) for i in range(layers))
            self.norm_f = nn.LayerNorm(d)
        self.head = nn.Linear(d, embed)

    def forward(self, num, miss, cat):
        x = self.tokenizer(num, miss, cat)
        for layer in self.layers:
            x = layer(x)
        cls = self.norm_f(x[:, -1])
        if self.kind != "ft-mamba":
            cls = F.relu(cls)
        return F.normalize(self.head(cls), dim=-1)


def encode(tower, feats, rows):
    return tower(feats["numerical"][rows], feats["missing"][rows], feats["categorical"][rows])


# ---------------------------------------------------------------- benchmark
def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--users", required=True)
    ap.add_argument("--items", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--model", default="ft-mamba", choices=["ft-mamba", "ft-transformer"])
    ap.add_argument("--d", type=int, default=64)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--batch", type=int, default=512)
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--compile", action="store_true", help="torch.compile both towers")
    ap.add_argument("--amp", choices=["none", "bf16"], default="none", help="autocast the towers")
    ap.add_argument("--scan", choices=sorted(SCANS), default="time-major", help="FT-Mamba's scan formulation")
    args = ap.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(args.threads)
    dev = torch.device(args.device)
    umeta, users = read_safetensors(args.users)
    imeta, items = read_safetensors(args.items)
    pu, pi = read_pairs(args.data, json.loads(umeta["ids"]), json.loads(imeta["ids"]))
    counts = torch.bincount(pi, minlength=items["numerical"].shape[0]).float().clamp(min=0.5)
    log_q_all = torch.log(counts / len(pi)).to(dev)
    users = {k: v.to(dev) for k, v in users.items() if k != "embeddings"}
    items = {k: v.to(dev) for k, v in items.items() if k != "embeddings"}
    pu, pi = pu.to(dev), pi.to(dev)

    def tower(f):
        return Encoder(args.model, f["numerical"].shape[1], f["categorical"].shape[1],
                       int(f["categorical"].max()) + 1, args.d, args.layers, args.d, SCANS[args.scan]).to(dev)

    user_tower, item_tower = tower(users), tower(items)
    params = list(user_tower.parameters()) + list(item_tower.parameters())
    opt = torch.optim.AdamW(params, lr=1e-3, weight_decay=0.01)
    perm = torch.randperm(len(pu), device=dev)
    run_user, run_item = user_tower, item_tower
    if args.compile and not hasattr(torch, "compile"):
        ap.error(f"--compile: torch {torch.__version__} has no torch.compile")
    if args.compile:
        run_user, run_item = torch.compile(user_tower), torch.compile(item_tower)
    autocast = (lambda: torch.autocast(dev.type, dtype=torch.bfloat16)) if args.amp == "bf16" else contextlib.nullcontext

    def sync():
        if dev.type == "cuda":
            torch.cuda.synchronize()

    def step(i):
        idx = perm[(i * args.batch) % (len(pu) - args.batch):][:args.batch]
        u, it = pu[idx], pi[idx]
        uu, ucol = torch.unique(u, return_inverse=True)  # each distinct user / item encoded once
        ui, icol = torch.unique(it, return_inverse=True)
        with autocast():
            ue = encode(run_user, users, uu)[ucol]
            ie = encode(run_item, items, ui)
        logits = ue.float() @ ie.float().t() / 0.05 - log_q_all[ui]
        same_user = (u[:, None] == u[None, :]) & (icol[:, None] != icol[None, :])  # accidental hits
        hit = torch.zeros_like(logits, dtype=torch.bool)
        hit.scatter_(1, icol.expand(len(u), -1), same_user)
        loss = F.cross_entropy(logits.masked_fill(hit, -1e9), icol)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        return len(uu) + len(ui)

    for i in range(args.warmup):
        step(i)
    sync()
    t0 = time.perf_counter()
    encoded = 0
    for i in range(args.steps):
        encoded += step(args.warmup + i)
    sync()
    seconds = time.perf_counter() - t0
    train_sps, train_rps = args.steps * args.batch / seconds, encoded / seconds

    with torch.no_grad(), autocast():
        user_tower.eval(), item_tower.eval()
        rows = torch.arange(items["numerical"].shape[0], device=dev)
        for s in range(0, len(rows), 4096):  # warm-up (and compilation) over every batch shape
            encode(run_item, items, rows[s:s + 4096])
        sync()
        t0 = time.perf_counter()
        n = 0
        while time.perf_counter() - t0 < 3.0:
            for s in range(0, len(rows), 4096):
                encode(run_item, items, rows[s:s + 4096])
                n += min(4096, len(rows) - s)
            sync()
        enc_sps = n / (time.perf_counter() - t0)
    print(json.dumps({"impl": "pytorch", "torch": torch.__version__, "model": args.model, "d": args.d,
                      "layers": args.layers, "batch": args.batch, "threads": args.threads, "device": args.device,
                      "compile": args.compile, "amp": args.amp, "scan": args.scan if args.model == "ft-mamba" else None,
                      "attention": ("sdpa" if hasattr(F, "scaled_dot_product_attention") else "matmul-softmax")
                      if args.model == "ft-transformer" else None,
                      "params": sum(p.numel() for p in params), "train_samples_per_sec": round(train_sps, 1),
                      "train_rows_per_sec": round(train_rps, 1),
                      "encode_samples_per_sec": round(enc_sps, 1), "cpu": platform.processor() or platform.machine()}))


if __name__ == "__main__":
    main()
