"""The embedder's FLOP accounting (benchmarks/embeddings_bench.py reports the embedder against
the machine's matrix-product rate with it) and the batching rule it shares with the encoder."""

from __future__ import annotations

import numpy as np
import pytest

from aios_assets.llm.embeddings import MiniLMEmbedder, length_batches


@pytest.fixture(scope="module")
def model():
    return MiniLMEmbedder().load()


def test_batches_sort_by_length_then_slice():
    assert length_batches([5, 1, 3, 2], 2) == [[1, 3], [2, 0]]
    assert length_batches([4, 4, 4], 8) == [[0, 1, 2]]
    assert length_batches([], 8) == []


def test_one_text_costs_twice_its_linear_weights_per_token_plus_attention(model):
    """Cross-checked against the loaded weight matrices, not a second copy of the formula:
    a dense layer costs 2 FLOPs per weight per token; attention 4 * s^2 * hidden per layer."""
    linear_weights = sum(w.size for layer in model.layers
                         for w in (layer.w_qkv, layer.w_o, layer.w_i, layer.w_out))
    for s in (2, 17, 128):
        run, alone = model.forward_flops([s], 8)
        expected = 2 * s * linear_weights + 4 * s * s * model.hidden * len(model.layers)
        assert run == alone == expected


def test_padding_is_what_a_batch_adds_to_its_shorter_texts(model):
    run, alone = model.forward_flops([2, 40], 2)  # one batch, the short text padded to 40
    assert run == 2 * model.forward_flops([40], 1)[0]
    assert alone == model.forward_flops([2], 1)[0] + model.forward_flops([40], 1)[0]
    assert model.forward_flops([2, 40], 1) == (alone, alone)  # one text a batch: no padding


def test_batch_size_does_not_change_the_vectors():
    texts = ["short", "a somewhat longer sentence about invoices and Friday",
             "mid length text here", ""]
    one = MiniLMEmbedder(batch_size=1).embed(texts)
    default = MiniLMEmbedder().embed(texts)
    np.testing.assert_allclose(one, default, atol=1e-5)
