#!/usr/bin/env python3
"""Writes tests/data/tokenizer_corpus.txt: texts that stress every stage of a tokenizer pipeline.

Not a benchmark corpus: every line is there to exercise some rule of normalization,
pre-tokenization, WordPiece or added-token matching. One text per line; a line starting
with '"' holds a JSON string (how control characters, tabs and CR get in), as in
shared/reference/tokenize_peer.js. Deterministic: rerun it and the file is identical.
"""
import json
import os
import random

rng = random.Random(20240611)
lines = []


def add(text):
    """A text as a corpus line: JSON-quoted when it holds characters a raw line cannot."""
    if ("\n" in text or "\r" in text or text.startswith('"')
            or any(ord(c) < 0x20 and c != "\t" for c in text)):
        lines.append(json.dumps(text, ensure_ascii=True))
    else:
        lines.append(text)


def add_json(text):
    """Always as a JSON string line (escaped, so the file itself stays plain)."""
    lines.append(json.dumps(text, ensure_ascii=True))


# --- English prose ---------------------------------------------------------------------------
subjects = ["The model", "A small team", "Our tokenizer", "Every embedding", "The committee",
            "This library", "My neighbour's cat", "The old lighthouse keeper", "Researchers",
            "The quarterly report", "An unexpected storm", "The database migration", "She",
            "He", "They", "The compiler", "A retrieval system", "The museum's new wing"]
verbs = ["reads", "rewrites", "tokenizes", "ignores", "measures", "compresses", "celebrates",
         "misplaces", "recommends", "fine-tunes", "evaluates", "summarizes", "downloads",
         "re-indexes", "overestimates", "sings about", "quietly rejects", "carefully audits"]
objects = ["thousands of documents", "the unbelievably long paragraph", "every third sentence",
           "a surprisingly hard benchmark", "the customer's feedback", "state-of-the-art results",
           "the half-finished manuscript", "its own configuration file", "yesterday's logs",
           "an unreasonably large vocabulary", "the hyper-parameters", "a well-known dataset",
           "internationalization issues", "the counterintuitive behaviour", "unrecognizable words"]
tails = [".", "!", "?", "...", " (again).", " -- or so they say.", "; nobody noticed.",
         ", which is fine.", ": see section 4.2.", " before lunch.", ", isn't it?",
         " \u2014 quite literally.", " \u2026", "!!", "?!"]
for _ in range(420):
    s = f"{rng.choice(subjects)} {rng.choice(verbs)} {rng.choice(objects)}{rng.choice(tails)}"
    if rng.random() < 0.3:
        s = s.upper() if rng.random() < 0.3 else s.title()
    if rng.random() < 0.2:
        s = "  " + s + "   "
    add(s)

hand_prose = [
    "Hello, world!", "hello world", "HELLO WORLD", "Hello   world", "Don't stop; we're nearly there.",
    "It's the user's choice whether they'd've liked it.", "e.g. i.e. etc. vs. Mr. Mrs. Dr. St.",
    "The U.S.A. and the U.K. signed it on 1 Jan. 2020.", "rock'n'roll", "state-of-the-art",
    "well-being, self-esteem, and co-operation", "over-the-counter (OTC) medicines",
    "Tokenization is the first step; embeddings come next.", "What?! No way...",
    "A sentence with a trailing space ", " A sentence with a leading space",
    "Multiple     spaces     between     words", "CamelCaseWordsAreCommonInCode",
    "snake_case_identifiers_are_too", "kebab-case-identifiers-as-well", "ALLCAPSWORD",
    "unaffable unbelievable antidisestablishmentarianism", "pneumonoultramicroscopicsilicovolcanoconiosis",
    "supercalifragilisticexpialidocious", "Floccinaucinihilipilification is a long word.",
    "The quick brown fox jumps over the lazy dog.", "Pack my box with five dozen liquor jugs.",
    "##ing ##s ## # ### ##a a##b", "[UNK] appears as text here", "a -- b --- c ---- d",
    "hyphen-ated, slash/separated, back\\slash, pipe|separated, tilde~joined",
    "(parentheses) [brackets] {braces} <angles>", "quotes: 'single' \u2018curly\u2019 \u201cdouble\u201d \u00abguillemets\u00bb \u201elow\u201c",
    "Ellipsis\u2026 en\u2013dash em\u2014dash minus\u2212sign", "bullet \u2022 point \u00b7 middle dot",
    "section \u00a7 pilcrow \u00b6 dagger \u2020 double dagger \u2021", "per mille \u2030 and prime \u2032",
    "inverted \u00bfquestion? \u00a1exclamation!", "100% sure & 50/50 odds @ $5 #1 ^_^ *star* `code`",
    "x", "a", "I", ".", ",", "!", "?", "-", "_", "'", "\u00b4", "`", "~", "\u00a8",
]
for s in hand_prose:
    add(s)

