#!/usr/bin/env python3
"""FOLDOC (Debian's dict-foldoc) to JSONL documents for `embtune pairs --methods title-body`.

What it is: a reader of the dictd files foldoc.index + foldoc.dict.dz that writes one document
per FOLDOC entry, {"title": headword, "text": definition}, cleaned of the dictionary's markup,
and optionally one more document per alias headword (same text), plus a BEIR-style corpus.jsonl
of the distinct definitions. Python 3 standard library only.

What it is not: a general dictd reader (no dictzip random access: the whole file is gunzipped,
a few MB) nor a pair maker (`embtune pairs` makes the pairs, `embtune prepare` the splits).

Cleaning (docs/demo.md says why):
  - the headword lines at the top of an entry are the title (first line) and aliases (the others);
  - `{link}` -> link; `{(url)}`, bare URLs and `<user@host>` addresses are removed;
  - `<category>` tags ("<language>", "<networking>") are dropped from the text;
  - the trailing `(YYYY-MM-DD)` date, bibliography paragraphs `[...]`, lines indented as code or
    tables, sense numbers "2." and pronunciations "/awlt/" are dropped;
  - entries whose cleaned text is a redirect ("See {x}.", or only a link) or has fewer than
    --min-words words are dropped; documents with the same (title, text) are kept once;
  - the text is cut at the last sentence end within --max-words words (so `embtune pairs` never
    cuts it and corpus.jsonl holds exactly the passages the pairs hold).

Errors (a missing, unreadable or malformed file) exit 1 naming the file and line; nothing is
written then (outputs are written to temporary files and renamed at the end).
"""
import argparse
import gzip
import json
import os
import re
import sys
import zlib

B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
B64_VALUE = {c: i for i, c in enumerate(B64)}

DATE_RE = re.compile(r"^\(\d{4}-\d{2}-\d{2}\)$")
URL_RE = re.compile(r"\{?\(?\b(?:(?:https?|ftp|telnet|gopher|file)://|news:|mailto:)[^\s)}]*\)?\}?")
EMAIL_RE = re.compile(r"<?\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+>?")
TAG_RE = re.compile(r"<[A-Za-z][A-Za-z0-9 ,/&'.+-]*>")
LINK_RE = re.compile(r"\{([^{}]*)\}")
SENSE_RE = re.compile(r"^\(?\d{1,2}[.)]\s+")
PRON_RE = re.compile(r"^/[^/\s][^/]{0,40}/[,;]?\s+")
REDIRECT_RE = re.compile(r"^(?:see|see also|compare|same as|synonym for|variant of)\b", re.I)
SENTENCE_END_RE = re.compile(r"[.!?][\"')\]]*$")


class FoldocError(Exception):
    pass


def b64_decode(field, where):
    if not field:
        raise FoldocError(f"{where}: empty base64 number")
    value = 0
    for c in field:
        if c not in B64_VALUE:
            raise FoldocError(f"{where}: {field!r} is not a dictd base64 number (A-Za-z0-9+/)")
        value = value * 64 + B64_VALUE[c]
    return value


def read_index(path, data_size):
    """[(offset, length, headword)] in file order; errors name the line."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        raise FoldocError(f"{path}: cannot read the index: {e.strerror}")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise FoldocError(f"{path}:{line}: invalid UTF-8")
    entries = []
    for n, line in enumerate(text.split("\n"), 1):
        if not line:
            continue
        fields = line.split("\t")
        if len(fields) != 3:
            raise FoldocError(f"{path}:{n}: expected headword TAB offset TAB length, got {len(fields)} field(s)")
        head, off, size = fields
        where = f"{path}:{n}"
        offset, length = b64_decode(off, where), b64_decode(size, where)
        if offset + length > data_size:
            raise FoldocError(f"{where}: entry {head!r} ends at byte {offset + length}, past the end of the "
                              f"dictionary ({data_size} bytes): index and dictionary do not match")
        entries.append((offset, length, head))
    if not entries:
        raise FoldocError(f"{path}: the index has no entries")
    return entries


def read_dict(path):
    try:
        with gzip.open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        raise FoldocError(f"{path}: not found (install Debian's dict-foldoc: apt-get install dict-foldoc)")
    except (OSError, EOFError, zlib.error) as e:
        raise FoldocError(f"{path}: not a readable gzip/dictzip file: {e}")


def clean_paragraph(lines):
    """One paragraph's lines (indentation removed) to clean prose, or '' when nothing is left."""
    text = " ".join(lines)
    text = URL_RE.sub(" ", text)
    text = EMAIL_RE.sub(" ", text)
    text = TAG_RE.sub(" ", text)
    # Inner braces first: FOLDOC never nests, but a stray one must not survive.
    for _ in range(3):
        text = LINK_RE.sub(lambda m: m.group(1), text)
    text = text.replace("{", "").replace("}", "")
    text = re.sub(r"\(\s*\)", " ", text)          # what a removed URL leaves: "()"
    text = re.sub(r"\s+", " ", text).strip()
    text = SENSE_RE.sub("", text)
    text = PRON_RE.sub("", text)
    text = re.sub(r"\s+([,.;:])", r"\1", text)
    text = re.sub(r"([,;:])(?:\s*[,;:])+", r"\1", text)  # ", ," left by removed addresses
    text = re.sub(r"[,;:]\s*(?=\.|$)", "", text)         # "at MIT, ." -> "at MIT."
    text = re.sub(r"\.(?:\s*\.)+(?!\.)", ".", text)
    return text.strip()


