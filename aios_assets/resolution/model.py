"""The Splink model: comparisons, blocking rules, training.

One settings definition serves every run. Parameters come from one of two places:

- **trained on the data** (unsupervised, as Splink recommends) when a full run sees at least
  ``ResolverConfig.min_records_to_train`` records: u-probabilities by random sampling, the
  prior by deterministic rules, m-probabilities by expectation maximisation in two blocking
  passes (names, then date of birth);
- **the packaged default model** (``default_model.json``) otherwise — a tiny CRM cannot train a
  model. It was trained the same unsupervised way on synthetic records
  (``python -m aios_assets.resolution.model``), never on any evaluation file.

Incremental runs reuse the model of the last full run, so scores do not drift between runs.
"""

from __future__ import annotations

import json
import logging
from importlib import resources
from typing import Any

import splink.comparison_level_library as cll
import splink.comparison_library as cl
from splink import Linker, SettingsCreator, block_on

# Blocking keys (see normalize.py). Each rule is an equi-join on one precomputed key.
BLOCKING_KEYS = (
    ("bk_email", "bk_email"),
    ("bk_name", "bk_name"),
    ("bk_sdob", "bk_sdob"),
    ("bk_fdob", "bk_fdob"),
    ("bk_dob", "bk_dob"),
    ("bk_user", "bk_user"),
    ("bk_phone", "bk_phone"),
    ("bk_scity", "bk_scity"),
    ("bk_swap", "bk_name"),
)

INPUT_COLUMNS = (
    "uid",
    "first_name",
    "first_name_canon",
    "surname",
    "email",
    "dob",
    "city",
    "postcode",
    "phone",
    "is_new",
) + tuple(sorted({k for pair in BLOCKING_KEYS for k in pair}))


def input_select_sql(table: str) -> str:
    """The columns Splink sees (dob as a DATE: string date parsing per pair is slow)."""
    cols = [("cast(dob as date) as dob" if c == "dob" else c) for c in INPUT_COLUMNS]
    return f"select {', '.join(cols)} from {table}"


def blocking_rules(*, incremental: bool) -> list[str]:
    """SQL blocking rules; incremental runs only compare pairs that involve a new record."""
    extra = " and (l.is_new or r.is_new)" if incremental else ""
    return [f"l.{a} = r.{b}{extra}" for a, b in BLOCKING_KEYS]


def comparisons() -> list:
    def name_levels(col: str, other: str, *, nickname: bool) -> list:
        # First and last name swapped: the evidence is counted once, in the first-name
        # comparison; in the surname comparison the level is pinned to weight 0 (m = u), else
        # a swapped record of a common name ("Johnson John") scores as if both names agreed
        # twice and becomes a hub that chains every John Johnson together.
        reversed_level = cll.ColumnsReversedLevel(col, other, symmetrical=True)
        if nickname:
            reversed_level.configure(label_for_charts="first and last name swapped")
        else:
            reversed_level.configure(
                label_for_charts="first and last name swapped (counted under first_name)",
                m_probability=0.5, u_probability=0.5,
                fix_m_probability=True, fix_u_probability=True,
            )
        levels = [
            cll.NullLevel(col),
            cll.ExactMatchLevel(col).configure(tf_adjustment_column=col),
            reversed_level,
        ]
        if nickname:
            levels.append(
                cll.CustomLevel(
                    "first_name_canon_l = first_name_canon_r",
                    label_for_charts="same name after nickname resolution",
                )
            )
        levels += [
            cll.JaroWinklerLevel(col, 0.92),
            cll.JaroWinklerLevel(col, 0.88),
        ]
        if nickname:
            levels.append(
                cll.CustomLevel(
                    f"(length({col}_l) = 1 or length({col}_r) = 1) "
                    f"and left({col}_l, 1) = left({col}_r, 1)",
                    label_for_charts="initial agrees",
                )
            )
        levels += [cll.JaroWinklerLevel(col, 0.7), cll.ElseLevel()]
        return levels

    return [
        cl.CustomComparison(
            comparison_levels=name_levels("first_name", "surname", nickname=True),
            output_column_name="first_name",
        ),
        cl.CustomComparison(
            comparison_levels=name_levels("surname", "first_name", nickname=False),
            output_column_name="surname",
        ),
        cl.DateOfBirthComparison("dob", input_is_string=False),
        cl.CustomComparison(
            comparison_levels=[
                cll.NullLevel("city"),
                cll.ExactMatchLevel("city").configure(tf_adjustment_column="city"),
                cll.JaroWinklerLevel("city", 0.88),
                cll.ElseLevel(),
            ],
            output_column_name="city",
        ),
        # Not splink's EmailComparison: its "same username at another domain" and fuzzy
        # username levels mostly re-encode the name (jsmith@a.com / jsmith@b.com are often two
        # J. Smiths), which double-counts name evidence and merges namesakes.
        cl.CustomComparison(
            comparison_levels=[
                cll.NullLevel("email"),
                cll.ExactMatchLevel("email").configure(tf_adjustment_column="email"),
                # Jaro (no prefix bonus) >= 0.9: a typo in the same address, not the same
                # username at another provider (sarah.watson@gmail vs @icloud scores 0.86).
                cll.CustomLevel(
                    "jaro_similarity(email_l, email_r) >= 0.9",
                    label_for_charts="same address up to a typo",
                ),
                cll.ElseLevel(),
            ],
            output_column_name="email",
        ),
        cl.ExactMatch("phone"),
        cl.LevenshteinAtThresholds("postcode", [1]),
    ]


