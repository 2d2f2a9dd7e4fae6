"""Capability adapters: every external side effect AIOS performs goes through one of these.

Each adapter is in its own module (``.smtp``, ``.webhook``, ``.http_api``, ``.caldav``; what
they share: ``.base``). :func:`.registry.default_adapters` builds those configured by the
environment, by capability name, with the rate limit every adapter gets: on by default
(:data:`.registry.DEFAULT_RATE_PER_S` calls a second per adapter, bursts of
:data:`.registry.DEFAULT_RATE_BURST`), ``$AIOS_ADAPTER_RATE_PER_S`` or the resource's config to
change it (0 turns it off), and what one call costs, by capability (``cost_per_call_usd``, else
``$AIOS_ADAPTER_COST_USD=email=0.001,http=0.01``; default 0), which the cost ledger records for
every delivery. :class:`.resource.AdaptersResource` is the same as a Dagster resource
(``adapters`` in the Definitions).

The package itself imports nothing, so reading the outbox (``aios proposals``) loads neither
the adapters' client libraries nor Dagster.
"""
