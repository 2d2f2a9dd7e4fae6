"""A generic HTTP API adapter (newsletter / CRM style) that sends ``Idempotency-Key``.

Configuration: ``base_url`` (``$AIOS_API_BASE_URL``) and ``token`` (``$AIOS_API_TOKEN``, sent
as ``Authorization: Bearer``; never logged or recorded). In Dagster:
``HttpApiAdapter(token=dg.EnvVar("AIOS_API_TOKEN"))``.

An ``http_request`` action's payload is ``{method, path, json}``; the request goes to
``base_url + path`` with the action's idempotency key in the ``Idempotency-Key`` header. The
service is expected to perform the effect once per key and answer repeats with the first
result (``dedupes=True``, the default), so retries after timeouts and resets are safe. With
``lookup_path`` (e.g. ``/idempotency/{key}``) reconciliation first asks the service whether the
key already took effect (200 = yes, 404 = no) before resending.
"""

from __future__ import annotations

import os
from typing import Any, ClassVar
from urllib.parse import quote

import httpx
from pydantic import Field, PrivateAttr

from aios_assets.publishing.adapters._http import ClientCache, classify_status, request
from aios_assets.publishing.adapters.base import (
    AdapterNotConfigured,
    AdapterPermanent,
    AttemptResult,
    CapabilityAdapter,
    OutboxAction,
)

BASE_URL_ENV = "AIOS_API_BASE_URL"
TOKEN_ENV = "AIOS_API_TOKEN"
IDEMPOTENCY_HEADER = "Idempotency-Key"
METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def external_id_of(response: httpx.Response, key: str) -> str:
    """The service's id for the effect: JSON ``id``, else the ``Location`` header, else the key."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and body.get("id") is not None:
        return str(body["id"])
    return response.headers.get("location") or key


class HttpApiAdapter(CapabilityAdapter):
    """Sends ``http_request`` actions with an ``Idempotency-Key``; see the module docstring."""

    capability: ClassVar[str] = "http"

    base_url: str | None = None
    token: str | None = Field(default=None, repr=False)
    dedupes: bool = True
    lookup_path: str | None = None

    _clients: ClientCache = PrivateAttr(default_factory=ClientCache)

    def _base(self) -> str:
        base = (self.base_url or os.environ.get(BASE_URL_ENV) or "").strip().rstrip("/")
        if not base:
            raise AdapterNotConfigured(f"no API base URL: set ${BASE_URL_ENV}")
        return base

    def describe(self) -> str:
        try:
            return self._base()
        except AdapterNotConfigured:
            return "http-api (unconfigured)"

    def _headers(self, key: str) -> dict[str, str]:
        headers = {IDEMPOTENCY_HEADER: key, "User-Agent": "aios-outbox"}
        token = self.token or os.environ.get(TOKEN_ENV)
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return headers

    def resend_is_safe(self) -> bool:
        return self.dedupes

    def supports_lookup(self) -> bool:
        return bool(self.lookup_path)

    def _client(self) -> httpx.Client:
        return self._clients.get(self.timeout_s)

    def _attempt(self, action: OutboxAction) -> AttemptResult:
        payload: dict[str, Any] = action.payload
        method = str(payload.get("method") or "POST").upper()
        path = payload.get("path")
        if method not in METHODS:
            raise AdapterPermanent(f"http_request method must be one of {sorted(METHODS)}",
                                   error_class="BadPayload")
        if not isinstance(path, str) or not path.startswith("/") or "://" in path:
            raise AdapterPermanent("http_request payload needs a 'path' starting with '/'",
                                   error_class="BadPayload")
        base = self._base()
        response = request(self._client(), method, base + path,
                           headers=self._headers(action.idempotency_key),
                           json=payload.get("json"))
        error = classify_status(response)
        if error is not None:
            raise error
        return AttemptResult(external_id_of(response, action.idempotency_key),
                             response.status_code)

    def lookup(self, action: OutboxAction) -> AttemptResult | None:
        if not self.lookup_path:
            raise NotImplementedError("lookup_path is not configured")
        path = self.lookup_path.replace("{key}", quote(action.idempotency_key, safe=""))
        response = request(self._client(), "GET", self._base() + path,
                           headers=self._headers(action.idempotency_key))
        if response.status_code == 404:
            return None
        error = classify_status(response)
        if error is not None:
            raise error
        return AttemptResult(external_id_of(response, action.idempotency_key),
                             response.status_code)
