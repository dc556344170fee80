#!/usr/bin/env python3
"""Turns lm-evaluation-harness-style multiple-choice JSON Lines into `ftmamba lm eval --tasks` docs.

    python3 scripts/lm_eval_to_tasks.py --task NAME [--split eval|fewshot] IN.jsonl > OUT.jsonl

Each input line is one doc with its context under one of query, ctx, context, question, premise; its choices
under choices, endings, options (a list of strings, or an object {"text": [...]} as some datasets store them); and
the right one under gold, label, answer (an index, a digit string, or a letter A, B, ...). Prints one doc per line:
{"task", "split", "context", "choices", "gold"}; a line it cannot map stops it with the line number and the keys.
"""
import argparse
import json
import sys

CONTEXT = ("query", "ctx", "context", "question", "premise")
CHOICES = ("choices", "endings", "options")
GOLD = ("gold", "label", "answer")


def first(doc, keys, what, n):
    for k in keys:
        if k in doc:
            return doc[k]
    sys.exit(f"line {n}: no {what} (looked for {', '.join(keys)}; the doc has {', '.join(doc)})")


def gold_index(value, count, n):
    if isinstance(value, str):
        value = value.strip()
        if len(value) == 1 and value.isalpha():
            value = ord(value.upper()) - ord("A")
        elif value.isdigit():
            value = int(value)
    if not isinstance(value, int) or not 0 <= value < count:
        sys.exit(f"line {n}: the gold answer {value!r} is not an index of the {count} choices")
    return value


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("input")
    ap.add_argument("--task", required=True)
    ap.add_argument("--split", default="eval", choices=["eval", "fewshot"])
    args = ap.parse_args()
    with open(args.input, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            doc = json.loads(line)
            choices = first(doc, CHOICES, "choices", n)
            if isinstance(choices, dict) and "text" in choices:
                choices = choices["text"]
            if not isinstance(choices, list) or len(choices) < 2 or not all(isinstance(c, str) for c in choices):
                sys.exit(f"line {n}: the choices are not a list of at least 2 strings")
            out = {"task": args.task, "split": args.split, "context": str(first(doc, CONTEXT, "context", n)),
                   "choices": choices, "gold": gold_index(first(doc, GOLD, "gold answer", n), len(choices), n)}
            print(json.dumps(out, ensure_ascii=False))


if __name__ == "__main__":
    main()
