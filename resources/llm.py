"""The LLM resource: tiered chat completions with a cache, budgets and a cost ledger.

One resource over the ``openai`` client for any OpenAI-compatible endpoint (OpenAI, Ollama,
vLLM, llama.cpp server) by base URL, plus the offline tier (:mod:`aios_assets.llm.offline`) that
needs no network and no key.

Routing of :meth:`LLMResource.complete`:

* no endpoint (``base_url`` and ``$AIOS_LLM_BASE_URL`` unset): the offline tier: the ``offline``
  callable if given, else the built-in handler for the task (summarize, classify, draft);
* with an endpoint: the cheap model first, the strong model directly when
  ``value >= strong_value_threshold``, and cheap -> strong when ``accept(text)`` is False;
* transient failures (429 honouring Retry-After, 500/502/503/504, timeouts, resets) are retried
  by tenacity with exponential backoff and jitter (the openai client's own retries are off);
  when they persist the call degrades to the offline tier with ``degraded=True`` and a warning;
* the endpoint sits behind the circuit breaker and token-bucket rate limit the capability
  adapters use too (:mod:`aios_assets.shared.limits`, set up by ``EndpointLimits``):
  ``breaker_threshold`` consecutive transient failures open it, and while it is open calls
  degrade at once without reaching the endpoint; after ``breaker_reset_s`` one trial call
  goes through and closes it again on success;
  permanent ones (400/401/403/404/...) raise :class:`LLMPermanentError` (never with the key);
* a cache in Postgres (``aios.llm_cache``, keyed by :func:`prompt_hash`, TTL ``cache_ttl_s``)
  answers repeats for free;
* budgets per agent and overall, in dollars and tokens per UTC day (set here or by
  ``$AIOS_LLM_DAILY_BUDGET_USD`` and friends: :mod:`resources.budgets`), are held against the
  ledger before every paid call; over budget (``over_budget``, else ``$AIOS_LLM_OVER_BUDGET``):
  ``degrade`` (offline tier, ``degraded=True``, the reason says who spent what; the default)
  or ``stop`` (:class:`BudgetExceeded`); :func:`usage_metadata` puts the reasons on the
  asset's materialization;
* every call (offline, cache hits and failures too) is one row in ``aios.llm_calls``: run,
  asset, agent, task, tier, model, prompt hash, tokens, cost, latency. Never prompt text, never
  the key. The ``cost_ledger`` asset mirrors it into DuckDB.

Tokens of offline calls are estimated with :func:`estimate_tokens` (ceil(characters / 4)).

:meth:`LLMResource.complete` may be called from several threads at once (the ``summaries``
asset does): each call opens its own Postgres connection; the openai client (created once,
under a lock), the breaker and the rate bucket are shared and thread-safe. Budgets are checked
before a call and charged after it, so concurrent calls may overshoot a budget by the calls
already in flight.
"""

import hashlib
import json
import logging
import os
import re
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

import dagster as dg
import psycopg
import tenacity
from pydantic import Field, PrivateAttr

from aios_assets.llm.ledger import LEDGER_COLUMNS, LLM_DDL
from aios_assets.llm.offline import OFFLINE_TASKS, UnknownOfflineTask, offline_handler
from aios_assets.shared.home import AiosHome
from aios_assets.shared.http import retry_after_s
from aios_assets.shared.limits import (
    CircuitBreaker,
    CircuitOpen,
    EndpointLimits,
    TokenBucket,
    admit,
)
from aios_assets.shared.postgres import PostgresUnavailable, apply_ddl, resolve_url
from aios_assets.shared.postgres import connect as pg_connect
from aios_assets.shared.text import estimate_tokens, storable
from resources.budgets import Spend, budget_settings, over_budget_action

if TYPE_CHECKING:  # imported on first use: half a second no offline run needs
    import openai

logger = logging.getLogger("aios.llm")