def parse_entry(raw):
    """Entry text -> (headword lines, [cleaned paragraphs])."""
    lines = raw.split("\n")
    heads = []
    i = 0
    while i < len(lines) and lines[i].strip():
        heads.append(lines[i].strip())
        i += 1
    paragraphs, current = [], []
    for line in lines[i:] + [""]:
        if not line.strip():
            if current:
                paragraphs.append(current)
            current = []
            continue
        stripped = line.lstrip(" ")
        indent = len(line) - len(stripped)
        if indent > 3 or "\t" in line[:indent + 1]:
            continue                                # code, tables, quoted blocks
        current.append(stripped)
    kept = []
    for para in paragraphs:
        joined = " ".join(para).strip()
        if DATE_RE.match(joined):
            continue
        if joined.startswith("[") and (joined.endswith("]") or joined.endswith("].")):
            continue                                # bibliography
        text = clean_paragraph(para)
        if text:
            kept.append(text)
    return heads, kept


def cut_words(text, max_words, min_words):
    words = text.split(" ")
    if len(words) <= max_words:
        return text
    head = words[:max_words]
    for end in range(len(head), min_words - 1, -1):
        if SENTENCE_END_RE.search(head[end - 1]):
            return " ".join(head[:end])
    return " ".join(head)


def is_redirect(paragraphs):
    if len(paragraphs) != 1:
        return False
    return bool(REDIRECT_RE.match(paragraphs[0])) and len(paragraphs[0].split()) <= 12


def write_atomic(path, rows):
    tmp = f"{path}.tmp-{os.getpid()}"
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            for row in rows:
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
        return tmp
    except OSError as e:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise FoldocError(f"{path}: cannot write: {e.strerror}")


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dict-dir", default="/usr/share/dictd",
                    help="folder of foldoc.index and foldoc.dict.dz (default: Debian's)")
    ap.add_argument("--out", required=True, help="documents JSONL: {title, text} per line")
    ap.add_argument("--corpus", help="also write the distinct definitions as BEIR corpus.jsonl ({_id, text})")
    ap.add_argument("--aliases", action="store_true",
                    help="one more document per alias headword (e.g. an acronym's expansion), same text")
    ap.add_argument("--min-words", type=int, default=10, help="drop definitions shorter than this (default 10)")
    ap.add_argument("--max-words", type=int, default=128, help="cut definitions at a sentence end within this (default 128)")
    ap.add_argument("--limit", type=int, default=0, help="keep only the first N entries (0: all; for quick runs)")
    args = ap.parse_args(argv)
    if args.min_words < 1 or args.max_words < args.min_words:
        raise FoldocError("--min-words must be at least 1 and at most --max-words")

    index_path = os.path.join(args.dict_dir, "foldoc.index")
    dict_path = os.path.join(args.dict_dir, "foldoc.dict.dz")
    if not os.path.exists(index_path):
        raise FoldocError(f"{index_path}: not found (install Debian's dict-foldoc: apt-get install dict-foldoc)")
    data = read_dict(dict_path)
    index = read_index(index_path, len(data))

    stats = {"index_lines": len(index), "entries": 0, "metadata": 0, "redirects": 0, "too_short": 0,
             "duplicates": 0, "cut": 0, "documents": 0, "alias_documents": 0, "corpus": 0}
    seen_offsets = set()
    seen_docs = set()
    docs, corpus = [], {}
    for offset, length, head in index:
        if (offset, length) in seen_offsets:
            continue                                # another headword of an entry already read
        seen_offsets.add((offset, length))
        if head.startswith("00-database") or head.startswith("00database"):
            stats["metadata"] += 1
            continue
        try:
            raw = data[offset:offset + length].decode("utf-8")
        except UnicodeDecodeError:
            raise FoldocError(f"{dict_path}: entry {head!r} (byte {offset}) is not valid UTF-8")
        stats["entries"] += 1
        heads, paragraphs = parse_entry(raw)
        heads = [h for h in heads if h]
        if not heads:
            heads = [head]
        if is_redirect(paragraphs):
            stats["redirects"] += 1
            continue
        text = " ".join(paragraphs)
        if len(text.split()) < args.min_words:
            stats["too_short"] += 1
            continue
        cut = cut_words(text, args.max_words, args.min_words)
        stats["cut"] += cut != text
        text = cut
        titles = [heads[0]]
        if args.aliases:
            folded = {heads[0].casefold()}
            for alias in heads[1:]:
                if alias.casefold() not in folded:
                    folded.add(alias.casefold())
                    titles.append(alias)
        for n, title in enumerate(titles):
            key = (title.casefold(), text)
            if key in seen_docs:
                stats["duplicates"] += 1
                continue
            seen_docs.add(key)
            docs.append({"title": title, "text": text})
            stats["documents" if n == 0 else "alias_documents"] += 1
        if text not in corpus:
            corpus[text] = f"foldoc-{len(corpus)}"
        if args.limit and stats["entries"] >= args.limit:
            break
    if not docs:
        raise FoldocError(f"{dict_path}: no definitions left after cleaning")
    stats["corpus"] = len(corpus)

    tmps = [(write_atomic(args.out, docs), args.out)]
    try:
        if args.corpus:
            rows = ({"_id": cid, "title": "", "text": text} for text, cid in corpus.items())
            tmps.append((write_atomic(args.corpus, rows), args.corpus))
    except FoldocError:
        for tmp, _ in tmps:
            os.remove(tmp)
        raise
    for tmp, final in tmps:
        os.replace(tmp, final)
    print("foldoc: " + ", ".join(f"{k} {v}" for k, v in stats.items()), file=sys.stderr)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except FoldocError as e:
        print(f"foldoc.py: error: {e}", file=sys.stderr)
        sys.exit(1)
