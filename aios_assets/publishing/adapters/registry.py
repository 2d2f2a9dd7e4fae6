"""Which capability adapters are configured (by the environment), with their rate limit and
cost per call: :func:`default_adapters`."""

from __future__ import annotations

import os

from aios_assets.ingest.caldav import URL_ENV as CALDAV_URL_ENV
from aios_assets.publishing.adapters.base import CapabilityAdapter
from aios_assets.publishing.adapters.caldav import CalDavAdapter
from aios_assets.publishing.adapters.http_api import BASE_URL_ENV, HttpApiAdapter
from aios_assets.publishing.adapters.smtp import HOST_ENV, SmtpAdapter
from aios_assets.publishing.adapters.webhook import URL_ENV, WebhookAdapter
from aios_assets.shared.text import parse_usd_map

RATE_ENV = "AIOS_ADAPTER_RATE_PER_S"
COST_ENV = "AIOS_ADAPTER_COST_USD"
DEFAULT_RATE_PER_S = 5.0  # a solo operator's outbox: far below any provider's sending limit
DEFAULT_RATE_BURST = 5


def rate_from_env() -> float | None:
    """``$AIOS_ADAPTER_RATE_PER_S`` (0 = no limit), else the default; a bad value is an error
    that names the variable."""
    raw = os.environ.get(RATE_ENV, "").strip()
    if not raw:
        return DEFAULT_RATE_PER_S
    try:
        rate = float(raw)
    except ValueError:
        raise ValueError(f"{RATE_ENV}={raw!r} is not a number (calls a second; 0 = no limit)"
                         ) from None
    if rate < 0:
        raise ValueError(f"{RATE_ENV}={raw!r} is negative (calls a second; 0 = no limit)")
    return rate or None


def costs_from_env() -> dict[str, float]:
    """``$AIOS_ADAPTER_COST_USD`` as capability -> USD per call (``email=0.001,http=0.01``); a
    bad entry is an error that names the variable."""
    return parse_usd_map(os.environ.get(COST_ENV, ""), COST_ENV, "capability")


def default_adapters(*, rate_per_s: float | None = None,
                     rate_burst: int = DEFAULT_RATE_BURST,
                     cost_per_call_usd: dict[str, float] | None = None
                     ) -> dict[str, CapabilityAdapter]:
    """Capability name -> adapter, for each adapter whose environment is configured.

    ``email`` when ``$AIOS_SMTP_HOST`` is set, ``webhook`` when ``$AIOS_WEBHOOK_URL`` is set,
    ``http`` when ``$AIOS_API_BASE_URL`` is set, ``calendar`` when ``$AIOS_CALDAV_URL`` is set.
    The adapters read the rest of their settings (port, user, password, token) from the
    environment at call time, so no secret is part of a
    resource's config. ``rate_per_s`` None: :func:`rate_from_env`; ``cost_per_call_usd`` None:
    :func:`costs_from_env`.
    """
    limit = {"rate_per_s": rate_per_s if rate_per_s is not None else rate_from_env(),
             "rate_burst": rate_burst}
    costs = cost_per_call_usd if cost_per_call_usd is not None else costs_from_env()
    adapters: dict[str, CapabilityAdapter] = {}
    for env, cls in ((HOST_ENV, SmtpAdapter), (URL_ENV, WebhookAdapter),
                     (BASE_URL_ENV, HttpApiAdapter), (CALDAV_URL_ENV, CalDavAdapter)):
        if os.environ.get(env, "").strip():
            adapters[cls.capability] = cls(**limit,
                                           cost_per_call_usd=costs.get(cls.capability, 0.0))
    return adapters