# --- code ------------------------------------------------------------------------------------
code = [
    "int main(int argc, char** argv) { return argc > 1 ? 0 : 1; }",
    "for (size_t i = 0; i < n; ++i) sum += a[i] * b[i];",
    "std::vector<std::pair<int, std::string>> v{{1, \"one\"}, {2, \"two\"}};",
    "def tokenize(text: str) -> list[str]: return text.split()",
    "if __name__ == '__main__': main()",
    "const f = async (x) => { await g(x?.y ?? 0); };",
    "SELECT id, name FROM users WHERE email LIKE '%@example.com' ORDER BY id DESC;",
    "git commit -m \"fix: handle CRLF\" && git push origin HEAD:refs/for/main",
    "export PATH=$HOME/.local/bin:$PATH; echo ${PATH//:/\\n}",
    "#include <unordered_map>", "#define MAX(a, b) ((a) > (b) ? (a) : (b))",
    "x += 1; y -= 2; z *= 3; w /= 4; v %= 5; u <<= 6; t >>= 7; s &= 8; r |= 9; q ^= 10;",
    "a == b && c != d || e <= f >= g", "lambda x: x**2 + 2*x + 1",
    "<div class=\"container\"><p id='intro'>Hi &amp; welcome&nbsp;!</p></div>",
    "{\"key\": [1, 2.5, -3e10, true, null], \"nested\": {\"a\": \"b\"}}",
    "key: value\nlist:\n  - item", "fn main() -> Result<(), Box<dyn Error>> { Ok(()) }",
    "println!(\"{:?}\", vec![1u8, 2, 3]);", "public static void main(String[] args) throws Exception {}",
    "df.groupby('col').agg({'x': 'mean', 'y': 'sum'}).reset_index()",
    "np.einsum('bij,bjk->bik', A, B)", "torch.nn.functional.cross_entropy(logits / 0.05, labels)",
    "CUDA_VISIBLE_DEVICES=0,1 python train.py --lr 2e-5 --batch-size=32",
    "0x7FFFFFFF 0b1010 0o755 1_000_000 3.14159f 6.022e23 1e-9",
    "tokenizer.encode(\"[CLS] hello [SEP]\", add_special_tokens=False)",
    "regex: ^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\\.[A-Za-z]{2,}$",
    "mov eax, [ebp+8] ; load the first argument",
    "\tindented with a tab", "\t\tdouble tab", "trailing tab\t", "mixed \t tab and spaces",
]
for s in code:
    add(s)
for _ in range(120):
    name = "_".join(rng.choice(["get", "set", "user", "id", "max", "len", "buf", "tmp", "x",
                                "HTTP", "parse", "json", "v2", "cfg", "num", "idx"])
                    for _ in range(rng.randint(1, 4)))
    args = ", ".join(f"{rng.choice(['a', 'b', 'ctx', 'self', 'n'])}{rng.randint(0, 99)}"
                     for _ in range(rng.randint(0, 3)))
    add(f"{name}({args}); // {rng.choice(['TODO', 'FIXME', 'NOTE', 'XXX'])}: {rng.choice(objects)}")

# --- URLs, e-mail, paths ---------------------------------------------------------------------
urls = [
    "https://example.com/path/to/page?query=1&lang=en#section-2",
    "http://localhost:8080/api/v1/embeddings", "ftp://files.example.org/pub/README.txt",
    "https://en.wikipedia.org/wiki/Caf%C3%A9", "https://例子.测试/路径?查询=值",
    "https://xn--fsqu00a.xn--0zwm56d/", "mailto:someone@example.com",
    "user.name+tag@sub.example.co.uk", "/usr/local/lib/libembtune.so.0.1.0",
    "C:\\Users\\Public\\Documents\\report (final) v2.docx", "~/.config/embtune/config.json",
    "../relative/path/./file.tar.gz", "s3://bucket-name/key/with spaces/file.parquet",
    "git@github.com:huggingface/tokenizers.git", "www.example.com", "example.com:443",
    "https://www.youtube.com/watch?v=dQw4w9WgXcQ&t=42s", "192.168.0.1:22 and [2001:db8::1]:443",
]
for s in urls:
    add(s)
    add("Visit " + s + " for details.")

# --- numbers ---------------------------------------------------------------------------------
for _ in range(150):
    k = rng.randint(0, 9)
    if k == 0:
        s = str(rng.randint(0, 10 ** rng.randint(1, 18)))
    elif k == 1:
        s = f"{rng.uniform(-1000, 1000):.{rng.randint(1, 6)}f}"
    elif k == 2:
        s = f"{rng.randint(1900, 2099)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:00Z"
    elif k == 3:
        s = f"${rng.randint(1, 99999):,}.{rng.randint(0, 99):02d}"
    elif k == 4:
        s = f"+1 ({rng.randint(200, 999)}) {rng.randint(200, 999)}-{rng.randint(1000, 9999)}"
    elif k == 5:
        s = f"{rng.uniform(0, 10):.3e}"
    elif k == 6:
        s = f"{rng.randint(1, 100)}% of {rng.randint(1, 10**6)} users, \u00b1{rng.randint(1, 9)}.{rng.randint(0, 9)}%"
    elif k == 7:
        s = f"v{rng.randint(0, 9)}.{rng.randint(0, 30)}.{rng.randint(0, 200)}-rc{rng.randint(1, 5)}"
    elif k == 8:
        s = f"{rng.randint(1, 12)}:{rng.randint(0, 59):02d} {rng.choice(['am', 'pm', 'AM', 'PM'])}"
    else:
        s = "".join(rng.choice("0123456789") for _ in range(rng.randint(20, 60)))
    add(s)
for s in ["1st 2nd 3rd 4th 21st 102nd", "\u00bd \u00bc \u00be \u2153 \u215b", "x\u00b2 + y\u00b3 = z\u00b9",
          "H\u2082O and CO\u2082", "\u2160 \u2161 \u2162 \u2163 \u216b", "\u0661\u0662\u0663 \u0967\u0968\u0969 \u0e51\u0e52\u0e53",
          "\uff11\uff12\uff13\uff14\uff15", "\U0001d7ce\U0001d7cf\U0001d7d0", "3\u00d74=12 and 12\u00f73=4",
          "\u221e \u2211 \u220f \u221a \u222b \u2202 \u2207 \u2248 \u2260 \u2264 \u2265", "20\u00b0C = 68\u00b0F = 293.15\u2009K", "\u2103 \u2109 \u212a \u212b \u2126"]:
    add(s)