def settings_creator(*, incremental: bool = False) -> SettingsCreator:
    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="uid",
        comparisons=comparisons(),
        blocking_rules_to_generate_predictions=blocking_rules(incremental=incremental),
        retain_matching_columns=False,
        retain_intermediate_calculation_columns=False,
        additional_columns_to_retain=[],
    )


def settings_from_model(
    model: dict[str, Any], *, incremental: bool, term_frequencies: bool = True
) -> dict[str, Any]:
    """A trained model dict with this run's blocking rules.

    ``term_frequencies=False`` drops the term-frequency adjustments: on a few dozen records the
    frequency of a name says nothing about the population (two Adas in ten contacts would make
    "Ada" look as common as "John")."""
    settings = {k: v for k, v in json.loads(json.dumps(model)).items()
                if not k.startswith("aios_")}
    if not term_frequencies:
        for comparison in settings.get("comparisons", []):
            for level in comparison.get("comparison_levels", []):
                level.pop("tf_adjustment_column", None)
                level.pop("tf_adjustment_weight", None)
    settings["blocking_rules_to_generate_predictions"] = [
        {"blocking_rule": r, "sql_dialect": "duckdb"} for r in blocking_rules(incremental=incremental)
    ]
    settings["retain_matching_columns"] = False
    settings["retain_intermediate_calculation_columns"] = False
    return settings


def train(linker: Linker, *, seed: int) -> None:
    """Unsupervised training on the linker's own records."""
    linker.training.estimate_probability_two_random_records_match(
        [block_on("email"), block_on("first_name", "surname", "dob")], recall=0.7
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=seed)
    linker.training.estimate_parameters_using_expectation_maximisation(
        block_on("first_name", "surname"), estimate_without_term_frequencies=True
    )
    linker.training.estimate_parameters_using_expectation_maximisation(
        block_on("dob"), estimate_without_term_frequencies=True
    )


def default_model() -> dict[str, Any]:
    text = resources.files("aios_assets.resolution").joinpath("default_model.json").read_text()
    return json.loads(text)


def _train_default(n_people: int = 20_000, seed: int = 1) -> dict[str, Any]:
    """Train the packaged default model on synthetic records (seed 1; benchmarks use others)."""
    import duckdb
    import polars as pl

    from .resolve import prepare_records
    from .synthetic import generate

    rows = generate(n_people, seed=seed)
    df = pl.DataFrame(rows).with_columns(
        pl.lit("synthetic").alias("source"), pl.col("unique_id").cast(pl.Utf8).alias("source_id")
    )
    con = duckdb.connect()
    prepare_records(con, df, block_cap=300)
    from splink import DuckDBAPI

    db_api = DuckDBAPI(con)
    con.execute("create temp table _er_train as select *, false as is_new from _er_records")
    sdf = db_api.register(con.sql(input_select_sql("_er_train")))
    linker = Linker(sdf, settings_creator(), log_level=logging.WARNING)
    train(linker, seed=seed)
    return linker.misc.save_model_to_json()


if __name__ == "__main__":  # pragma: no cover - maintenance entry point
    from pathlib import Path

    out = Path(__file__).with_name("default_model.json")
    out.write_text(json.dumps(_train_default(), indent=1, sort_keys=True) + "\n")
    print(f"wrote {out}")
