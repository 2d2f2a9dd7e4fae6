"""What the HTTP adapters share: one request with httpx, classified into normalized errors."""

from __future__ import annotations

import threading
from typing import Any

import httpx

from aios_assets.publishing.adapters.base import (
    AdapterPermanent,
    AdapterRetryable,
    AdapterUnknown,
)
from aios_assets.shared.http import parse_retry_after

# 409: a request with the same Idempotency-Key is still being processed (Stripe-style).
RETRYABLE_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504})


def classify_status(response: httpx.Response) -> Exception | None:
    """None for 2xx; else AdapterRetryable (with Retry-After) or AdapterPermanent."""
    status = response.status_code
    if 200 <= status < 300:
        return None
    retry_after = parse_retry_after(response.headers.get("retry-after"))
    label = f"HTTP {status}"
    if status in RETRYABLE_STATUS:
        return AdapterRetryable(f"{label} from the service", error_class=label,
                                status_code=status, retry_after_s=retry_after)
    return AdapterPermanent(f"{label} from the service", error_class=label, status_code=status)


def request(client: httpx.Client, method: str, url: str, *, headers: dict[str, str],
            json: Any = None, content: bytes | None = None,
            auth: httpx.Auth | tuple[str, str] | None = None) -> httpx.Response:
    """Send one request; transport failures become normalized errors.

    Failures before the request left (connect errors, connect/pool timeouts) are retryable;
    failures after it was written (read timeouts, resets, protocol errors) are unknown.
    """
    try:
        return client.request(method, url, headers=headers, json=json, content=content,
                              auth=auth)
    except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
        raise AdapterRetryable(f"could not connect ({type(exc).__name__})",
                               error_class=type(exc).__name__) from None
    except httpx.TransportError as exc:
        # ReadTimeout, WriteTimeout, ReadError, RemoteProtocolError ...: the service may have
        # acted on the request.
        raise AdapterUnknown(f"no answer after sending ({type(exc).__name__})",
                             error_class=type(exc).__name__) from None


class ClientCache:
    """One pooled httpx client per adapter instance (building one costs ~50 ms of TLS setup)."""

    def __init__(self) -> None:
        self._client: httpx.Client | None = None
        self._timeout: float | None = None
        self._lock = threading.Lock()

    def get(self, timeout_s: float) -> httpx.Client:
        with self._lock:
            if self._client is None or self._timeout != timeout_s:
                if self._client is not None:
                    self._client.close()
                self._client = httpx.Client(timeout=timeout_s, follow_redirects=False)
                self._timeout = timeout_s
            return self._client