# --- accents: Latin, Greek, Cyrillic, Vietnamese, combining marks ----------------------------
accented = [
    "caf\u00e9 na\u00efve r\u00e9sum\u00e9 fa\u00e7ade co\u00f6perate d\u00e9j\u00e0 vu",
    "Stra\u00dfe \u00fcber \u00c4pfel \u00d6l GR\u00dcSSE Gr\u00fc\u00dfe", "ma\u00f1ana ni\u00f1o \u00e1rbol \u00bfQu\u00e9 tal?",
    "S\u00e3o Paulo, cora\u00e7\u00e3o, informa\u00e7\u00f5es", "\u0141\u00f3d\u017a, \u017b\u00f3\u0142w, ga\u0142\u0105\u017a, \u015bci\u0105\u0107",
    "P\u0159\u00edli\u0161 \u017elu\u0165ou\u010dk\u00fd k\u016f\u0148 \u00fap\u011bl \u010f\u00e1belsk\u00e9 \u00f3dy", "\u00c5ngstr\u00f6m, \u00f8re, \u00e6sthetic, \u00c6SIR",
    "\u0130stanbul \u0131s\u0131k \u0130I \u0131i \u015eEH\u0130R \u011eece \u00e7ok g\u00fczel", "DIYARBAKIR \u0130ZM\u0130R i\u0307",
    "\u00c9cole \u00c9L\u00c8VE \u00ceLE \u00d4TER \u00dbN \u00c7A", "\u0100\u0101 \u0112\u0113 \u012a\u012b \u014c\u014d \u016a\u016b \u01d5\u01d6",
    "\u1e9e \u00df \u1e9eTRASSE", "\u01c4 \u01c5 \u01c6 \u01c7 \u01c8 \u01c9 \u01f1 \u01f2 \u01f3", "\u0132 \u0133 \u0152 \u0153 \u00de \u00fe \u00d0 \u00f0",
    "\u0395\u03bb\u03bb\u03b7\u03bd\u03b9\u03ba\u03ac: \u03ba\u03b1\u03bb\u03b7\u03bc\u03ad\u03c1\u03b1 \u03ba\u03cc\u03c3\u03bc\u03b5",
    "\u039f\u0394\u03a5\u03a3\u03a3\u0395\u03a5\u03a3 \u1f48\u03b4\u03c5\u03c3\u03c3\u03b5\u03cd\u03c2 \u03c3\u03bf\u03c6\u03af\u03b1 \u03a3\u039f\u03a6\u0399\u0391",
    "\u03ca\u03cb\u0390\u03b0 \u1f00\u1f01\u1f02\u1f82\u1fb7 \u1fe5\u1fe4", "\u0391\u0392\u0393 \u03b1\u03b2\u03b3 \u03c2\u03c3\u03a3",
    "\u041f\u0440\u0438\u0432\u0435\u0442, \u043c\u0438\u0440! \u0401\u043b\u043a\u0430 \u0439\u043e\u0434 \u0419\u041e\u0413\u0410",
    "\u0423\u043a\u0440\u0430\u0457\u043d\u0441\u044c\u043a\u0430 \u043c\u043e\u0432\u0430: \u0457\u0436\u0430\u043a, \u0491\u0430\u043d\u043e\u043a, \u0404\u0432\u0440\u043e\u043f\u0430",
    "\u0431\u044a\u043b\u0433\u0430\u0440\u0441\u043a\u0438 \u0441\u0440\u043f\u0441\u043a\u0438 \u0452\u0430\u0432\u043e \u045a\u0435\u0433\u043e\u0432 \u045f\u0435\u043f",
    "Ti\u1ebfng Vi\u1ec7t c\u00f3 nhi\u1ec1u d\u1ea5u: \u0111\u01b0\u1eddng, ph\u1edf, Nguy\u1ec5n, \u1ea8m th\u1ef1c",
    "Vi\u1ec6T NAM \u0110\u1ed8C L\u1eacP \u1ef0 DO", "C\u1eeda Vi\u1ec7t", "\u1ea0\u1ea1\u1ea2\u1ea3\u1ea4\u1ea5\u1ea6\u1ea7\u1ea8\u1ea9\u1eaa\u1eab\u1eac\u1ead",
]
for s in accented:
    add(s)
