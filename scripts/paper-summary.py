#!/usr/bin/env python3
"""Summarises `make paper` (reports/<preset>/comparison.json and reports/scaling/scaling.json) into
docs/RESULTS.md, copying the figures next to it. Standard library only."""
import argparse
import json
import math
import shutil
import statistics
from pathlib import Path

KS = (1, 5, 10)
METRICS = ("P", "R", "MRR", "HR")


def mean_std(values):
    m = statistics.fmean(values)
    s = statistics.stdev(values) if len(values) > 1 else 0.0
    return m, s


def fmt_ms(values, digits=4):
    m, s = mean_std(values)
    return f"{m:.{digits}f} ± {s:.{digits}f}" if len(values) > 1 else f"{m:.{digits}f}"


def runs_of(comp, model):
    return [r for r in comp["runs"] if r["model"] == model]


def preset_section(name, comp, fig_dir, docs_dir, lines):
    models = comp["models"]
    ds = comp["dataset"]
    lines.append(f"## {name}\n")
    lines.append(f"{ds['users']:,} users, {ds['items']:,} items, {ds['interactions']:,} interactions; "
                 f"seeds {', '.join(str(s) for s in comp['seeds'])}; command `{comp['command']}`; "
                 f"{comp.get('seconds', 0) / 60:.0f} min.\n")
    head = ["ranker"] + [f"{m}@{k}" for k in KS for m in METRICS]
    lines.append("| " + " | ".join(head) + " |")
    lines.append("|" + " --- |" * len(head))
    for model in models:
        runs = runs_of(comp, model)
        cells = [fmt_ms([r["test"]["full"][f"{m}@{k}"] for r in runs]) for k in KS for m in METRICS]
        lines.append(f"| {model} | " + " | ".join(cells) + " |")
    for ref, row in comp.get("references", {}).items():
        cells = [f"{row['full'][f'{m}@{k}']:.4f}" for k in KS for m in METRICS]
        lines.append(f"| {ref} | " + " | ".join(cells) + " |")
    lines.append("")
    lines.append("| model | parameters | s / epoch | train samples/s | encode samples/s | peak RSS MiB |")
    lines.append("| --- | ---: | ---: | ---: | ---: | ---: |")
    for model in models:
        eff = [r["efficiency"] for r in runs_of(comp, model)]
        avg = lambda key: statistics.fmean(e[key] for e in eff)
        lines.append(f"| {model} | {int(avg('parameters')):,} | {avg('seconds_per_epoch'):.1f} | "
                     f"{avg('train_samples_per_sec'):,.0f} | {avg('encode_samples_per_sec'):,.0f} | "
                     f"{avg('peak_rss_mib'):,.0f} |")
    lines.append("")
    src = Path(comp["_dir"]) / "figures"
    dst = fig_dir / name
    dst.mkdir(parents=True, exist_ok=True)
    for f in sorted(src.glob("*")):
        if f.suffix in (".svg", ".png"):
            shutil.copy2(f, dst / f.name)
    for f in sorted(dst.glob("*.svg")):
        lines.append(f"![{name}: {f.stem.replace('_', ' ')}]({f.relative_to(docs_dir).as_posix()})\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reports", default="reports")
    ap.add_argument("--out", default="docs/RESULTS.md")
    ap.add_argument("--figures", default="docs/figures/paper")
    ap.add_argument("--seconds", type=float, default=0.0)
    a = ap.parse_args()
    reports, out = Path(a.reports), Path(a.out)
    docs_dir = out.parent
    fig_dir = Path(a.figures)
    comps = {}
    for p in sorted(reports.glob("*/comparison.json")):
        c = json.loads(p.read_text())
        c["_dir"] = str(p.parent)
        comps[p.parent.name] = c
    order = [n for n in ("spotify", "hm", "vaccine") if n in comps] + sorted(n for n in comps if n not in ("spotify", "hm", "vaccine"))

    lines = ["# Results: the FT-Mamba paper, reproduced on CPU", ""]
    lines.append("Written by `make paper` (scripts/paper-summary.py) from the reports it leaves in `reports/`. "
                 f"Total run time: {a.seconds / 3600:.2f} h on the machine named in each report.")
    if comps:
        lines.append(f"Machine: {next(iter(comps.values())).get('machine', '?')}.")
    lines.append("")
    lines.append("## Targets\n")
    lines.append("| preset | FT-Mamba HR@10 | FT-Transformer HR@10 | Mamba ≥ Transformer | parameters (Mamba / Transformer) | "
                 "train samples/s (Mamba / Transformer) |")
    lines.append("| --- | ---: | ---: | :---: | ---: | ---: |")
    wins = 0
    for name in order:
        c = comps[name]
        if not {"ft-mamba", "ft-transformer"} <= set(c["models"]):
            continue
        hm = [r["test"]["full"]["HR@10"] for r in runs_of(c, "ft-mamba")]
        ht = [r["test"]["full"]["HR@10"] for r in runs_of(c, "ft-transformer")]
        pm = statistics.fmean(r["efficiency"]["parameters"] for r in runs_of(c, "ft-mamba"))
        pt = statistics.fmean(r["efficiency"]["parameters"] for r in runs_of(c, "ft-transformer"))
        sm = statistics.fmean(r["efficiency"]["train_samples_per_sec"] for r in runs_of(c, "ft-mamba"))
        st = statistics.fmean(r["efficiency"]["train_samples_per_sec"] for r in runs_of(c, "ft-transformer"))
        win = statistics.fmean(hm) >= statistics.fmean(ht)
        wins += win
        lines.append(f"| {name} | {fmt_ms(hm)} | {fmt_ms(ht)} | {'yes' if win else 'no'} | {pm:,.0f} / {pt:,.0f} | "
                     f"{sm:,.0f} / {st:,.0f} ({sm / st:.2f}×) |")
    lines.append("")
    lines.append(f"FT-Mamba matches or beats FT-Transformer on mean test HR@10 on {wins} of {len(order)} presets.\n")

    scaling = reports / "scaling" / "scaling.json"
    if scaling.exists():
        s = json.loads(scaling.read_text())
        lines.append("## Scaling in the number of feature tokens\n")
        lines.append(f"`{s['command']}`: batch {s['batch']}, d_token {s['d_token']}, {s['n_layers']} layers, "
                     "training-mode forward + backward, median time.\n")
        lines.append("| model | fitted slope (log time / log L) | from L |")
        lines.append("| --- | ---: | ---: |")
        for model, f in s["fits"].items():
            lines.append(f"| {model} | {f['slope']:.3f} | {f['slope_from_L']} |")
        lines.append("")
        models = list(dict.fromkeys(p["model"] for p in s["points"]))
        lengths = sorted({p["L"] for p in s["points"]})
        lines.append("| L | " + " | ".join(f"{m} ms" for m in models) + " |")
        lines.append("| ---: |" + " ---: |" * len(models))
        for L in lengths:
            row = [next((f"{p['total_ms']:.2f}" for p in s["points"] if p["model"] == m and p["L"] == L), "")
                   for m in models]
            lines.append(f"| {L} | " + " | ".join(row) + " |")
        lines.append("")
        dst = fig_dir / "scaling"
        dst.mkdir(parents=True, exist_ok=True)
        for f in sorted((scaling.parent / "figures").glob("*")):
            if f.suffix in (".svg", ".png"):
                shutil.copy2(f, dst / f.name)
        for f in sorted(dst.glob("*.svg")):
            lines.append(f"![scaling]({f.relative_to(docs_dir).as_posix()})\n")

    for name in order:
        preset_section(name, comps[name], fig_dir, docs_dir, lines)
    out.write_text("\n".join(lines) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
