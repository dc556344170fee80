#!/usr/bin/env python3
"""Writes the tokenizer fixtures that ftmamba's byte-level BPE is checked against (tests/fixtures/hf_tokenizer).

Needs Hugging Face `tokenizers` (the GPU machine has it; this machine does not). For each variant it trains a
byte-level BPE on the project's own docs with `tokenizers`, saves tokenizer.json, and records for a varied corpus
(the docs' lines, and hand-written strings: unicode, emoji, combining marks, runs of whitespace, code, numbers,
special tokens) the ids `tokenizers` gives and the text it decodes them to:

  OUT/<variant>/tokenizer.json
  OUT/<variant>/cases.jsonl     {"text": ..., "ids": [...], "decoded": ...} per line
  OUT/<variant>/speed.json      tokenizers' encode speed on the corpus, one thread, MB/s

Variants:
  neox    GPT-NeoX's pipeline (the Mamba checkpoints' tokenizer): NFC, ByteLevel without a prefix space, the
          <|endoftext|> and <|padding|> special tokens, and runs of spaces as normalized added tokens
  prefix  no normalizer, ByteLevel with add_prefix_space, merges saved as pairs, a BOS added by TemplateProcessing,
          an added token that strips the whitespace on its left

    python3 scripts/hf_tokenizer_fixture.py OUT [--vocab 3000]
"""
import argparse
import json
import time
import unicodedata
from pathlib import Path

TRICKY = [
    "",
    " ",
    "hello world",
    "Hello World!",
    "  leading and trailing  ",
    "tabs\tand\t\ttabs",
    "new\nlines\n\n\nand\r\nCRLF",
    "         nine spaces then text",
    "text then eight        ",
    "mixed \t \n whitespace \u00a0nbsp \u3000ideographic \u2028line-sep \u0085nel",
    "I'm sure you've seen they'll say it's what we'd done, SHE'S ALL'S",
    "don't DON'T Don't 's 't 're 've 'm 'll 'd",
    "numbers 0 12 345 6789 3.14159 -42 1e-9 1,000,000 ٣٤٥ ²³ ½",
    "def f(x):\n    return x ** 2  # square\n",
    "for (int i = 0; i < n; ++i) { sum += a[i] * b[i]; }",
    "<html><body class=\"x\">&amp;</body></html>",
    "emoji 😀😃😄 👍🏽 👨‍👩‍👧‍👦 🇫🇷 ❤️",
    "café naïve résumé",
    "cafe\u0301 nai\u0308ve (decomposed, NFC composes them)",
    "\u212b angstrom sign, \u00c5 A-ring, A\u030a A + ring",
    "日本語のテキスト、中文文本，한국어 텍스트",
    "Русский текст и Ελληνικά",
    "العربية نص مع أرقام ١٢٣",
    "हिन्दी पाठ",
    "zero\u200bwidth\u200cjoiners\u200d",
    "<|endoftext|>",
    "before<|endoftext|>after",
    "two <|endoftext|><|endoftext|> in a row",
    "<|padding|> pad <|endoftext|>",
    "<think>reasoning</think> done",
    "a  b   c    d     e      f       g",
    "ftmamba serve --run RUN --port 8080 --threads 64",
    "{\"item_id\": \"I9\", \"features\": {\"genre\": \"drama|crime\", \"price\": 3.5}}",
    "ÄÖÜ äöü ß ẞ",
    "\U0001d400\U0001d401 mathematical bold",
    "   ",
    "\n",
    "x" * 300,
    "ab" * 100,
]


def corpus_texts(repo):
    docs = sorted((repo / "docs").glob("*.md")) + [repo / "README.md"]
    training = [p.read_text(encoding="utf-8") for p in docs]
    lines = []
    for p in docs[:4]:
        lines += [l for l in p.read_text(encoding="utf-8").splitlines() if l.strip()][:120]
    paragraphs = [t[:2000] for t in training[:6]]
    return training, TRICKY + lines + paragraphs


def build(variant, training, vocab):
    from tokenizers import AddedToken, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
    tok = Tokenizer(models.BPE())
    if variant == "neox":
        tok.normalizer = normalizers.NFC()
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
        tok.post_processor = processors.ByteLevel(trim_offsets=False)
        specials = ["<|endoftext|>", "<|padding|>"]
    else:
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True, use_regex=True)
        specials = ["<s>", "</s>"]
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab, special_tokens=specials, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(training, trainer)
    if variant == "neox":
        tok.add_tokens([AddedToken(" " * n, normalized=True) for n in range(2, 25)])
        tok.add_tokens([AddedToken("<think>", normalized=False), AddedToken("</think>", normalized=False)])
    else:
        tok.post_processor = processors.TemplateProcessing(single="<s> $A", special_tokens=[("<s>", 0)])
        tok.add_tokens([AddedToken("<think>", lstrip=True, normalized=False)])
    return tok


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out")
    ap.add_argument("--vocab", type=int, default=3000)
    args = ap.parse_args()
    import tokenizers
    repo = Path(__file__).resolve().parent.parent
    training, cases = corpus_texts(repo)
    for variant in ("neox", "prefix"):
        folder = Path(args.out) / variant
        folder.mkdir(parents=True, exist_ok=True)
        tok = build(variant, training, args.vocab)
        if variant == "prefix":  # the merges as pairs, as tokenizers >= 0.20 writes them
            tok.save(str(folder / "tokenizer.json"))
        else:  # the merges as "a b" strings, as the published GPT-NeoX tokenizer.json has them
            j = json.loads(tok.to_str())
            j["model"]["merges"] = [" ".join(m) if isinstance(m, list) else m for m in j["model"]["merges"]]
            (folder / "tokenizer.json").write_text(json.dumps(j, ensure_ascii=False, indent=1), encoding="utf-8")
            tok = type(tok).from_file(str(folder / "tokenizer.json"))
        with open(folder / "cases.jsonl", "w", encoding="utf-8") as f:
            for text in cases:
                ids = tok.encode(text).ids
                f.write(json.dumps({"text": text, "ids": ids,
                                    "decoded": tok.decode(ids, skip_special_tokens=False)}, ensure_ascii=False) + "\n")
        blob = "\n".join(training)
        start = time.perf_counter()
        n = 0
        while time.perf_counter() - start < 2.0:
            tok.encode(blob)
            n += 1
        seconds = time.perf_counter() - start
        speed = {"variant": variant, "tokenizers": tokenizers.__version__, "bytes": len(blob.encode()),
                 "mb_per_s_one_call": len(blob.encode()) * n / seconds / 1e6,
                 "unicode": unicodedata.unidata_version}
        (folder / "speed.json").write_text(json.dumps(speed) + "\n")
        print(json.dumps({"wrote": str(folder), "cases": len(cases), **speed}), flush=True)


if __name__ == "__main__":
    main()
