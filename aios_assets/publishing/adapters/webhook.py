"""A webhook notifier: Slack-style JSON (``{"text": ..., "blocks": [...]}``) to one URL.

Configuration: ``url`` (``$AIOS_WEBHOOK_URL``; the URL itself is the secret for Slack incoming
webhooks, so it is never logged or recorded). A ``notify_webhook`` action's payload is
``{text, blocks?}``. The action's key goes out as ``Idempotency-Key``, but Slack-style webhooks
do not deduplicate (``dedupes=False``), so an unknown outcome (timeout, reset after sending) is
not retried blindly: the outbox marks it in doubt and reconciliation resends it once
(``reconcile_resend``; at-least-once for such endpoints) or leaves it for the operator.
"""

from __future__ import annotations

from typing import Any, ClassVar

import httpx
from pydantic import Field, PrivateAttr

from aios_assets.publishing.adapters._http import ClientCache, classify_status, request
from aios_assets.publishing.adapters.base import (
    AdapterNotConfigured,
    AdapterPermanent,
    AttemptResult,
    CapabilityAdapter,
    OutboxAction,
    required_setting,
)
from aios_assets.publishing.adapters.http_api import IDEMPOTENCY_HEADER

URL_ENV = "AIOS_WEBHOOK_URL"


def slack_body(payload: dict[str, Any]) -> dict[str, Any]:
    """The JSON body for a notify_webhook payload; bad payload raises AdapterPermanent."""
    text = payload.get("text")
    if not isinstance(text, str) or not text.strip():
        raise AdapterPermanent("notify_webhook payload needs a non-empty 'text'",
                               error_class="BadPayload")
    body: dict[str, Any] = {"text": text}
    blocks = payload.get("blocks")
    if blocks is not None:
        if not isinstance(blocks, list):
            raise AdapterPermanent("notify_webhook 'blocks' must be a list",
                                   error_class="BadPayload")
        body["blocks"] = blocks
    return body


class WebhookAdapter(CapabilityAdapter):
    """Posts ``notify_webhook`` actions as Slack-style JSON; see the module docstring."""

    capability: ClassVar[str] = "webhook"

    url: str | None = Field(default=None, repr=False)
    dedupes: bool = False

    _clients: ClientCache = PrivateAttr(default_factory=ClientCache)

    def _url(self) -> str:
        return required_setting(self.url, URL_ENV, "webhook URL")

    def describe(self) -> str:
        try:
            host = httpx.URL(self._url()).host  # the path of a webhook URL is its secret
        except (AdapterNotConfigured, httpx.InvalidURL):
            return "webhook (unconfigured)"
        return f"webhook {host}"

    def resend_is_safe(self) -> bool:
        return self.dedupes

    def _attempt(self, action: OutboxAction) -> AttemptResult:
        body = slack_body(action.payload)
        url = self._url()
        response = request(self._clients.get(self.timeout_s), "POST", url, json=body, headers={
            IDEMPOTENCY_HEADER: action.idempotency_key, "User-Agent": "aios-outbox"})
        error = classify_status(response)
        if error is not None:
            raise error
        return AttemptResult(response.headers.get("x-request-id") or action.idempotency_key,
                             response.status_code)