BASE_URL_ENV = "AIOS_LLM_BASE_URL"
API_KEY_ENV = "AIOS_LLM_API_KEY"
NO_KEY = "no-key"  # what the client sends to endpoints that need no key (Ollama, vLLM)
OFFLINE_MODEL = "offline"
Tier = Literal["offline", "cheap", "strong"]

# USD per 1M tokens, [input, output]. Models missing here (local ones) cost 0.
DEFAULT_PRICES: dict[str, list[float]] = {
    "gpt-4o-mini": [0.15, 0.60],
    "gpt-4o": [2.50, 10.00],
    OFFLINE_MODEL: [0.0, 0.0],
}

RETRYABLE_STATUS = frozenset({408, 429, 500, 502, 503, 504})

# --- errors ---------------------------------------------------------------------------------


class LLMError(RuntimeError):
    """Base of the LLM resource's errors."""


class LLMPermanentError(LLMError):
    """The endpoint refused the request for good (bad request, bad key, unknown model)."""

    def __init__(self, message: str, *, status_code: int | None, error_class: str) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.error_class = error_class


class LLMUnavailable(LLMError):
    """The endpoint failed after retries and the task has no offline tier to degrade to."""


class BudgetExceeded(LLMError):
    """A budget is spent and ``over_budget="stop"``."""


# --- pure helpers ---------------------------------------------------------------------------


def prompt_hash(model: str, system: str | None, prompt: str, max_tokens: int, task: str) -> str:
    """The cache key: sha256 over model, system, prompt, max_tokens and task."""
    payload = json.dumps([model, system, prompt, max_tokens, task], ensure_ascii=False)
    return hashlib.sha256(payload.encode()).hexdigest()


def call_cost(prices: Mapping[str, list[float]], model: str, prompt_tokens: int,
              completion_tokens: int) -> float:
    """USD for one call: tokens x price per 1M ([input, output]); unpriced models cost 0."""
    if model == OFFLINE_MODEL:
        return 0.0
    price = prices.get(model)
    if not price:
        return 0.0
    inp, out = (list(price) + [0.0, 0.0])[:2]
    return (prompt_tokens * inp + completion_tokens * out) / 1_000_000


def is_retryable(exc: BaseException) -> bool:
    """429, 408, 5xx gateway/server errors, timeouts and connection errors are transient."""
    import openai

    if isinstance(exc, openai.APIStatusError):
        return exc.status_code in RETRYABLE_STATUS
    return isinstance(exc, openai.APIConnectionError)  # includes APITimeoutError, resets


