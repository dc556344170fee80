#!/usr/bin/env python3
"""Summarises `make paper` (reports/<preset>/comparison.json and reports/scaling/scaling.json) into
docs/RESULTS.md, copying the figures next to it. Standard library only."""
import argparse
import json
import math
import re
import shutil
import statistics
import subprocess
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


def run_seconds(comp):
    """Sum of each run's own wall time (compare.json in its run folder), reused runs included."""
    total = 0.0
    for r in comp["runs"]:
        f = Path(comp["_dir"]) / r["run_dir"] / "compare.json"  # run_dir is relative to the report
        if f.exists():
            total += json.loads(f.read_text()).get("wall_seconds", 0.0)
    return total


def loglog_slope(points):
    """Least-squares slope of log(time) against log(L) over (L, ms) pairs."""
    xs = [math.log(L) for L, _ in points]
    ys = [math.log(ms) for _, ms in points]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)


def parameter_counts(binary, data_dir, models, widths):
    """{(model, d): params} from `ftmamba train --dry-run` on the given dataset."""
    counts = {}
    for model in models:
        for d in widths:
            out = subprocess.run([binary, "train", "--data", data_dir, "--model", model, "--out", "/nonexistent",
                                  "--dry-run", "--set", f"model.d_token={d}", "--set", f"model.embed_dim={d}"],
                                 capture_output=True, text=True, check=True).stdout
            m = re.search(r"model \S+: (\d+) parameters", out)
            counts[(model, d)] = int(m.group(1))
    return counts