combining = [
    "e\u0301 a\u0300 o\u0302 u\u0308 n\u0303 c\u0327",  # decomposed forms
    "a\u0301\u0323 a\u0323\u0301 o\u031b\u0300\u0323",  # marks in non-canonical and canonical order
    "q\u0307\u0323 x\u0323\u0307 \u1e0b\u0323 \u1e0d\u0307",  # reordering across a precomposed base
    "Z\u0351\u036b\u0343\u036a\u0302\u036b\u033d\u034f\u0334\u0319\u0324\u031e\u0349\u035a\u032f\u031e\u0320\u034dA\u036b\u0357\u0334\u0362\u0335\u031c\u0330\u0354L\u0368\u0367\u0369\u0358\u0320G\u0311\u0357\u030e\u0305\u035b\u0341\u0334\u033b\u0348\u034d\u0354\u0339O\u0342\u030c\u030c\u0358\u0328\u0335\u0339\u033b\u031d\u0333",
    "\u0301starts with a mark", "\u0301\u0323", "mark at end\u0301", "\u0334\u0301 overlay then acute",
    "\u05e9\u05c1\u05b8\u05dc\u05d5\u05b9\u05dd \u05e2\u05d5\u05b9\u05dc\u05b8\u05dd", "\u0628\u0650\u0633\u0652\u0645\u0650 \u0627\u0644\u0644\u0651\u064e\u0647\u0650",
    "\u0915\u094d\u0937 \u0928\u092e\u0938\u094d\u0924\u0947 \u0939\u093f\u0928\u094d\u0926\u0940 \u0915\u093e\u0901", "\u0e2a\u0e27\u0e31\u0e2a\u0e14\u0e35 \u0e20\u0e32\u0e29\u0e32\u0e44\u0e17\u0e22",
    "\u0ba4\u0bae\u0bbf\u0bb4\u0bcd \u0bae\u0bca\u0bb4\u0bbf", "\u1780\u17b6\u1793\u17cb\u178f\u17c2\u1796\u17b7\u179f\u17c1\u179f\u17a2\u17b6\u1785\u1781\u179b\u1785\u17c1\u1789",
    "\u10e5\u10d0\u10e0\u10d7\u10e3\u10da\u10d8 \u0570\u0561\u0575\u0565\u0580\u0565\u0576 \u12a0\u121b\u122d\u129b",
    "a\u20dd b\u20de c\u0488\u0489", "\u0f40\u0f71\u0f72\u0f74 \u0f66\u0f90\u0fb1",
    "\u1100\u1161\u11a8 conjoining jamo \u1112\u1161\u11ab", "\u3131\u314f compatibility jamo",
    "\u0898\u0899 Arabic marks newer than Unicode 9", "x\u1ac1y\u1dfaz newer combining marks",
    "\u0890\u0891 newer format chars \u2e50\u2e51 newer punctuation", "\u166d syllabics sign \u1734 hanunoo",
    "\U00011938 dives akuru \U00011935\U00011930", "\u1c89\u1c8a newer case pair \ua7cb\ua7dc",
]
for s in combining:
    add(s)
for _ in range(60):
    base = rng.choice("aeiouyAEIOUYnNcCsSzZ")
    marks = "".join(chr(rng.choice([0x300, 0x301, 0x302, 0x303, 0x304, 0x306, 0x307, 0x308, 0x30A,
                                     0x30B, 0x30C, 0x323, 0x324, 0x325, 0x327, 0x328, 0x331, 0x334,
                                     0x335, 0x338, 0x345, 0x31B, 0x35C, 0x360, 0x1DC0]))
                    for _ in range(rng.randint(1, 4)))
    add(f"w{base}{marks}rd {base}{marks} end")

# --- CJK -------------------------------------------------------------------------------------
cjk = [
    "\u6211\u60f3\u5728apple\u5de5\u4f5c1314151\u5929\uff5e", "\u4eca\u5929\u5929\u6c14\u5f88\u597d\uff0c\u6211\u4eec\u53bb\u516c\u56ed\u5427\u3002",
    "\u4e2d\u6587\u5206\u8bcd\u6d4b\u8bd5\uff1a\u81ea\u7136\u8bed\u8a00\u5904\u7406\uff08NLP\uff09", "\u7e41\u9ad4\u4e2d\u6587\u8207\u7c21\u9ad4\u4e2d\u6587",
    "\u3053\u3093\u306b\u3061\u306f\u3001\u4e16\u754c\uff01\u65e5\u672c\u8a9e\u306e\u30c6\u30ad\u30b9\u30c8\u3067\u3059\u3002", "\u30ab\u30bf\u30ab\u30ca \u3072\u3089\u304c\u306a \u6f22\u5b57 \uff76\uff80\uff76\uff85",
    "\u30ac\u30ae\u30b0 \u304b\u3099\u304d\u3099 \u30d1\u30d4\u30d7 \u306f\u309a", "\u6771\u4eac\u30bf\u30ef\u30fc\u306f333\u30e1\u30fc\u30c8\u30eb\u3067\u3059",
    "\ud55c\uad6d\uc5b4 \ud14d\uc2a4\ud2b8: \uc548\ub155\ud558\uc138\uc694, \ubc18\uac11\uc2b5\ub2c8\ub2e4!", "\uc11c\uc6b8\ud2b9\ubcc4\uc2dc \uac15\ub0a8\uad6c",
    "\U00020000\U0002a6d6 \U0002a700 \U0002b740 \U0002b820 \U0002ceb0 \U00030000 extension ideographs",
    "\u3400\u4dbf \u9fff \uf900\ufaff \U0002f800", "\u2e80\u2f00\u31c0 radicals and strokes \u3005\u3006\u3007",
    "\u300c\u5f15\u7528\u300d\u300e\u4e8c\u91cd\u300f\u3010\u62ec\u5f27\u3011\u3008\u3009\u300a\u300b", "\uff08\u5168\u89d2\uff09\uff3b\uff3d\uff5b\uff5d\uff01\uff1f\uff0c\uff0e",
    "mixed\u4e2d\u6587English\u6df7\u5408text", "\u5317\u4eac2008\u5e74\u5965\u8fd0\u4f1a",
]
for s in cjk:
    add(s)
