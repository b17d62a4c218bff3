#!/usr/bin/env python3
"""WordNet 3.0 (Debian package wordnet-base) as JSONL documents for `embtune pairs`.

One document per synset: {"title": its lemmas, "text": its definition and usage examples}.
`embtune pairs --methods title-body,ict` then makes (lemmas -> definition) and (one sentence ->
the rest) pairs from them; see scripts/starter/make_starter.sh. Also writes, with --sentences,
one line per document text for `embtune train-tokenizer`.

Not a WordNet library: it reads only the data.* files' lemma, pointer and gloss fields
(wndb(5WN)), and leaves out the members of the computing topic domains, so that the starter
model does not see the demo's domain (FOLDOC, computing).

Errors (missing file, malformed line) name the file and line, exit 1, and write nothing.
"""
import argparse
import json
import os
import re
import sys

PARTS = ("noun", "verb", "adj", "adv")
# Topic-domain synsets (data.noun offsets) whose members are left out, with the domains themselves:
# computer science / computing, computer programming, computer, internet.
COMPUTING_DOMAINS = {"06128570", "00928947", "03082979", "03580615"}
ADJ_MARKER = re.compile(r"\((?:a|p|ip)\)$")
EXAMPLE = re.compile(r'"([^"]*)"')


class FormatError(Exception):
    pass


def parse_line(line, path, lineno):
    """Returns (offset, lemmas, domain offsets, definition, examples) of one data.* line."""
    head, bar, gloss = line.partition(" | ")
    if not bar:
        raise FormatError(f"{path}:{lineno}: no ' | ' before the gloss")
    f = head.split()
    try:
        offset = f[0]
        w_cnt = int(f[3], 16)
        lemmas = []
        i = 4
        for _ in range(w_cnt):
            lemmas.append(ADJ_MARKER.sub("", f[i]).replace("_", " "))
            i += 2
        p_cnt = int(f[i])
        i += 1
        domains = set()
        for _ in range(p_cnt):
            symbol, target = f[i], f[i + 1]
            if symbol == ";c":
                domains.add(target)
            i += 4
    except (IndexError, ValueError):
        raise FormatError(f"{path}:{lineno}: malformed synset line (wndb(5WN) fields)")
    if not re.fullmatch(r"[0-9]{8}", offset) or not lemmas:
        raise FormatError(f"{path}:{lineno}: malformed synset line (offset or lemmas)")
    gloss = gloss.strip()
    quote = gloss.find('"')
    definition = (gloss if quote < 0 else gloss[:quote]).strip().rstrip(";").strip()
    examples = [] if quote < 0 else [e.strip() for e in EXAMPLE.findall(gloss[quote:]) if e.strip()]
    return offset, lemmas, domains, definition, examples


def sentence(s):
    s = s.strip()
    return s if not s or s[-1] in ".!?" else s + "."


def read_synsets(wordnet_dir, parts):
    for part in parts:
        path = os.path.join(wordnet_dir, "data." + part)
        try:
            f = open(path, encoding="utf-8")
        except OSError as e:
            raise FormatError(f"{path}: cannot open ({e.strerror}); install the Debian package wordnet-base")
        with f:
            for lineno, line in enumerate(f, 1):
                if line.startswith("  "):  # the licence header
                    continue
                yield (part,) + parse_line(line.rstrip("\n"), path, lineno)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--wordnet-dir", default="/usr/share/wordnet", help="the folder of data.noun etc.")
    ap.add_argument("--out", required=True, help="JSONL documents to write")
    ap.add_argument("--sentences", help="also write each document's title and text, one per line (tokenizer text)")
    ap.add_argument("--limit", type=int, default=0, help="at most N synsets of each part of speech (0: all)")
    args = ap.parse_args()

    docs, skipped, per_part = [], 0, {p: 0 for p in PARTS}
    try:
        for part, offset, lemmas, domains, definition, examples in read_synsets(args.wordnet_dir, PARTS):
            if args.limit and per_part[part] >= args.limit:
                continue
            if offset in COMPUTING_DOMAINS and part == "noun" or domains & COMPUTING_DOMAINS:
                skipped += 1
                continue
            if not definition:
                continue
            per_part[part] += 1
            text = sentence(definition)
            if examples:
                text += " " + " ".join(sentence(e) for e in examples)
            docs.append({"title": ", ".join(dict.fromkeys(lemmas)), "text": text})
    except FormatError as e:
        print(f"wordnet.py: {e}", file=sys.stderr)
        return 1
    if not docs:
        print(f"wordnet.py: {args.wordnet_dir}: no synsets read", file=sys.stderr)
        return 1
    outputs = [(args.out, [json.dumps(d, ensure_ascii=False) for d in docs])]
    if args.sentences:
        outputs.append((args.sentences, [t for d in docs for t in (d["title"], d["text"])]))
    for path, lines in outputs:  # each file whole or not at all
        tmp = path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")
        os.replace(tmp, path)
    print(f"wordnet.py: {len(docs)} synsets ({', '.join(f'{p} {n}' for p, n in per_part.items())}); "
          f"{skipped} of the computing domains left out -> {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
