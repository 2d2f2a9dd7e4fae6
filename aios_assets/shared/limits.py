"""How AIOS protects an endpoint it calls: a circuit breaker and a token-bucket rate limit, and
the one set-up of both (:class:`EndpointLimits`) that the capability adapters
(``aios_assets/publishing/adapters/base.py``) and the LLM resource (``resources/llm.py``) share.
Dependency-free.

Settings (fields of the adapter or resource that owns the endpoint): ``breaker_threshold``
consecutive transient failures open the breaker; while open, calls fail fast with
:class:`CircuitOpen` without reaching the endpoint; after ``breaker_reset_s`` it half-opens and
lets one trial call through, which closes it on success or re-opens it on failure.
``rate_per_s`` (None: no limit) and ``rate_burst`` set the token bucket shared by the calls of
one owner.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import ClassVar, Protocol


class CircuitOpen(RuntimeError):
    """The breaker is open: the call was not attempted. ``retry_after_s`` = rest of cool-down."""

    def __init__(self, message: str, *, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class TokenBucket:
    """A thread-safe token bucket: ``rate`` tokens per second, at most ``burst`` stored."""

    def __init__(self, rate: float, burst: int,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("a token bucket needs rate > 0 and burst >= 1")
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._tokens = float(burst)
        self._at = clock()
        self._lock = threading.Lock()

    def reserve(self) -> float:
        """Take a token; return how long the caller must wait before using it (0 if none)."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
            self._at = now
            self._tokens -= 1.0
            return 0.0 if self._tokens >= 0 else -self._tokens / self.rate


class CircuitBreaker:
    """Closed -> open after ``threshold`` consecutive failures -> half-open after ``reset_s``.

    In half-open state exactly one trial call is let through; its success closes the breaker,
    its failure opens it again for another ``reset_s``. An open breaker raises
    ``open_error`` (a subclass may name its own subclass of :class:`CircuitOpen`).
    """

    open_error: ClassVar[type[CircuitOpen]] = CircuitOpen

    def __init__(self, threshold: int, reset_s: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if threshold < 1 or reset_s < 0:
            raise ValueError("a breaker needs threshold >= 1 and reset_s >= 0")
        self.threshold = threshold
        self.reset_s = reset_s
        self._clock = clock
        self._failures = 0
        self._opened_at: float | None = None
        self._trial_out = False
        self._lock = threading.Lock()

    @property
    def state(self) -> str:
        with self._lock:
            return self._state()

    def _state(self) -> str:
        if self._opened_at is None:
            return "closed"
        if self._clock() - self._opened_at >= self.reset_s:
            return "half_open"
        return "open"

    def before_call(self) -> None:
        """Raise ``open_error`` unless a call may go through now."""
        with self._lock:
            state = self._state()
            if state == "closed":
                return
            if state == "half_open" and not self._trial_out:
                self._trial_out = True
                return
            rest = max(0.0, self.reset_s - (self._clock() - (self._opened_at or 0.0)))
            raise self.open_error(f"circuit open for {rest:.2f}s more",
                                  retry_after_s=rest or None)

    def success(self) -> None:
        with self._lock:
            self._failures = 0
            self._opened_at = None
            self._trial_out = False

    def failure(self) -> None:
        with self._lock:
            self._failures += 1
            if self._trial_out or self._failures >= self.threshold:
                self._opened_at = self._clock()
            self._trial_out = False

    def neutral(self) -> None:
        """A call that says nothing about the service's health (bad input): free the trial."""
        with self._lock:
            self._trial_out = False


class LimitSettings(Protocol):
    """The fields an owner of :class:`EndpointLimits` carries (adapters, the LLM resource)."""

    rate_per_s: float | None
    rate_burst: int
    breaker_threshold: int
    breaker_reset_s: float


class EndpointLimits:
    """The breaker and the token bucket of one endpoint, built on first use from the owner's
    settings (thread-safe); keep one per owner (a private attribute) so its calls share them."""

    def __init__(self, breaker_class: type[CircuitBreaker] = CircuitBreaker) -> None:
        self._breaker_class = breaker_class
        self._breaker: CircuitBreaker | None = None
        self._bucket: TokenBucket | None = None
        self._lock = threading.Lock()

    def breaker(self, settings: LimitSettings) -> CircuitBreaker:
        with self._lock:
            if self._breaker is None:
                self._breaker = self._breaker_class(settings.breaker_threshold,
                                                    settings.breaker_reset_s)
            return self._breaker

    def bucket(self, settings: LimitSettings) -> TokenBucket | None:
        """The rate limiter, or None when ``rate_per_s`` is unset (no limit)."""
        if not settings.rate_per_s:
            return None
        with self._lock:
            if self._bucket is None:
                self._bucket = TokenBucket(settings.rate_per_s, settings.rate_burst)
            return self._bucket


def admit(breaker: CircuitBreaker, bucket: TokenBucket | None) -> None:
    """Before one call: raise the breaker's error when it is open (the endpoint is not called
    at all), else wait for a rate token."""
    breaker.before_call()
    delay = bucket.reserve() if bucket is not None else 0.0
    if delay > 0:
        time.sleep(delay)  # the local rate limit: wait for our token