def retry_wait(initial_s: float, max_s: float, retry_after_cap_s: float,
               ) -> Callable[[tenacity.RetryCallState], float]:
    """Tenacity wait: the server's Retry-After (capped) if given, else exponential + jitter."""
    backoff = tenacity.wait_exponential_jitter(initial=initial_s, max=max_s, jitter=initial_s)

    def wait(state: tenacity.RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        asked = retry_after_s(exc)
        if asked is not None:
            return min(asked, retry_after_cap_s)
        return backoff(state)

    return wait


def error_label(exc: BaseException) -> str:
    """``RateLimitError 429`` / ``APITimeoutError``: the class and status, never a message."""
    status = getattr(exc, "status_code", None)
    return f"{type(exc).__name__} {status}" if status else type(exc).__name__


_KEYLIKE = re.compile(r"\b(?:sk|pk|rk|key)-[A-Za-z0-9_\-]{4,}|Bearer\s+\S+", re.IGNORECASE)
_KEY_PROVIDED = re.compile(r"(API key provided:?\s*)\S+", re.IGNORECASE)


def scrub(text: str, secret: str | None) -> str:
    """Remove the key (and anything key-shaped) from a server message."""
    if secret and len(secret) >= 4:
        text = text.replace(secret, "***")
    text = _KEY_PROVIDED.sub(r"\1***", text)
    return _KEYLIKE.sub("***", text)


def permanent_error(exc: "openai.OpenAIError", model: str, secret: str | None) -> LLMPermanentError:
    """A clear, key-free :class:`LLMPermanentError` for a refused request."""
    status = getattr(exc, "status_code", None)
    cls = type(exc).__name__
    if status in (401, 403):
        detail = f"the endpoint rejected the API key or its permissions; check ${API_KEY_ENV}"
    else:
        body = getattr(exc, "body", None)
        if isinstance(body, dict):
            inner = body.get("error") if isinstance(body.get("error"), dict) else body
            detail = str(inner.get("message") or inner)
        else:
            detail = str(body) if body is not None else cls
        detail = scrub(detail, secret)[:300]
    where = f"HTTP {status}" if status else "a permanent error"
    return LLMPermanentError(
        f"LLM request to model {model!r} failed with {where} ({cls}): {detail}",
        status_code=status, error_class=cls,
    )


def utc_day_start(now: datetime | None = None) -> datetime:
    now = now or datetime.now(UTC)
    return now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


# --- results --------------------------------------------------------------------------------


@dataclass(frozen=True)
class LLMResult:
    """One answer of :meth:`LLMResource.complete`.

    Tokens and ``cost_usd`` cover the whole call: after an escalation they include the rejected
    cheap attempt (the ledger has one row per attempt).
    """

    text: str
    tier: Tier
    model: str
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    cache_hit: bool
    prompt_hash: str
    degraded: bool
    reason: str
    escalated: bool = False


def usage_metadata(results: Iterable[LLMResult]) -> dict[str, Any]:
    """Token and cost figures of an asset's LLM calls, to attach as output metadata."""
    rs = list(results)
    tiers = Counter(r.tier for r in rs)
    return {
        "llm_calls": len(rs),
        "llm_cache_hits": sum(r.cache_hit for r in rs),
        "llm_degraded": sum(r.degraded for r in rs),
        "llm_escalated": sum(r.escalated for r in rs),
        "llm_prompt_tokens": sum(r.prompt_tokens for r in rs),
        "llm_completion_tokens": sum(r.completion_tokens for r in rs),
        "llm_cost_usd": round(sum(r.cost_usd for r in rs), 6),
        "llm_tiers": ", ".join(f"{t}: {n}" for t, n in sorted(tiers.items())) or "none",
        # why calls were degraded (over budget, endpoint down), so the run says so
        **({"llm_degraded_reasons": "; ".join(sorted({r.reason for r in rs if r.degraded}))}
           if any(r.degraded for r in rs) else {}),
    }


# --- schema ---------------------------------------------------------------------------------

_SCHEMA_READY: set[str] = set()
# Threads of one process finding the ledger at once (summaries call the LLM from a pool): the
# embedded server's start-up lock is a file lock, which excludes processes but not threads, and
# concurrent CREATE ... IF NOT EXISTS can collide in Postgres.
_SETUP_LOCK = threading.Lock()


def ensure_llm_schema(url: str) -> None:
    """Create ``aios.llm_cache`` and ``aios.llm_calls`` once per database (idempotent)."""
    if url in _SCHEMA_READY:
        return
    with _SETUP_LOCK:
        if url not in _SCHEMA_READY:
            apply_ddl(url, "llm_v1", LLM_DDL)
            _SCHEMA_READY.add(url)


# --- internals ------------------------------------------------------------------------------

Context = dg.OpExecutionContext | dg.AssetExecutionContext


@dataclass(frozen=True)
class _Request:
    agent: str
    task: str
    prompt: str
    system: str | None
    max_tokens: int
    offline: Callable[[], str] | None
    run_id: str | None
    asset: str | None
    context: Context | None


@dataclass(frozen=True)
class _Fallback:
    """A paid tier could not be used: why, and whether for budget or for the endpoint."""

    reason: str
    kind: Literal["budget", "endpoint"]


class _EndpointDown(Exception):
    def __init__(self, last: BaseException, attempts: int) -> None:
        super().__init__(error_label(last))
        self.last = last
        self.attempts = attempts


def _context_labels(context: Context | None) -> tuple[str | None, str | None]:
    if context is None:
        return None, None
    asset = None
    if context.has_assets_def:
        keys = context.selected_asset_keys or context.assets_def.keys
        asset = ",".join(sorted(k.to_user_string() for k in keys))
    return context.run_id, asset


def _log(context: Context | None, level: int, msg: str) -> None:
    if context is not None:
        context.log.log(level, msg)
    else:
        logger.log(level, msg)


# --- the resource ---------------------------------------------------------------------------


class LLMResource(dg.ConfigurableResource):
    """Tiered LLM completions with an offline tier, a cache, budgets and a cost ledger.

    ``base_url`` None (and ``$AIOS_LLM_BASE_URL`` unset) means offline tier only. ``api_key``
    None reads ``$AIOS_LLM_API_KEY``; configure it with ``dg.EnvVar`` only, never a literal.
    The ledger and cache live in ``postgres_url`` or ``$AIOS_POSTGRES_URL`` or the embedded
    server under ``home`` / ``$AIOS_HOME``.
    """

    base_url: str | None = None
    api_key: str | None = Field(default=None, repr=False)
    cheap_model: str = "gpt-4o-mini"
    strong_model: str = "gpt-4o"
    strong_value_threshold: float = 0.8
    timeout_s: float = 30.0
    max_retries: int = 3
    backoff_initial_s: float = 0.5
    backoff_max_s: float = 8.0
    retry_after_cap_s: float = 30.0
    cache_ttl_s: float = 7 * 24 * 3600.0
    # The breaker and rate limiter of aios_assets/shared/limits.py (as the adapters'), per
    # instance.
    rate_per_s: float | None = None
    rate_burst: int = 5
    breaker_threshold: int = 5
    breaker_reset_s: float = 30.0
    daily_budget_usd: float | None = None
    agent_daily_budget_usd: dict[str, float] = Field(default_factory=dict)
    daily_budget_tokens: int | None = None
    agent_daily_budget_tokens: dict[str, int] = Field(default_factory=dict)
    # "degrade" or "stop"; None: $AIOS_LLM_OVER_BUDGET, else "degrade" (resources/budgets.py;
    # a str, not a Literal: Dagster's config cannot type an optional Literal)
    over_budget: str | None = None
    prices: dict[str, list[float]] = Field(
        default_factory=lambda: {m: list(p) for m, p in DEFAULT_PRICES.items()})
    postgres_url: str | None = Field(default=None, repr=False)
    home: str | None = None

    _client: Any = PrivateAttr(default=None)  # an openai.OpenAI once used
    _client_for: tuple[str, str] | None = PrivateAttr(default=None)
    _client_lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)
    _limits: EndpointLimits = PrivateAttr(default_factory=EndpointLimits)

    @property
    def breaker(self) -> CircuitBreaker:
        """The endpoint's circuit breaker (shared by both tiers: one endpoint)."""
        return self._limits.breaker(self)

    def _rate_bucket(self) -> TokenBucket | None:
        return self._limits.bucket(self)

    # --- configuration ------------------------------------------------------------------------
    def endpoint(self) -> str | None:
        """The base URL in use, or None for the offline tier only."""
        url = (self.base_url or os.environ.get(BASE_URL_ENV) or "").strip()
        return url or None

    def _key(self) -> str:
        return self.api_key or os.environ.get(API_KEY_ENV) or NO_KEY

    def model_for(self, tier: Tier) -> str:
        return {"cheap": self.cheap_model, "strong": self.strong_model}.get(tier, OFFLINE_MODEL)

    def ledger_url(self) -> str:
        """The Postgres URL of the ledger and cache (schema created on first use)."""
        if self.postgres_url:
            url = self.postgres_url
        else:
            with _SETUP_LOCK:  # at most one thread starts the embedded server
                url = resolve_url(AiosHome.from_env(self.home))
        ensure_llm_schema(url)
        return url

    def client(self) -> "openai.OpenAI":
        """The openai client for the endpoint (its own retries off: tenacity retries)."""
        base = self.endpoint()
        if base is None:
            raise LLMError(f"no LLM endpoint configured (base_url / ${BASE_URL_ENV})")
        key = self._key()
        ident = (base, hashlib.sha256(key.encode()).hexdigest())
        with self._client_lock:  # one client (one connection pool) for concurrent callers
            if self._client is None or self._client_for != ident:
                import openai

                self._client = openai.OpenAI(
                    base_url=base, api_key=key, timeout=self.timeout_s, max_retries=0)
                self._client_for = ident
            return self._client

    @contextmanager
    def _connect(self) -> Iterator[psycopg.Connection]:
        url = self.ledger_url()
        try:
            con = pg_connect(url, autocommit=True)
        except psycopg.OperationalError as exc:
            raise PostgresUnavailable(f"cannot reach the LLM ledger database: {exc}") from None
        try:
            yield con
        finally:
            con.close()

    # --- ledger, budgets, cache -------------------------------------------------------------
    def spend_today(self, agent: str | None = None, con: psycopg.Connection | None = None,
                    ) -> Spend:
        """Dollars and tokens spent today (UTC) on paid calls, overall and for ``agent``."""
        if con is None:
            with self._connect() as own:
                return self.spend_today(agent, own)
        row = con.execute(
            """SELECT coalesce(sum(cost_usd) FILTER (WHERE agent = %(a)s), 0),
                      coalesce(sum(prompt_tokens + completion_tokens)
                               FILTER (WHERE agent = %(a)s), 0),
                      coalesce(sum(cost_usd), 0),
                      coalesce(sum(prompt_tokens + completion_tokens), 0)
               FROM aios.llm_calls
               WHERE called_at >= %(day)s AND NOT cache_hit AND tier <> 'offline'""",
            {"a": agent, "day": utc_day_start()},
        ).fetchone()
        return Spend(float(row[0]), int(row[1]), float(row[2]), int(row[3]))

    def _budget_problem(self, con: psycopg.Connection, agent: str) -> str | None:
        # The settings the cost views show (resources/budgets.py): this resource's, else the
        # environment's.
        settings = budget_settings(self)
        if not settings.limits(agent):
            return None
        return settings.problem(agent, self.spend_today(agent, con))

    def _record(self, con: psycopg.Connection, req: _Request, *, tier: str, model: str,
                phash: str, prompt_tokens: int = 0, completion_tokens: int = 0,
                cost_usd: float = 0.0, cache_hit: bool = False, degraded: bool = False,
                outcome: str = "ok", error_class: str | None = None, reason: str | None = None,
                attempts: int = 0, started: float) -> None:
        row = {
            "call_id": uuid.uuid4(), "called_at": datetime.now(UTC), "run_id": req.run_id,
            "asset": req.asset, "agent": req.agent, "task": req.task, "tier": tier,
            "model": model, "prompt_hash": phash, "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens, "cost_usd": cost_usd,
            "cache_hit": cache_hit, "degraded": degraded, "outcome": outcome,
            "error_class": error_class, "reason": reason, "attempts": attempts,
            "latency_ms": int((time.monotonic() - started) * 1000),
        }
        cols = ", ".join(LEDGER_COLUMNS)
        vals = ", ".join(f"%({c})s" for c in LEDGER_COLUMNS)
        con.execute(f"INSERT INTO aios.llm_calls ({cols}) VALUES ({vals})", row)

    def _cache_get(self, con: psycopg.Connection, phash: str) -> tuple[str, int, int] | None:
        if self.cache_ttl_s <= 0:
            return None
        row = con.execute(
            """SELECT response, prompt_tokens, completion_tokens FROM aios.llm_cache
               WHERE prompt_hash = %s AND expires_at > now()""", (phash,)).fetchone()
        return (row[0], int(row[1]), int(row[2])) if row else None

    def _cache_put(self, con: psycopg.Connection, phash: str, req: _Request, tier: str,
                   model: str, text: str, prompt_tokens: int, completion_tokens: int) -> None:
        if self.cache_ttl_s <= 0:
            return
        con.execute("DELETE FROM aios.llm_cache WHERE expires_at <= now()")
        con.execute(
            """INSERT INTO aios.llm_cache (prompt_hash, task, tier, model, response,
                   prompt_tokens, completion_tokens, created_at, expires_at)
               VALUES (%s, %s, %s, %s, %s, %s, %s, now(), now() + make_interval(secs => %s))
               ON CONFLICT (prompt_hash) DO UPDATE SET response = EXCLUDED.response,
                   prompt_tokens = EXCLUDED.prompt_tokens,
                   completion_tokens = EXCLUDED.completion_tokens,
                   created_at = EXCLUDED.created_at, expires_at = EXCLUDED.expires_at""",
            (phash, req.task, tier, model, text, prompt_tokens, completion_tokens,
             self.cache_ttl_s))

    # --- tiers ----------------------------------------------------------------------------------
    def _offline(self, con: psycopg.Connection, req: _Request, *, reason: str,
                 degraded: bool, fallback: _Fallback | None = None) -> LLMResult:
        started = time.monotonic()
        phash = prompt_hash(OFFLINE_MODEL, req.system, req.prompt, req.max_tokens, req.task)
        if req.offline is None and req.task not in OFFLINE_TASKS:
            why = (f"no offline tier for task {req.task!r}: pass offline=callable "
                   f"(built in: {', '.join(OFFLINE_TASKS)})")
            if fallback is None:
                exc: LLMError | UnknownOfflineTask = UnknownOfflineTask(why)
            elif fallback.kind == "budget":
                exc = BudgetExceeded(f"{fallback.reason}; {why}")
            else:
                exc = LLMUnavailable(f"{fallback.reason}; {why}")
            self._record(con, req, tier="offline", model=OFFLINE_MODEL, phash=phash,
                         degraded=degraded, outcome="error", error_class=type(exc).__name__,
                         reason=reason, started=started)
            raise exc
        try:
            if req.offline is not None:
                text = req.offline()
            else:
                text = offline_handler(req.task)(req.prompt, req.system, req.max_tokens)
        except Exception as exc:
            self._record(con, req, tier="offline", model=OFFLINE_MODEL, phash=phash,
                         degraded=degraded, outcome="error", error_class=type(exc).__name__,
                         reason=reason, started=started)
            raise
        text = str(text)
        pt = estimate_tokens((req.system or "") + req.prompt)
        ct = estimate_tokens(text)
        self._record(con, req, tier="offline", model=OFFLINE_MODEL, phash=phash,
                     prompt_tokens=pt, completion_tokens=ct, degraded=degraded, reason=reason,
                     started=started)
        return LLMResult(text=text, tier="offline", model=OFFLINE_MODEL, prompt_tokens=pt,
                         completion_tokens=ct, cost_usd=0.0, cache_hit=False, prompt_hash=phash,
                         degraded=degraded, reason=reason)

    def _call_endpoint(self, req: _Request, model: str) -> tuple[Any, int]:
        """One chat completion with tenacity retries: (response, attempts)."""
        import openai

        messages = ([{"role": "system", "content": req.system}] if req.system else [])
        messages.append({"role": "user", "content": req.prompt})
        client = self.client()

        def before_sleep(state: tenacity.RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            wait = state.next_action.sleep if state.next_action else 0.0
            _log(req.context, logging.WARNING,
                 f"LLM call to {model} failed ({error_label(exc) if exc else '?'}), "
                 f"retry {state.attempt_number}/{self.max_retries} in {wait:.2f}s")

        breaker, bucket = self.breaker, self._rate_bucket()
        called = 0

        def attempt() -> Any:
            nonlocal called
            admit(breaker, bucket)  # CircuitOpen: the endpoint is not called at all
            called += 1
            try:
                response = client.chat.completions.create(
                    model=model, messages=messages, max_tokens=req.max_tokens)
            except openai.OpenAIError as exc:
                # transient failures count against the endpoint; a bad request does not
                if is_retryable(exc):
                    breaker.failure()
                else:
                    breaker.neutral()
                raise
            breaker.success()
            return response

        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception(is_retryable),  # CircuitOpen: no retry
            stop=tenacity.stop_after_attempt(max(0, self.max_retries) + 1),
            wait=retry_wait(self.backoff_initial_s, self.backoff_max_s, self.retry_after_cap_s),
            before_sleep=before_sleep,
            reraise=True,
        )
        try:
            response = retrying(attempt)
        except CircuitOpen as exc:
            raise _EndpointDown(exc, called) from None
        except openai.OpenAIError as exc:
            if is_retryable(exc):
                raise _EndpointDown(exc, called) from None
            raise
        return response, called

    def _paid(self, con: psycopg.Connection, req: _Request, tier: Tier,
              ) -> LLMResult | _Fallback:
        """Answer from ``tier`` (cache first), or say why it cannot be used."""
        import openai

        started = time.monotonic()
        model = self.model_for(tier)
        phash = prompt_hash(model, req.system, req.prompt, req.max_tokens, req.task)
        hit = self._cache_get(con, phash)
        if hit is not None:
            text, pt, ct = hit
            self._record(con, req, tier=tier, model=model, phash=phash, prompt_tokens=pt,
                         completion_tokens=ct, cache_hit=True, reason="cache hit",
                         started=started)
            return LLMResult(text=text, tier=tier, model=model, prompt_tokens=pt,
                             completion_tokens=ct, cost_usd=0.0, cache_hit=True,
                             prompt_hash=phash, degraded=False, reason="cache hit")
        problem = self._budget_problem(con, req.agent)
        if problem is not None:
            if over_budget_action(self) == "stop":
                self._record(con, req, tier=tier, model=model, phash=phash, outcome="error",
                             error_class="BudgetExceeded", reason=problem, started=started)
                _log(req.context, logging.ERROR, f"LLM call stopped: {problem}")
                raise BudgetExceeded(problem)
            return _Fallback(problem, "budget")
        error: LLMPermanentError | None = None
        try:
            response, attempts = self._call_endpoint(req, model)
        except _EndpointDown as down:
            label = error_label(down.last)
            why = (f"LLM endpoint circuit open after repeated failures ({down.last}); "
                   f"not called" if isinstance(down.last, CircuitOpen) and not down.attempts
                   else f"LLM endpoint unavailable after {down.attempts} attempt(s) ({label})")
            self._record(con, req, tier=tier, model=model, phash=phash, outcome="error",
                         error_class=type(down.last).__name__, reason=why[:300],
                         attempts=down.attempts, started=started)
            return _Fallback(why, "endpoint")
        except openai.OpenAIError as exc:
            error = permanent_error(exc, model, self._key())
        if error is not None:  # raised outside the except block: no chained key-bearing error
            self._record(con, req, tier=tier, model=model, phash=phash, outcome="error",
                         error_class=error.error_class, reason=str(error)[:300], attempts=1,
                         started=started)
            raise error
        text = (response.choices[0].message.content or "") if response.choices else ""
        if text is not (clean := storable(text)):  # a stored NUL would fail every later run
            logger.warning("the %s answer held NUL or invalid characters: replaced by U+FFFD",
                        model)
            text = clean
        usage = response.usage
        pt = usage.prompt_tokens if usage else estimate_tokens((req.system or "") + req.prompt)
        ct = usage.completion_tokens if usage else estimate_tokens(text)
        cost = call_cost(self.prices, model, pt, ct)
        reason = f"{tier} tier"
        self._cache_put(con, phash, req, tier, model, text, pt, ct)
        self._record(con, req, tier=tier, model=model, phash=phash, prompt_tokens=pt,
                     completion_tokens=ct, cost_usd=cost, reason=reason, attempts=attempts,
                     started=started)
        return LLMResult(text=text, tier=tier, model=model, prompt_tokens=pt,
                         completion_tokens=ct, cost_usd=cost, cache_hit=False,
                         prompt_hash=phash, degraded=False, reason=reason)

    # --- the API ----------------------------------------------------------------------------
    def complete(self, *, agent: str, task: str, prompt: str, system: str | None = None,
                 offline: Callable[[], str] | None = None, value: float = 0.0,
                 accept: Callable[[str], bool] | None = None, max_tokens: int = 512,
                 context: dg.OpExecutionContext | dg.AssetExecutionContext | None = None,
                 ) -> LLMResult:
        """Answer ``prompt`` for ``agent`` doing ``task`` on the cheapest tier that will do.

        ``offline`` produces the offline-tier answer (default: the built-in handler for
        ``task``); ``value`` >= ``strong_value_threshold`` goes straight to the strong model;
        ``accept(text)`` False escalates a cheap answer (fresh or cached) to the strong model;
        if the strong tier is then over budget or down, the cheap answer comes back with
        ``degraded=True``. Offline and strong answers are not passed to ``accept``. Raises
        :class:`LLMPermanentError`, :class:`BudgetExceeded` (``over_budget="stop"``),
        :class:`LLMUnavailable` / :class:`UnknownOfflineTask` when no tier can answer.
        """
        run_id, asset = _context_labels(context)
        req = _Request(agent=agent, task=task, prompt=prompt, system=system,
                       max_tokens=max_tokens, offline=offline, run_id=run_id, asset=asset,
                       context=context)
        with self._connect() as con:
            if self.endpoint() is None:
                return self._offline(con, req, degraded=False,
                                     reason=f"offline tier: no LLM endpoint (${BASE_URL_ENV})")
            tier: Tier = "strong" if value >= self.strong_value_threshold else "cheap"
            first = self._paid(con, req, tier)
            if isinstance(first, _Fallback):
                return self._degrade(con, req, first)
            if tier == "strong" or accept is None or accept(first.text):
                if tier == "strong":
                    return replace(first, reason=f"strong tier: value {value:g} >= "
                                   f"{self.strong_value_threshold:g}"
                                   + (" (cache hit)" if first.cache_hit else ""))
                return first
            if self.strong_model == self.cheap_model:
                return replace(first, reason="cheap answer not accepted; no stronger model "
                               "configured")
            second = self._paid(con, req, "strong")
            if isinstance(second, _Fallback):
                _log(context, logging.WARNING,
                     f"LLM escalation for agent {agent} task {task} skipped: {second.reason}; "
                     "keeping the cheap answer")
                return replace(first, degraded=True, reason=(
                    f"cheap answer not accepted; strong tier skipped: {second.reason}"))
            return replace(
                second, escalated=True,
                prompt_tokens=first.prompt_tokens + second.prompt_tokens,
                completion_tokens=first.completion_tokens + second.completion_tokens,
                cost_usd=first.cost_usd + second.cost_usd,
                reason="escalated: cheap answer not accepted"
                + (" (cache hit)" if second.cache_hit else ""))

    def _degrade(self, con: psycopg.Connection, req: _Request, why: _Fallback) -> LLMResult:
        _log(req.context, logging.WARNING,
             f"LLM degraded to the offline tier for agent {req.agent} task {req.task}: "
             f"{why.reason}")
        return self._offline(con, req, reason=why.reason, degraded=True, fallback=why)
