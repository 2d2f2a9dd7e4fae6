"""Key items (people, amounts, dates, commitments) and the fidelity check: pure functions."""

from __future__ import annotations

from decimal import Decimal

import pytest

from aios_assets.memory.commitments import extract_commitments
from aios_assets.memory.fidelity import check_fidelity, key_items, render_items
from aios_assets.memory.key_dates import extract_dates
from aios_assets.memory.key_items import Amount, extract_amounts, parse_person


def canon(text: str) -> list[str]:
    return [a.canonical for a in extract_amounts(text)]


@pytest.mark.parametrize(
    "text",
    ["$1,200.00", "USD 1200", "1,200 dollars", "$1.2k", "1200 USD", "US$1,200", "USD1,200.0"],
)
def test_amount_spellings_normalise_to_one_value(text: str) -> None:
    assert canon(text) == ["USD 1200"]


def test_amount_rules_and_non_amounts() -> None:
    assert canon("€1.234,50 then €12,50 then 1.200.000 EUR") == [
        "EUR 1234.5", "EUR 12.5", "EUR 1200000"]
    assert canon("£4.5k/month, $5m, CHF 300, 2 million euros") == [
        "GBP 4500", "USD 5000000", "CHF 300", "EUR 2000000"]
    # no currency, a percentage, an id: not money
    assert canon("1.2k readers, 15% growth, INV-005-001, 1,200 rows") == []
    # same number, other currency: a different amount
    assert Amount("USD", Decimal(100)) != Amount("EUR", Decimal(100))
    # a single dot is a decimal point, in sources and summaries alike
    assert canon("€1.200") == ["EUR 1.2"]


def dates(text: str) -> list[tuple[str, str]]:
    return [(d.value, d.kind) for d in extract_dates(text)]


def test_dates_normalise_to_iso_and_keep_relative_phrases() -> None:
    assert dates("1 July 2026; July 1st, 2026; 2026-07-01T10:00:00Z; 2026/07/01") == [
        ("2026-07-01", "date")] * 4
    assert dates("due on Wednesday 1 July") == [("--07-01", "monthday")]  # weekday absorbed
    assert dates("Q3 retainer - August 2026") == [("2026-08", "month")]
    assert dates("13/06/2026 and 06/13/2026 and 03/06/2026") == [
        ("2026-06-13", "date"), ("2026-06-13", "date"), ("03/06/2026", "phrase")]
    assert dates("by next Tuesday morning, tomorrow or EOD, in two weeks") == [
        ("next tuesday morning", "phrase"), ("tomorrow", "phrase"), ("eod", "phrase"),
        ("in two weeks", "phrase")]
    assert dates("I may have 3 things to mark") == []  # "may"/"mar" are verbs


def test_people_from_participants_and_mentions() -> None:
    assert parse_person('"Reyes, Dana" <Dana@Acme.io>').email == "dana@acme.io"
    items = key_items(
        ["Invoice 7 to Robert Alvarez <robert@harbor.example> for $10.",
         "Loop in ops@acme.io and Søren Delgado please."],
        ["Dana Reyes <dana@acme.io>", "dana@acme.io", "Maya"],
        known_names=["Søren Delgado", "Nobody Here"],
    )
    labels = sorted(p.label for p in items.people)
    assert labels == ["Dana Reyes <dana@acme.io>", "Maya", "Robert Alvarez <robert@harbor.example>",
                      "Søren Delgado", "ops@acme.io"]
    # a person is kept by name (accents and case folded) or by address
    assert check_fidelity("soren delgado, Dana Reyes, Maya, robert@harbor.example, "
                          "ops@acme.io $10", items).passed


def test_commitments_are_detected_and_reduced_to_a_core() -> None:
    found = extract_commitments(
        "Hi Sam. Let me know what you think. This is due to the weather. "
        "Great — I'll send the signed SOW by Friday. "
        "Please find attached invoice INV-005-001 for $5,000, due on Wednesday 1 July. "
        "I'll do it."
    )
    assert [c.text for c in found] == [
        "Great — I'll send the signed SOW by Friday.",
        "Please find attached invoice INV-005-001 for $5,000, due on Wednesday 1 July.",
    ]
    sow, invoice = found
    assert "friday" in {d.value for d in sow.dates} and {"send", "sign", "sow"} <= set(
        sow.keywords)
    assert invoice.ids == ("INV-005-001",)
    assert [a.canonical for a in invoice.amounts] == ["USD 5000"]


def test_check_fidelity_accepts_a_faithful_paraphrase_and_lists_what_is_lost() -> None:
    sources = [
        "Dana approved the Q3 retainer at $4,500/month.",
        "I'll send the signed SOW by Friday.",
        "Invoice INV-9 is due on 1 July 2026.",
    ]
    items = key_items(sources, ["Dana Reyes <dana@acme.io>"])
    good = ("Dana Reyes approved a USD 4500 monthly retainer. We will send the signed SOW by "
            "Friday. INV-9 due 2026-07-01.")
    assert check_fidelity(good, items).passed
    bad = check_fidelity("Dana Reyes approved the retainer; the SOW follows soon.", items)
    assert not bad.passed
    assert "amount: USD 4500 ($4,500)" in bad.missing
    assert any(m.startswith("date: 2026-07-01") for m in bad.missing)
    assert "commitment: I'll send the signed SOW by Friday." in bad.missing
    # the deadline must sit in the same sentence as the commitment
    split = check_fidelity("Dana Reyes: USD 4500. INV-9 due 2026-07-01. We send the signed SOW. "
                           "Friday.", items)
    assert split.missing == ("commitment: I'll send the signed SOW by Friday.",)


def test_rendered_items_pass_their_own_check() -> None:
    items = key_items(["Pay €12,50 by 3 June; I promise to ship the report next week."],
                      ["Ana <ana@x.example>"])
    assert check_fidelity("\n".join(render_items(items)), items).passed


def test_sentence_split_survives_lines_that_start_with_dots() -> None:
    """A calendar description ". New Years Day" crashed summaries (IndexError) for the whole run."""
    from aios_assets.memory.key_items import sentence_split

    assert sentence_split(". New Years Day. Closed.") == [".", "New Years Day.", "Closed."]
    assert sentence_split("... More to come") == ["...", "More to come"]
