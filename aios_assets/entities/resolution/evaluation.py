"""Pairwise precision, recall and F1 of a clustering against true labels (benchmarks, tests)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any


def pairwise_from_labels(pred: Mapping[Any, Any], truth: Mapping[Any, Any]) -> dict[str, float]:
    keys = [k for k in truth if k in pred]

    def pairs(counter: Iterable[int]) -> int:
        return sum(c * (c - 1) // 2 for c in counter)

    tp = pairs(Counter((pred[k], truth[k]) for k in keys).values())
    pred_pairs = pairs(Counter(pred[k] for k in keys).values())
    true_pairs = pairs(Counter(truth[k] for k in keys).values())
    precision = tp / pred_pairs if pred_pairs else 1.0
    recall = tp / true_pairs if true_pairs else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "precision": precision, "recall": recall, "f1": f1,
        "tp": tp, "fp": pred_pairs - tp, "fn": true_pairs - tp,
    }
