"""An independent reading of docs/features.md "Transformer", for the integration tests.

    transform_oracle.py CONFIG_JSON TEXT...   -> one JSON list of feature vectors

CONFIG_JSON holds n_buckets, word_ngrams, char_ngrams, lowercase, norm, idf (optional) as in
the YAML file. Written from the documentation, not from src/features/transform.c.
"""
import json
import math
import sys


def fnv1a(data: bytes) -> int:
    h = 2166136261
    for b in data:
        h ^= b
        h = (h * 16777619) & 0xFFFFFFFF
    return h


def is_word(b: int) -> bool:
    return b >= 0x80 or chr(b).isascii() and chr(b).isalnum()


def tokens(text: bytes):
    out, cur = [], bytearray()
    for b in text:
        if is_word(b):
            cur.append(b)
        elif cur:
            out.append(bytes(cur))
            cur = bytearray()
    if cur:
        out.append(bytes(cur))
    return out


def code_points(word: bytes):
    """Splits UTF-8-ish bytes at every byte that is not a continuation byte."""
    cps, cur = [], bytearray()
    for b in word:
        if (b & 0xC0) == 0x80 and cur:
            cur.append(b)
        else:
            if cur:
                cps.append(bytes(cur))
            cur = bytearray([b])
    if cur:
        cps.append(bytes(cur))
    return cps


def vector(cfg, text: str):
    n = cfg.get("n_buckets", 50)
    wmin, wmax = cfg.get("word_ngrams", [1, 2])
    cmin, cmax = cfg.get("char_ngrams", [3, 5])
    raw = text.encode("utf-8")
    if cfg.get("lowercase", True):
        raw = bytes(b + 32 if 65 <= b <= 90 else b for b in raw)
    v = [0.0] * n
    toks = tokens(raw)
    if wmin:
        for k in range(wmin, wmax + 1):
            for i in range(len(toks) - k + 1):
                v[fnv1a(b"w" + b" ".join(toks[i:i + k])) % n] += 1
    if cmin:
        for t in toks:
            cps = code_points(b" " + t + b" ")
            for k in range(cmin, cmax + 1):
                if len(cps) <= k:
                    v[fnv1a(b"c" + b"".join(cps)) % n] += 1
                    break
                for i in range(len(cps) - k + 1):
                    v[fnv1a(b"c" + b"".join(cps[i:i + k])) % n] += 1
    if cfg.get("idf"):
        v = [x * w for x, w in zip(v, cfg["idf"])]
    if cfg.get("norm", "l2") == "l2":
        s = math.sqrt(sum(x * x for x in v))
        if s > 0:
            v = [x / s for x in v]
    return v


if __name__ == "__main__":
    cfg = json.loads(sys.argv[1])
    print(json.dumps([vector(cfg, t) for t in sys.argv[2:]]))