def preset_section(name, comp, fig_dir, docs_dir, lines):
    models = comp["models"]
    ds = comp["dataset"]
    lines.append(f"## {name}\n")
    lines.append(f"{ds['users']:,} users, {ds['items']:,} items, {ds['interactions']:,} interactions; "
                 f"seeds {', '.join(str(s) for s in comp['seeds'])}; command `{comp['command']}`; "
                 f"{run_seconds(comp) / 60:.0f} min of training runs.\n")
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
    ap.add_argument("--binary", default="build/ftmamba", help="for the parameter counts (train --dry-run)")
    ap.add_argument("--notes", default="docs/results-notes.md",
                    help="hand-written reading of the results, placed above the generated tables (kept across runs)")
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
                 f"Run time of the `make paper` that wrote it: {a.seconds / 3600:.2f} h; the training runs "
                 f"themselves took {sum(run_seconds(c) for c in comps.values()) / 3600:.2f} h (each run's wall "
                 "time, counted even when a resumed `make paper` reused it).")
    if comps:
        lines.append(f"Machine: {next(iter(comps.values())).get('machine', '?')}.")
    lines.append("")
    notes = Path(a.notes)
    if notes.exists():
        lines.append(notes.read_text().rstrip() + "\n")
    lines.append("## Targets\n")
    lines.append("| preset | FT-Mamba HR@10 | FT-Transformer HR@10 | Mamba ≥ Transformer | parameters (Mamba / Transformer) | "
                 "train samples/s (Mamba / Transformer) |")
    lines.append("| --- | ---: | ---: | :---: | ---: | ---: |")
    wins = compared = fewer = 0
    speed = {}  # preset -> FT-Mamba / FT-Transformer train samples/s
    for name in order:
        c = comps[name]
        if not {"ft-mamba", "ft-transformer"} <= set(c["models"]):
            continue
        compared += 1
        hm = [r["test"]["full"]["HR@10"] for r in runs_of(c, "ft-mamba")]
        ht = [r["test"]["full"]["HR@10"] for r in runs_of(c, "ft-transformer")]
        pm = statistics.fmean(r["efficiency"]["parameters"] for r in runs_of(c, "ft-mamba"))
        pt = statistics.fmean(r["efficiency"]["parameters"] for r in runs_of(c, "ft-transformer"))
        sm = statistics.fmean(r["efficiency"]["train_samples_per_sec"] for r in runs_of(c, "ft-mamba"))
        st = statistics.fmean(r["efficiency"]["train_samples_per_sec"] for r in runs_of(c, "ft-transformer"))
        win = statistics.fmean(hm) >= statistics.fmean(ht)
        wins += win
        fewer += pm < pt
        speed[name] = sm / st
        lines.append(f"| {name} | {fmt_ms(hm)} | {fmt_ms(ht)} | {'yes' if win else 'no'} | {pm:,.0f} / {pt:,.0f} | "
                     f"{sm:,.0f} / {st:,.0f} ({sm / st:.2f}×) |")
    lines.append("")
    verdict = lambda ok: "**met**" if ok else "**not met**"
    lines.append(f"- HR@10: FT-Mamba matches or beats FT-Transformer on {wins} of {compared} presets compared, with "
                 f"fewer parameters on {fewer} of {compared}: {verdict(compared >= 3 and wins >= 2 and fewer == compared)} "
                 "(the target asks for at least 2 of the 3 presets, at fewer parameters).")
    if speed:
        # The target names the demo configuration: the spotify preset with the default model and training.
        demo = "spotify" if "spotify" in speed else next(iter(speed))
        others = ", ".join(f"{v:.2f}× on {n}" for n, v in speed.items() if n != demo)
        lines.append(f"- Training samples/s in these runs (wall clock, one run after another): FT-Mamba / FT-Transformer = "
                     f"{speed[demo]:.2f}× on {demo}, the demo configuration: {verdict(speed[demo] >= 1.0)}"
                     + (f"; {others}." if others else ".")
                     + " docs/BENCHMARKS.md has the side-by-side measurement (the models alternated, seven times each).")
    lines.append("")

    if Path(a.binary).exists() and order:
        data_dir = comps[order[0]]["dataset"].get("dir")
        if data_dir:
            models = ["ft-mamba", "ft-transformer", "ft-transformer-stock"]
            counts = parameter_counts(a.binary, data_dir, models, (64, 128))
            lines.append(f"## Parameters at equal d_token ({order[0]} data, both towers, embedding size = d_token)\n")
            lines.append("| model | d_token 64 | d_token 128 |")
            lines.append("| --- | ---: | ---: |")
            for m in models:
                lines.append(f"| {m} | {counts[(m, 64)]:,} | {counts[(m, 128)]:,} |")
            lines.append("")
            lines.append("`ft-transformer` is the rtdl block (pre-LayerNorm, ReGLU of width d·4/3); "
                         "`ft-transformer-stock` is torch's post-norm `TransformerEncoderLayer` with a ReLU "
                         "feed-forward of width 2048, whose layer at d = 128 holds 593,024 parameters (two: 1,186,048, "
                         "the embedder size an unofficial summary of the paper gives). Counts from "
                         "`ftmamba train --dry-run`.\n")

    scaling = reports / "scaling" / "scaling.json"
    if scaling.exists():
        s = json.loads(scaling.read_text())
        lines.append("## Scaling in the number of feature tokens\n")
        lines.append(f"`{s['command']}`: batch {s['batch']}, d_token {s['d_token']}, {s['n_layers']} layers, "
                     "training-mode forward + backward, median time.\n")
        lines.append("| model | fitted slope (log time / log L) | from L |")
        lines.append("| --- | ---: | ---: |")
        local = {}
        for model, f in s["fits"].items():
            pts = [(p["L"], p["total_ms"]) for p in s["points"] if p["model"] == model and 512 <= p["L"] <= 1024]
            local[model] = loglog_slope(pts) if len(pts) >= 2 else float("nan")
            lines.append(f"| {model} | {f['slope']:.3f} | {f['slope_from_L']} |")
        lines.append("")
        fm, ft = s["fits"].get("ft-mamba"), s["fits"].get("ft-transformer")
        if fm and ft:
            ok = fm["slope"] <= 1.15 and ft["slope"] >= 1.5 and local["ft-transformer"] >= 1.5
            lines.append(f"Target (FT-Mamba slope ≤ 1.15 at L ≥ 512, attention clearly super-linear): {verdict(ok)}. "
                         f"Over L = 512 to 1024 alone the slopes are {local['ft-mamba']:.2f} (FT-Mamba) and "
                         f"{local['ft-transformer']:.2f} (FT-Transformer); where the Transformer's step turns "
                         "memory-bound (its attention scores outgrow the caches and then RAM bandwidth), its time "
                         "jumps and the full-range slope exceeds 2, so read that number as 'super-linear', not as an "
                         "exponent.\n")
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