han = [chr(c) for c in range(0x4E00, 0x9FA6, 97)]
kana = [chr(c) for c in range(0x3041, 0x3097)] + [chr(c) for c in range(0x30A1, 0x30FB)]
hangul = [chr(c) for c in range(0xAC00, 0xD7A4, 53)]
for _ in range(80):
    pool = rng.choice([han, kana, hangul, han + kana])
    add("".join(rng.choice(pool) for _ in range(rng.randint(3, 30))))

# --- emoji -----------------------------------------------------------------------------------
emoji = [
    "\u263a \u2665 \u2702 \u2708 \u2744 \u260e old symbols", "\U0001f600\U0001f601\U0001f602\U0001f923",
    "\U0001f680 (normal) \U0001f636\u200d\U0001f32b\ufe0f (multiple emojis concatenated) \u2705 (only emoji that has its own token)",
    "\U0001fae0 \U0001f979 \U0001fabf \U0001fa77 newer emoji", "\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466 family",
    "\U0001f469\u200d\U0001f4bb\U0001f3f3\ufe0f\u200d\U0001f308\U0001f3f4\u200d\u2620\ufe0f", "\U0001f1eb\U0001f1f7 \U0001f1ef\U0001f1f5 \U0001f1fa\U0001f1f8 flags",
    "\U0001f3f4\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f Scotland tag sequence", "\U0001f44d\U0001f3fb \U0001f44d\U0001f3fd \U0001f44d\U0001f3ff skin tones",
    "1\ufe0f\u20e3 #\ufe0f\u20e3 *\ufe0f\u20e3 keycaps", "\u2764\ufe0f vs \u2764\ufe0e variation selectors", "this is \U0001f999.cpp",
    "I love \U0001f355!!!", "\U0001f44b\U0001f3fc\u200d\u2642\ufe0f", "emoji\U0001f525inside\U0001f525words", "\u00a9 \u00ae \u2122 \u2120",
]
for s in emoji:
    add(s)
emo = [chr(c) for c in list(range(0x1F600, 0x1F650)) + list(range(0x1F300, 0x1F330)) + list(range(0x1F900, 0x1F930))]
for _ in range(60):
    words = [rng.choice(["great", "job", "lol", "ok", "wow", "party", "yes"]) for _ in range(rng.randint(1, 5))]
    add(" ".join(w + "".join(rng.choice(emo) for _ in range(rng.randint(0, 3))) for w in words))

# --- control characters, zero-width, U+FFFD, whitespace ---------------------------------------
controls = ["\x00", "\x01", "\x07", "\x08", "\x0b", "\x0c", "\x1b", "\x1f", "\x7f", "\x80", "\x85",
            "\x9f", "\xad", "\u061c", "\u180e", "\u200b", "\u200c", "\u200d", "\u200e", "\u200f",
            "\u2028", "\u2029", "\u202a", "\u202e", "\u2060", "\u2066", "\u2069", "\ufeff",
            "\ufff9", "\ufffd", "\U0001d173", "\U000e0001", "\U000e0020", "\ue000", "\uf8ff",
            "\U000f0000", "\U0010fffd", "\uffff", "\U0010ffff", "\u0378", "\U000e01ef",
            "\u00a0", "\u1680", "\u2000", "\u2007", "\u200a", "\u202f", "\u205f", "\u3000",
            "\t", "\r", "\r\n", "\n"]
for c in controls:
    add_json(f"before{c}after")
    add_json(f"word {c} spaced")
    add_json(f"{c}leading and trailing{c}")
add_json("\x00")
add_json("\ufffd\ufffd\ufffd")
add_json("\t\n\r ")
add_json("line one\nline two\r\nline three\rline four")
add_json("tab\tseparated\tvalues\t1\t2\t3")
add("raw tab\tinside a plain line")
add("raw nbsp\u00a0and\u2009thin space and ideographic\u3000space")
add("raw zero\u200bwidth space and zero\u200dwidth joiner and soft\u00adhyphen")
add("raw line\u2028separator and paragraph\u2029separator")
add("replacement \ufffd character raw")
for _ in range(40):
    s = "".join(rng.choice(["ab", "cd", " ", "x", ".", "\u200b", "\x00", "\ufeff", "\t", "\x1f",
                            "\ufffd", "\u0301", "\u00ad", "\u3000", "\x85"]) for _ in range(rng.randint(3, 15)))
    add_json(s)

