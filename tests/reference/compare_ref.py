#!/usr/bin/python3
"""Independent re-implementation, for tests/test_compare.cpp, of the statistics of
src/eval/compare.h written from their definitions in docs/evaluation.md ("Comparing systems"):
splitmix64, the percentile bootstrap (numpy's default linear interpolation) and the paired
sign-flip randomisation test. Plain Python 3, no numpy. Not a port of compare.cpp and not a
validator: it assumes well-formed input.

Usage: compare_ref.py INPUT.json
INPUT: {"resamples": B, "trials": T, "seed": S, "confidence": C, "cases": [{"a": [...], "b": [...]}]}
Prints one JSON object: {"first_draws": [...], "cases": [{"ci_a", "ci_b", "ci_diff": [low, high],
"p_value", "exact"}]}, where diff = a - b per query and every interval comes from the same resamples.
"""
import json
import math
import sys

MASK = (1 << 64) - 1


class SplitMix64:
    def __init__(self, seed):
        self.state = seed & MASK

    def next(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        return z ^ (z >> 31)


def plain_sum(values):
    # Left to right, one rounding per addition (the builtin sum() compensates since Python 3.12).
    total = 0.0
    for v in values:
        total += v
    return total


def percentile_linear(sorted_values, q):
    h = (len(sorted_values) - 1) * q
    lo = math.floor(h)
    if lo + 1 >= len(sorted_values):
        return sorted_values[-1]
    return sorted_values[lo] + (h - lo) * (sorted_values[lo + 1] - sorted_values[lo])


def interval(means, confidence):
    means = sorted(means)
    tail = (1 - confidence) / 2
    return [percentile_linear(means, tail), percentile_linear(means, 1 - tail)]


def bootstrap(series, resamples, seed):
    n = len(series[0])
    rng = SplitMix64(seed)
    out = [[] for _ in series]
    for _ in range(resamples):
        idx = [rng.next() % n for _ in range(n)]
        for s, values in enumerate(series):
            out[s].append(plain_sum(values[i] for i in idx) / n)
    return out


def randomisation(a, b, trials, seed):
    d = [x - y for x, y in zip(a, b)]
    n = len(d)
    threshold = abs(plain_sum(d)) - 1e-9 * plain_sum(abs(x) for x in d)
    count = 0
    if n < 63 and (1 << n) <= trials:
        for mask in range(1 << n):
            s = plain_sum(-d[i] if (mask >> i) & 1 else d[i] for i in range(n))
            if abs(s) >= threshold:
                count += 1
        return count / (1 << n), True
    rng = SplitMix64(seed)
    for _ in range(trials):
        s = plain_sum(-x if rng.next() >> 63 else x for x in d)
        if abs(s) >= threshold:
            count += 1
    return (count + 1) / (trials + 1), False


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        spec = json.load(f)
    rng = SplitMix64(spec["seed"])
    result = {"first_draws": [str(rng.next()) for _ in range(3)], "cases": []}
    for case in spec["cases"]:
        a, b = case["a"], case["b"]
        diff = [x - y for x, y in zip(a, b)]
        boot = bootstrap([a, b, diff], spec["resamples"], spec["seed"])
        p, exact = randomisation(a, b, spec["trials"], spec["seed"])
        result["cases"].append({
            "ci_a": interval(boot[0], spec["confidence"]),
            "ci_b": interval(boot[1], spec["confidence"]),
            "ci_diff": interval(boot[2], spec["confidence"]),
            "p_value": p,
            "exact": exact,
        })
    print(json.dumps(result))


if __name__ == "__main__":
    main()
