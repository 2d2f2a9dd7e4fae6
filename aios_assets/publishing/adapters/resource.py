"""The capability adapters as a Dagster resource (``adapters`` in the Definitions)."""

from __future__ import annotations

import dagster as dg

from aios_assets.publishing.adapters.base import CapabilityAdapter
from aios_assets.publishing.adapters.registry import DEFAULT_RATE_BURST, default_adapters


class AdaptersResource(dg.ConfigurableResource):
    """The capability adapters the outbox may call (those whose environment is configured:
    SMTP, webhook, HTTP API, CalDAV), each rate-limited. ``rate_per_s`` None reads
    ``$AIOS_ADAPTER_RATE_PER_S`` (default 5 a second; 0 = no limit); ``cost_per_call_usd``
    None reads ``$AIOS_ADAPTER_COST_USD`` (default 0)."""

    rate_per_s: float | None = None
    rate_burst: int = DEFAULT_RATE_BURST
    cost_per_call_usd: dict[str, float] | None = None

    def adapters(self) -> dict[str, CapabilityAdapter]:
        return default_adapters(rate_per_s=self.rate_per_s, rate_burst=self.rate_burst,
                                cost_per_call_usd=self.cost_per_call_usd)
