#!/usr/bin/python3
"""PyTorch reference for src/ops/loss_pairs.h: CoSENT, AnglE, Triplet and MarginMSE as sentence-transformers
computes them, in float64, with autograd input gradients. Not sentence-transformers itself, and not a trainer.

Usage: loss_pairs_ref.py DIR. DIR holds spec.json ({"loss": "cosent" | "angle" | "triplet" | "margin_mse",
plus "scale", "margin", "metric" or "num_negatives" as the loss needs) and float32 .npy inputs:
  cosent, angle:  a.npy, b.npy (B, D), labels.npy (1, B)
  triplet:        a.npy, p.npy, n.npy (B, D)
  margin_mse:     q.npy, pos.npy (B, D), negs.npy (K * B, D) (negative k of query i in row k * B + i),
                  labels.npy (B, K)
Writes DIR/out.json: {"loss": float, "grads": {input name: flat list}}. JSON keeps every float64 digit,
which a float32 .npy would not.
"""
import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F


# sentence_transformers.util.pairwise_cos_sim: dot product of F.normalize'd rows (eps 1e-12).
def pairwise_cos_sim(x, y):
    return (F.normalize(x, p=2, dim=1) * F.normalize(y, p=2, dim=1)).sum(dim=-1)


# sentence_transformers.util.pairwise_angle_sim, including the zero padding of an odd dimension.
def pairwise_angle_sim(x, y):
    if x.shape[1] % 2 != 0:
        x = F.pad(x, (0, 1), mode="constant", value=0)
        y = F.pad(y, (0, 1), mode="constant", value=0)
    a, b = torch.chunk(x, 2, dim=1)
    c, d = torch.chunk(y, 2, dim=1)
    z = torch.sum(c**2 + d**2, dim=1, keepdim=True)
    re = (a * c + b * d) / z
    im = (b * c - a * d) / z
    dz = torch.sum(a**2 + b**2, dim=1, keepdim=True) ** 0.5
    dw = torch.sum(c**2 + d**2, dim=1, keepdim=True) ** 0.5
    re = re / (dz / dw)
    im = im / (dz / dw)
    return torch.abs(torch.sum(torch.cat((re, im), dim=1), dim=1))


# CoSENTLoss.compute_loss_from_embeddings with a given pairwise similarity.
def cosent(a, b, labels, scale, similarity):
    scores = similarity(a, b) * scale
    scores = scores[:, None] - scores[None, :]
    mask = (labels[:, None] < labels[None, :]).to(scores.dtype)
    scores = scores - (1 - mask) * 1e12
    scores = torch.cat((torch.zeros(1, dtype=scores.dtype), scores.view(-1)), dim=0)
    return torch.logsumexp(scores, dim=0)


# TripletDistanceMetric.
TRIPLET_METRICS = {
    "euclidean": lambda x, y: F.pairwise_distance(x, y, p=2),
    "cosine": lambda x, y: 1 - F.cosine_similarity(x, y),
    "manhattan": lambda x, y: F.pairwise_distance(x, y, p=1),
}


def triplet(a, p, n, margin, metric):
    distance = TRIPLET_METRICS[metric]
    return F.relu(distance(a, p) - distance(a, n) + margin).mean()


# MarginMSELoss.compute_loss_from_embeddings with pairwise_dot_score and labels of shape (B, K).
def margin_mse(q, pos, negs, labels):
    scores_pos = (q * pos).sum(dim=-1)
    margins = torch.stack([scores_pos - (q * neg).sum(dim=-1) for neg in negs], dim=1)
    return F.mse_loss(margins, labels)


def main():
    folder = sys.argv[1]
    spec = json.load(open(os.path.join(folder, "spec.json")))

    def load(name, grad=True):
        t = torch.from_numpy(np.load(os.path.join(folder, name + ".npy")).astype(np.float64))
        return t.requires_grad_(grad)

    kind = spec["loss"]
    if kind in ("cosent", "angle"):
        inputs = {"a": load("a"), "b": load("b")}
        labels = load("labels", grad=False).reshape(-1)
        similarity = pairwise_cos_sim if kind == "cosent" else pairwise_angle_sim
        loss = cosent(inputs["a"], inputs["b"], labels, spec["scale"], similarity)
    elif kind == "triplet":
        inputs = {"a": load("a"), "p": load("p"), "n": load("n")}
        loss = triplet(inputs["a"], inputs["p"], inputs["n"], spec["margin"], spec["metric"])
    elif kind == "margin_mse":
        inputs = {"q": load("q"), "pos": load("pos"), "negs": load("negs")}
        negs = torch.chunk(inputs["negs"], spec["num_negatives"], dim=0)
        loss = margin_mse(inputs["q"], inputs["pos"], negs, load("labels", grad=False))
    else:
        raise SystemExit(f"unknown loss {kind!r}")
    loss.backward()
    out = {"loss": loss.item(), "grads": {k: v.grad.reshape(-1).tolist() for k, v in inputs.items()}}
    json.dump(out, open(os.path.join(folder, "out.json"), "w"))


if __name__ == "__main__":
    main()
