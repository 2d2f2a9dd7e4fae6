"""The capability adapters are a Dagster resource (``adapters``) in the Definitions, rate-limited
by default; ``$AIOS_ADAPTER_RATE_PER_S`` changes the limit (0 turns it off) and a bad value is a
one-line error that names the variable; ``cost_per_call_usd`` / ``$AIOS_ADAPTER_COST_USD`` set
what each capability's call costs."""

from __future__ import annotations

import pytest

from aios_assets.publishing.adapters.registry import (
    COST_ENV,
    DEFAULT_RATE_PER_S,
    RATE_ENV,
    default_adapters,
)
from aios_assets.publishing.adapters.resource import AdaptersResource


@pytest.fixture
def configured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIOS_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("AIOS_WEBHOOK_URL", "http://127.0.0.1:9/hook")
    monkeypatch.delenv(RATE_ENV, raising=False)


def test_the_definitions_carry_the_adapters_resource() -> None:
    from aios_assets.definitions import defs

    assert isinstance(defs.resources["adapters"], AdaptersResource)
    needs = {key for job in ("publish_job", "reconcile_job")
             for key in defs.resolve_job_def(job).required_resource_keys}
    assert "adapters" in needs


def test_a_rate_limit_is_on_by_default(configured: None) -> None:
    adapters = AdaptersResource().adapters()
    assert set(adapters) == {"email", "webhook"}
    assert {a.rate_per_s for a in adapters.values()} == {DEFAULT_RATE_PER_S}
    bucket = adapters["webhook"]._limits.bucket(adapters["webhook"])
    assert bucket is not None
    # the burst passes at once, the next call must wait for a token (about 1 / rate seconds)
    assert [bucket.reserve() for _ in range(adapters["webhook"].rate_burst)] == [0.0] * 5
    assert bucket.reserve() > 0.5 / DEFAULT_RATE_PER_S


def test_the_environment_and_the_config_set_the_limit(configured: None,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(RATE_ENV, "0.5")
    assert {a.rate_per_s for a in default_adapters().values()} == {0.5}
    assert {a.rate_per_s for a in AdaptersResource(rate_per_s=2).adapters().values()} == {2}
    monkeypatch.setenv(RATE_ENV, "0")
    adapters = AdaptersResource().adapters()
    assert all(a._limits.bucket(a) is None for a in adapters.values())  # no limit
    monkeypatch.setenv(RATE_ENV, "fast")
    with pytest.raises(ValueError, match=RATE_ENV):
        AdaptersResource().adapters()


def test_cost_per_call_from_the_config_or_the_environment(configured: None,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    assert {a.cost_per_call_usd for a in default_adapters().values()} == {0.0}
    monkeypatch.setenv(COST_ENV, "email=0.001, webhook=0.02")
    costs = {n: a.cost_per_call_usd for n, a in AdaptersResource().adapters().items()}
    assert costs == {"email": 0.001, "webhook": 0.02}
    configured_costs = AdaptersResource(cost_per_call_usd={"email": 0.5}).adapters()
    assert {n: a.cost_per_call_usd for n, a in configured_costs.items()} == {
        "email": 0.5, "webhook": 0.0}
    for bad in ("email", "email=cheap", "=0.1", "email=-1"):
        monkeypatch.setenv(COST_ENV, bad)
        with pytest.raises(ValueError, match=COST_ENV):
            AdaptersResource().adapters()