# --- word lengths around max_input_chars_per_word (100) -------------------------------------
for n in [98, 99, 100, 101, 102, 150, 250, 500]:
    add("a" * n)
    add("x" + "ab" * ((n - 1) // 2) + "c" * ((n - 1) % 2))
    add("word " + "z" * n + " word")
    add("\u00e9" * n)             # NFD + strip accents keeps the count (e + mark -> e)
    add("\u0130" * n)             # lowercase expands, strip removes the dot: count unchanged
    add("e\u0301" * (n // 2))     # 2 chars each before normalization
    add("\u4e00" * n)             # CJK: every char becomes its own word
    add("\U0001f600" * n)
    add("-".join(["abc"] * (n // 4)))
add("".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(1000)))
add(" ".join("".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(90, 110))) for _ in range(5)))

# --- empty, whitespace-only, punctuation-only -------------------------------------------------
add("")
add(" ")
add("     ")
add("\t")
add_json("\t \t  ")
add_json("\u3000\u2003\u00a0")
add("...")
add("!!!!!!")
add("?!?!")
add("\u3002\u3001\u300c\u300d")
add("#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")

# --- literal special tokens ------------------------------------------------------------------
specials = [
    "[CLS]", "[SEP]", "[MASK]", "[PAD]", "[UNK]", "[mask]", "[Mask]", "[ MASK ]", "[MASK", "MASK]",
    "[CLS] hello [SEP]", "hello [MASK] world", "[MASK][MASK][MASK]", "x[MASK]y", "[[MASK]]",
    "the capital of France is [MASK].", "[CLS][SEP][PAD][UNK][MASK]", "  [SEP]  ", "[SEP]\t[SEP]",
    "[MASK]\u00e9t\u00e9", "\u00e9t\u00e9[MASK]", "[UNK][UNK] unknown", "[PAD]ding", "<s> </s> <pad> <unk> <mask>",
    "[unused1] [unused99]", "[CLS ] [ CLS] [CLS]]", "\uff3bMASK\uff3d fullwidth brackets", "[M\u0041SK]",
]
for s in specials:
    add(s)
add_json("[MASK]\u0000[SEP]\ufffd[CLS]")

# --- Turkish, ligatures, fullwidth, compatibility forms ---------------------------------------
compat = [
    "\u0130 \u0131 \u0130i \u0069\u0307", "\u0130STANBUL \u0130stanbul istanbul ISTANBUL", "\u0130\u0301 \u0130\u0323",
    "\ufb01nance \ufb02ow \ufb00 \ufb03 \ufb04 \ufb05 \ufb06", "\uff21\uff22\uff23\uff41\uff42\uff43 \uff11\uff12\uff13 \uff01\uff1f",
    "\uff28\uff45\uff4c\uff4c\uff4f\u3000\uff37\uff4f\uff52\uff4c\uff44", "\u2460\u2461\u2462 \u24b6\u24b7\u24b8 \u24d0\u24d1",
    "\U0001d400\U0001d401\U0001d402 \U0001d4d0\U0001d4d1 \U0001d56c\U0001d56d math alphanumerics",
    "\u2122\u2120\u3392\u33a1\u32cf \u3231 \u337f", "\u1d2c\u1d2e\u1d30 \u02b0\u02b2\u02e1 modifier letters",
    "\u2126hm \u212a\u212b \u2160\u2170", "\u0345 \u1fb3 \u1fbc \u0399\u0345", "\u00b5 \u03bc \u00aa \u00ba",
]
for s in compat:
    add(s)

# --- scripts sampling: one line per block of interesting code points ----------------------------
blocks = [(0x0100, 0x0250), (0x0370, 0x0400), (0x0400, 0x0530), (0x0590, 0x0600), (0x0600, 0x0700),
          (0x0900, 0x0980), (0x0E00, 0x0E60), (0x1E00, 0x1F00), (0x1F00, 0x2000), (0x2000, 0x2070),
          (0x20A0, 0x20C1), (0x2100, 0x2150), (0x2190, 0x2200), (0x2200, 0x2300), (0x2500, 0x2600),
          (0x2E00, 0x2E5E), (0x3000, 0x3040), (0xA640, 0xA6A0), (0xA720, 0xA800), (0xFB00, 0xFB50),
          (0xFE10, 0xFE70), (0xFF00, 0xFFF0), (0x10400, 0x10450), (0x1D400, 0x1D500), (0x1F100, 0x1F200),
          (0x10D40, 0x10D90), (0x16EA0, 0x16EE0), (0x1E900, 0x1E960), (0x13000, 0x13050)]
for lo, hi in blocks:
    cps = [c for c in range(lo, hi) if not 0xD800 <= c <= 0xDFFF]
    for k in range(0, len(cps), 48):
        chunk = cps[k:k + 48]
        add(" ".join("".join(chr(c) for c in chunk[i:i + 4]) for i in range(0, len(chunk), 4)))

# --- quoted lines: a '"' start that is or is not a JSON string ---------------------------------
add('"quoted words" followed by more text')
add('"unterminated quote at the start')
add_json('"a JSON string that itself starts with a quote"')
lines.append('"plain JSON string with spaces after"   ')
lines.append('"\\u00e9t\\u00e9 with escapes \\ud83d\\ude00"')

# --- long paragraphs (beyond 128 tokens, for truncation) --------------------------------------
for _ in range(60):
    sent = []
    for _ in range(rng.randint(8, 30)):
        sent.append(f"{rng.choice(subjects)} {rng.choice(verbs)} {rng.choice(objects)}{rng.choice(tails)}")
    add(" ".join(sent))

# --- multilingual sentences, recombined ------------------------------------------------------
# Short sentences per script (written for this corpus), then recombined at random: each line
# mixes two to five of them with the separators and oddities below, so every script meets
# digits, punctuation, emoji, zero-width and combining characters at word edges.
scripts = {
    "latin": ["L'\u00e9l\u00e8ve a re\u00e7u son dipl\u00f4me \u00e0 No\u00ebl.",
              "Die Stra\u00dfe f\u00fchrt \u00fcber die Br\u00fccke nach K\u00f6ln.",
              "Ti\u1ebfng Vi\u1ec7t c\u00f3 d\u1ea5u: ng\u01b0\u1eddi, \u0111\u01b0\u1eddng, ph\u1ed1.",
              "Za\u017c\u00f3\u0142\u0107 g\u0119\u015bl\u0105 ja\u017a\u0144.",
              "P\u0159\u00edli\u0161 \u017elu\u0165ou\u010dk\u00fd k\u016f\u0148 \u00fap\u011bl.",
              "I\u011fd\u0131r'da \u015fo\u00f6r \u00e7ay i\u00e7ti; \u0130zmir \u0131s\u0131l\u0131.",
              "\u00bfD\u00f3nde est\u00e1 el ni\u00f1o? \u00a1Aqu\u00ed!",
              "Sm\u00f8rbr\u00f8d og \u00e6bleskiver p\u00e5 \u00c5rhus.",
              "cafe\u0301 vs caf\u00e9 vs CAFE\u0301 vs Cafe\u0300\u0301"],
    "cyrillic": ["\u041f\u0440\u0438\u0432\u0435\u0442, \u043a\u0430\u043a \u0434\u0435\u043b\u0430? \u0401\u0436\u0438\u043a \u0438 \u0451\u043b\u043a\u0430.",
                 "\u0423\u043a\u0440\u0430\u0457\u043d\u0441\u044c\u043a\u0430 \u043c\u043e\u0432\u0430: \u0491\u0430\u043d\u043e\u043a, \u0457\u0436\u0430\u043a, \u0454\u043d\u043e\u0442.",
                 "\u0421\u0440\u043f\u0441\u043a\u0438: \u0452\u0430\u043a, \u045b\u0443\u0440\u043a\u0430, \u045f\u0435\u043f, \u0459\u0443\u0431\u0430\u0432.",
                 "\u0418\u0301\u0434\u0443 \u0434\u043e\u043c\u043e\u0301\u0439 \u0432 2024 \u0433."],
    "greek": ["\u039a\u03b1\u03bb\u03b7\u03bc\u03ad\u03c1\u03b1, \u03c4\u03b9 \u03ba\u03ac\u03bd\u03b5\u03b9\u03c2;",
              "\u1f08\u03c1\u03c7\u1f74 \u1f21\u03bc\u03b9\u03c3\u03c5 \u03c0\u03b1\u03bd\u03c4\u03cc\u03c2 \u1f40\u03b4\u03cc\u03c2.",
              "\u039f\u0394\u03a5\u03a3\u03a3\u0395\u03a5\u03a3 \u03bf\u03b4\u03c5\u03c3\u03c3\u03b5\u03cd\u03c2 \u03c3\u03bf\u03c6\u03cc\u03c2"],
    "arabic": ["\u0645\u0631\u062d\u0628\u0627 \u0628\u0627\u0644\u0639\u0627\u0644\u0645\u060c \u0643\u064a\u0641 \u062d\u0627\u0644\u0643\u061f",
               "\u0627\u0644\u0652\u0639\u064e\u0631\u064e\u0628\u0650\u064a\u064e\u0651\u0629\u064f \u0644\u064f\u063a\u064e\u0629\u064c \u062c\u064e\u0645\u0650\u064a\u0644\u064e\u0629\u064c",
               "\u0627\u0644\u0631\u0642\u0645 \u0661\u0662\u0663\u0664 \u0648 \u06f1\u06f2\u06f3 \u0648 123"],
    "hebrew": ["\u05e9\u05dc\u05d5\u05dd \u05e2\u05d5\u05dc\u05dd, \u05de\u05d4 \u05e9\u05dc\u05d5\u05de\u05da?",
               "\u05d1\u05bc\u05b0\u05e8\u05b5\u05d0\u05e9\u05b4\u05c1\u05d9\u05ea \u05d1\u05bc\u05b8\u05e8\u05b8\u05d0 \u05d0\u05b1\u05dc\u05b9\u05d4\u05b4\u05d9\u05dd"],
    "devanagari": ["\u0928\u092e\u0938\u094d\u0924\u0947, \u0906\u092a \u0915\u0948\u0938\u0947 \u0939\u0948\u0902?",
                   "\u0915\u094d\u0937\u0924\u094d\u0930\u093f\u092f \u091c\u094d\u091e\u093e\u0928 \u0936\u094d\u0930\u0940 \u0926\u094d\u0935\u093e\u0930\u093e \u0967\u0968\u0969",
                   "\u0939\u093f\u0928\u094d\u0926\u0940 \u092e\u0947\u0902 \u0928\u0941\u0915\u094d\u0924\u093e: \u0915\u093c \u0916\u093c \u095b"],
    "thai": ["\u0e2a\u0e27\u0e31\u0e2a\u0e14\u0e35\u0e04\u0e23\u0e31\u0e1a \u0e22\u0e34\u0e19\u0e14\u0e35\u0e17\u0e35\u0e48\u0e44\u0e14\u0e49\u0e23\u0e39\u0e49\u0e08\u0e31\u0e01",
             "\u0e20\u0e32\u0e29\u0e32\u0e44\u0e17\u0e22\u0e44\u0e21\u0e48\u0e21\u0e35\u0e0a\u0e48\u0e2d\u0e07\u0e27\u0e48\u0e32\u0e07\u0e23\u0e30\u0e2b\u0e27\u0e48\u0e32\u0e07\u0e04\u0e33 \u0e51\u0e52\u0e53"],
    "cjk": ["\u6211\u4eec\u7684\u6a21\u578b\u5728\u4e2d\u6587\u68c0\u7d22\u4e0a\u8868\u73b0\u826f\u597d\u3002",
            "\u7e41\u9ad4\u4e2d\u6587\uff1a\u81fa\u7063\u7684\u6377\u904b\u5f88\u65b9\u4fbf\uff01",
            "\ud55c\uad6d\uc5b4 \ubb38\uc7a5\uc785\ub2c8\ub2e4. \uc11c\uc6b8\uc5d0\uc11c \ub9cc\ub098\uc694!",
            "\u1100\u1161\u11a8 \u1112\u1161\u11ab\u1100\u1173\u11af (conjoining jamo)"],
    "japanese": ["\u65e5\u672c\u8a9e\u306e\u6587\u7ae0\u3067\u3059\u3002\u30ab\u30bf\u30ab\u30ca\u3082\u6df7\u3056\u308a\u307e\u3059\u3002",
                 "\u30b3\u30f3\u30d4\u30e5\u30fc\u30bf\u30fc\u3068\uff8a\uff9d\uff76\uff78\uff76\uff80\uff76\uff85\u3001\u304c\u3099\u3071\u309a",
                 "\u6771\u4eac\u90fd\u6e0b\u8c37\u533a\u30672\u301c3\u65e5\u6ede\u5728\u3057\u307e\u3059\u3002"],
    "emoji": ["\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466 family",
              "\U0001f3f3\ufe0f\u200d\U0001f308 \U0001f3f4\u200d\u2620\ufe0f flags",
              "\U0001f44d\U0001f3fd\U0001f64f\U0001f3ff \u270c\ufe0f \u2764\ufe0f\u200d\U0001f525",
              "\U0001f9d1\u200d\U0001f4bb\U0001f469\U0001f3fe\u200d\U0001f52c keycaps 1\ufe0f\u20e3 #\ufe0f\u20e3",
              "\U0001f1fa\U0001f1e6\U0001f1ef\U0001f1f5\U0001f3f4\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f"],
    "marks": ["a\u0300\u0301\u0302\u0303\u0304 e\u0323\u0302 o\u031b\u0301 z\u0336\u0336",
              "Z\u0351\u036b\u0343\u036a\u0302\u036b\u033d\u034f\u0334\u0319\u0324\u031e\u0349\u035a\u032f\u031e\u0320\u034d A\u0334\u0335\u031c\u0330\u0354 L\u0328\u0346",
              "\u1e9b\u0323 \u0041\u030a \u212b \u00c5 \u0063\u0327\u0301"],
    "fullwidth": ["\uff34\uff4f\uff4b\uff59\uff4f\u3000\uff12\uff10\uff12\uff14\uff0d\uff10\uff11",
                  "\uff08\u6ce8\uff09\uff3b\uff11\uff3d\uff05\uff04\uffe5\uff20\uff03"],
    "invisible": ["zero\u200bwidth\u200cnon\u200djoiner\u2060word\ufeffBOM",
                  "soft\u00adhyphen and \u00a0nbsp and thin\u2009space and \u202fnarrow",
                  "rtl \u200f\u202bmarks\u202c \u2066isolate\u2069 ltr\u200e"],
    "code": ["for (size_t i = 0; i < n; ++i) { sum += a[i] * b[i]; }",
             "def f(x: int) -> dict[str, list[int]]: return {'k': [x, x**2]}",
             "SELECT COUNT(*) FROM t WHERE x <> 'a''b' AND y >= 3.14e-10;",
             "const re = /^[\\w.+-]+@[\\w-]+\\.[a-z]{2,}$/i; // email",
             "<div class=\"note\" data-id='42'>&lt;b&gt;&amp;nbsp;</div>",
             "git log --oneline | grep -E 'fix|feat' | wc -l && echo $((1 << 10))"],
    "numbers": ["3.14159265358979323846264338327950288419716939937510",
                "12345678901234567890123456789012345678901234567890123456789012345678901234567890",
                "1,234,567.89 1.234.567,89 1 234 567,89 \u0967\u0968\u0969 \u0e51\u0e52 \u0661\u0662",
                "+1 (555) 010-9999 ext. 42, 2024-06-11T12:34:56.789Z, 0x7FFF_FFFF, 1e-308, -0.0"],
}
seps = [" ", "  ", "\t", " \u3000 ", "\u200b", " | ", ", ", "\u00a0", "", " \u0301", " \U0001f525 "]
all_sentences = [x for group in scripts.values() for x in group]
for group in scripts.values():
    for x in group:
        add(x)
for _ in range(2700):
    k = rng.randint(2, 5)
    s = rng.choice(seps).join(rng.choice(all_sentences) for _ in range(k))
    if rng.random() < 0.15:
        s = s.upper()
    elif rng.random() < 0.15:
        s = s.lower()
    if rng.random() < 0.4:
        add_json(s)
    else:
        add(s)

# --- 10,000-character lines (words stay short: every stage test handles them) ------------------
def long_line(source, sep=" "):
    out = ""
    while len(out) < 10000:
        out += rng.choice(source) + sep
    return out[:10000]

add(long_line(all_sentences))
add(long_line(scripts["cjk"] + scripts["japanese"], "\u3000"))
add(long_line(scripts["emoji"] + scripts["marks"]))
add_json(long_line(scripts["invisible"] + scripts["code"], "\n"))
add(" ".join(str(rng.randint(0, 10**18)) for _ in range(600))[:10000])

# --- random mixtures -------------------------------------------------------------------------
pieces = (hand_prose + code[:10] + accented + cjk + emoji + specials + compat + urls
          + ["\u0301", "\u200b", "\ufffd", "\u00ad", "\u3000", "\t", "  ", "\u0130", "\u00df"])
while len(lines) < 5400:
    s = " ".join(rng.choice(pieces) for _ in range(rng.randint(2, 6)))
    if rng.random() < 0.5:
        add(s)
    else:
        add_json(s)

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "tokenizer_corpus.txt")
with open(out, "w", encoding="utf-8", newline="\n") as f:
    f.write("\n".join(lines) + "\n")
print(f"wrote {len(lines)} lines, {os.path.getsize(out)} bytes to {out}")
