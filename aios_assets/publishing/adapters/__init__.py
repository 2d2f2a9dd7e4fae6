"""Capability adapters: every external side effect AIOS performs goes through one of these.

``default_adapters()`` builds those configured by the environment, by capability name.
"""

from __future__ import annotations

import os

from aios_assets.publishing.adapters.base import (
    AdapterError,
    AdapterNotConfigured,
    AdapterPermanent,
    AdapterRetryable,
    AdapterUnknown,
    CapabilityAdapter,
    CircuitOpen,
    DeliveryReceipt,
    OutboxAction,
    idempotency_key,
)
from aios_assets.publishing.adapters.http_api import BASE_URL_ENV, HttpApiAdapter
from aios_assets.publishing.adapters.smtp import HOST_ENV, SmtpAdapter
from aios_assets.publishing.adapters.webhook import URL_ENV, WebhookAdapter


def default_adapters() -> dict[str, CapabilityAdapter]:
    """Capability name -> adapter, for each adapter whose environment is configured.

    ``email`` when ``$AIOS_SMTP_HOST`` is set, ``webhook`` when ``$AIOS_WEBHOOK_URL`` is set,
    ``http`` when ``$AIOS_API_BASE_URL`` is set. The adapters read the rest of their settings
    (port, user, password, token) from the environment at call time.
    """
    adapters: dict[str, CapabilityAdapter] = {}
    if os.environ.get(HOST_ENV, "").strip():
        adapters[SmtpAdapter.capability] = SmtpAdapter()
    if os.environ.get(URL_ENV, "").strip():
        adapters[WebhookAdapter.capability] = WebhookAdapter()
    if os.environ.get(BASE_URL_ENV, "").strip():
        adapters[HttpApiAdapter.capability] = HttpApiAdapter()
    return adapters


__all__ = [
    "AdapterError", "AdapterNotConfigured", "AdapterPermanent", "AdapterRetryable",
    "AdapterUnknown", "CapabilityAdapter", "CircuitOpen", "DeliveryReceipt", "HttpApiAdapter",
    "OutboxAction", "SmtpAdapter", "WebhookAdapter", "default_adapters", "idempotency_key",
]
