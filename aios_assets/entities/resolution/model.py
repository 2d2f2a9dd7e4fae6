"""The Splink model: comparisons, blocking rules, training.

One settings definition serves every run. Parameters come from one of two places:

- **trained on the data** (unsupervised, as Splink recommends) when a full run sees at least
  ``ResolverConfig.min_records_to_train`` records: u-probabilities by random sampling, the
  prior by deterministic rules, m-probabilities by expectation maximisation in two blocking
  passes (names, then date of birth);
- **the packaged default model** (``default_model.json``) otherwise — a tiny CRM cannot train a
  model. It was trained the same unsupervised way on synthetic records
  (``python -m aios_assets.entities.resolution.model``), never on any evaluation file.

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

log = logging.getLogger(__name__)

TRAINED_ON = "aios_trained_on_records"  # kept in the model dict next to Splink's settings
DEFAULT_MODEL_RECORDS = 41_908  # records _train_default makes (20,000 synthetic people, seed 1)

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
    ("bk_addr", "bk_addr"),
    ("bk_npost", "bk_npost"),
    ("bk_ipost", "bk_ipost"),
    ("bk_icity", "bk_icity"),
    ("bk_fpost", "bk_fpost"),
    ("bk_spost", "bk_spost"),
    # one name typed into the other field ("sydoernko david" / "david sydorenko"): both
    # directions, as a dedupe compares each pair once, in uid order
    ("bk_fpost", "bk_spost"),
    ("bk_spost", "bk_fpost"),
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
    "street",
    "street_number",
    "street_name",
    "state",
    "title",
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
        # the same, up to a typo in either name ("whitbe alexa-rose" / "alexa-rose white")
        fuzzy_reversed = cll.CustomLevel(
            f"jaro_winkler_similarity({col}_l, {other}_r) >= 0.88 "
            f"and jaro_winkler_similarity({other}_l, {col}_r) >= 0.88",
            label_for_charts="first and last name swapped, up to a typo"
            + ("" if nickname else " (counted under first_name)"),
        )
        if not nickname:
            fuzzy_reversed.configure(m_probability=0.5, u_probability=0.5,
                                     fix_m_probability=True, fix_u_probability=True)
        levels = [
            cll.NullLevel(col),
            cll.ExactMatchLevel(col).configure(tf_adjustment_column=col),
            reversed_level,
            fuzzy_reversed,
        ]
        if nickname:
            # the surname typed into the first-name field, the surname field empty ("bennett"
            # / "joseph bennett"); the surname comparison is then NULL, so counted once
            levels.append(
                cll.CustomLevel(
                    "(surname_l is null and surname_r is not null "
                    "and jaro_winkler_similarity(first_name_l, surname_r) >= 0.92) "
                    "or (surname_r is null and surname_l is not null "
                    "and jaro_winkler_similarity(first_name_r, surname_l) >= 0.92)",
                    label_for_charts="surname in the first-name field",
                )
            )
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
        # One comparison for the whole address: street and postcode are the same evidence (where
        # the record lives or works), and as two comparisons a household or an office would be
        # counted twice and outweigh two different first names.
        cl.CustomComparison(
            comparison_levels=[
                cll.CustomLevel(
                    "(street_l is null or street_r is null) "
                    "and (postcode_l is null or postcode_r is null)",
                    label_for_charts="no address to compare",
                ).configure(is_null_level=True),
                cll.CustomLevel(
                    "street_l = street_r and postcode_l = postcode_r",
                    label_for_charts="same street and postcode",
                ),
                cll.CustomLevel(
                    "street_l = street_r and (postcode_l is null or postcode_r is null)",
                    label_for_charts="same street, a postcode missing",
                ),
                # a typo in the street name ("pridham street" / "pridhamstreet"), same number
                cll.CustomLevel(
                    "street_number_l = street_number_r "
                    "and jaro_winkler_similarity(street_name_l, street_name_r) >= 0.88",
                    label_for_charts="same number, similar street name",
                ),
                # the house number missing on one side ("mackey place" / "10 mackey place")
                cll.CustomLevel(
                    "(street_number_l is null or street_number_r is null) "
                    "and jaro_winkler_similarity(street_name_l, street_name_r) >= 0.88",
                    label_for_charts="similar street name, a house number missing",
                ),
                cll.CustomLevel(
                    "postcode_l = postcode_r and (street_l is null or street_r is null)",
                    label_for_charts="same postcode, a street missing",
                ),
                cll.CustomLevel(
                    "postcode_l = postcode_r", label_for_charts="same postcode, other street"
                ),
                cll.CustomLevel(
                    "damerau_levenshtein(postcode_l, postcode_r) <= 1",
                    label_for_charts="postcode one edit apart",
                ),
                cll.CustomLevel(
                    "street_name_l = street_name_r", label_for_charts="same street name"
                ),
                cll.ElseLevel(),
            ],
            output_column_name="address",
        ),
        # the region: a different state is strong evidence of another person (a namesake in
        # the same postcode range), the same state weak evidence
        cl.CustomComparison(
            comparison_levels=[
                cll.NullLevel("state"),
                cll.ExactMatchLevel("state"),
                cll.ElseLevel(),
            ],
            output_column_name="state",
        ),
        title_comparison(),
    ]


# The occupation / job title (``title``) is a weak signal by construction: people change jobs,
# and many share a title. Fixed parameters (about +3 bits when equal, -0.9 when not), so no
# training run and no data set lets it outweigh a name or a date of birth, and the packaged
# default model can carry it unchanged.
TITLE_LEVELS = {"same title": (0.5, 0.06), "other title": (0.5, 0.94)}


def title_comparison() -> Any:
    (m_eq, u_eq), (m_ne, u_ne) = TITLE_LEVELS.values()
    fixed = {"fix_m_probability": True, "fix_u_probability": True}
    return cl.CustomComparison(
        comparison_levels=[
            cll.NullLevel("title"),
            cll.ExactMatchLevel("title").configure(
                label_for_charts="same title", m_probability=m_eq, u_probability=u_eq, **fixed),
            cll.ElseLevel().configure(
                label_for_charts="other title", m_probability=m_ne, u_probability=u_ne, **fixed),
        ],
        output_column_name="title",
    )


def _with_title(settings: dict[str, Any]) -> dict[str, Any]:
    """A model trained before the title comparison existed gets it (fixed parameters)."""
    comps = settings.get("comparisons", [])
    if not any(c.get("output_column_name") == "title" for c in comps):
        comps.append(title_comparison().get_comparison("duckdb").as_dict())
    return settings


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
        {"blocking_rule": r, "sql_dialect": "duckdb"}
        for r in blocking_rules(incremental=incremental)
    ]
    settings["retain_matching_columns"] = False
    settings["retain_intermediate_calculation_columns"] = False
    return _with_title(settings)


# Expectation-maximisation rounds: (name, columns fixed by the blocking rule). A round trains
# the m-probabilities of every comparison except the ones its blocking rule holds equal.
EM_ROUNDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("names", ("first_name", "surname")),
    ("dob", ("dob",)),
)
# output_column_name of every comparison in comparisons(), in order
COMPARISON_COLUMNS = ("first_name", "surname", "dob", "city", "email", "phone", "address",
                      "state", "title")
PRIOR_RULES: tuple[tuple[str, ...], ...] = (("email",), ("first_name", "surname", "dob"))
# EM on fewer pairs than this learns noise, not the data: such a round is skipped.
MIN_EM_PAIRS = 50


def count_pairs(con: Any, table: str, columns: tuple[str, ...]) -> int:
    """Record pairs an equi-join blocking rule on ``columns`` generates (NULLs never join)."""
    cols = ", ".join(columns)
    not_null = " and ".join(f"{c} is not null" for c in columns)
    row = con.execute(
        f"select coalesce(sum(c * (c - 1) // 2), 0) from "
        f"(select count(*) as c from {table} where {not_null} group by {cols})"
    ).fetchone()
    return int(row[0])


def train(linker: Linker, *, seed: int, con: Any = None, table: str | None = None,
          min_em_pairs: int = MIN_EM_PAIRS) -> dict[str, Any]:
    """Unsupervised training on the linker's own records; returns what was (not) trained.

    Degrades instead of failing: a step whose blocking rule finds no (or too few) record pairs
    on this data - say, no two records share a date of birth because no source has one - is
    skipped with a logged reason, and the parameters it would have estimated come from the
    packaged default model (``fallback_to_default``). With ``con``/``table`` the pairs are
    counted up front; without them a step is only skipped when Splink refuses it."""
    report: dict[str, Any] = {"steps": [], "untrained_comparisons": []}

    def note(step: str, status: str, pairs: int | None, reason: str = "") -> None:
        report["steps"].append({"step": step, "status": status, "pairs": pairs,
                                "reason": reason})
        if status != "trained":
            log.warning("entity resolution training: %s %s (%s)", step, status, reason)

    # prior: how likely two random records match, from rules that are nearly certain
    prior_pairs = (sum(count_pairs(con, table, cols) for cols in PRIOR_RULES)
                   if con is not None and table else None)
    if prior_pairs == 0:
        note("prior", "skipped", 0, "no record pairs agree on email or on name+dob")
        report["prior_from_default"] = True
    else:
        try:
            linker.training.estimate_probability_two_random_records_match(
                [block_on(*cols) for cols in PRIOR_RULES], recall=0.7
            )
            note("prior", "trained", prior_pairs)
        except Exception as exc:  # noqa: BLE001 - Splink's refusal is logged and degraded
            note("prior", "skipped", prior_pairs, f"splink: {str(exc).splitlines()[0]}")
            report["prior_from_default"] = True
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=seed)
    note("u", "trained", None)

    trained: set[str] = set()
    all_columns = set(COMPARISON_COLUMNS)
    for name, fixed in EM_ROUNDS:
        pairs = count_pairs(con, table, fixed) if con is not None and table else None
        if pairs is not None and pairs < min_em_pairs:
            note(f"em:{name}", "skipped", pairs,
                 f"{pairs} record pairs agree on {'+'.join(fixed)} (< {min_em_pairs})")
            continue
        try:
            linker.training.estimate_parameters_using_expectation_maximisation(
                block_on(*fixed), estimate_without_term_frequencies=True
            )
        except Exception as exc:  # noqa: BLE001 - Splink's refusal is logged and degraded
            note(f"em:{name}", "skipped", pairs, f"splink: {str(exc).splitlines()[0]}")
            continue
        trained |= all_columns - set(fixed)
        note(f"em:{name}", "trained", pairs)
    report["untrained_comparisons"] = sorted(all_columns - trained)
    return report


def fallback_to_default(model: dict[str, Any], report: dict[str, Any], *,
                        n_records: int) -> dict[str, Any]:
    """``model`` with the parameters training could not estimate taken from the default model.

    m-probabilities of every comparison in ``report["untrained_comparisons"]`` are copied level
    by level; a prior that could not be estimated is the default model's, rescaled to this
    data size (the expected number of matches per record is what carries over, not the
    probability per pair)."""
    default = default_model()
    out = json.loads(json.dumps(model))
    untrained = set(report.get("untrained_comparisons", ()))
    by_name = {c["output_column_name"]: c for c in default["comparisons"]}
    for comparison in out.get("comparisons", []):
        name = comparison["output_column_name"]
        if name not in untrained or name not in by_name:
            continue
        levels = {lv.get("label_for_charts"): lv for lv in by_name[name]["comparison_levels"]}
        for level in comparison["comparison_levels"]:
            ref = levels.get(level.get("label_for_charts"))
            if ref is not None and ref.get("m_probability") is not None:
                level["m_probability"] = ref["m_probability"]
    if report.get("prior_from_default"):
        n_default = default.get(TRAINED_ON) or DEFAULT_MODEL_RECORDS
        prior = default["probability_two_random_records_match"] * (n_default - 1) / max(
            n_records - 1, 1)
        out["probability_two_random_records_match"] = min(max(prior, 1e-9), 0.5)
    return out


def default_model() -> dict[str, Any]:
    package = resources.files("aios_assets.entities.resolution")
    text = package.joinpath("default_model.json").read_text()
    return json.loads(text)


def default_model_for(n_records: int, *, floor: int = 1000) -> dict[str, Any]:
    """The packaged default model with its prior rescaled to a population of ``n_records``.

    The prior is a per-pair probability: with about as many duplicates per record as the
    synthetic training data, it grows as the population shrinks (a CRM of 700 records has 60
    times fewer pairs than the 42,000 records the default model was trained on). Below
    ``floor`` records the rescaling stops: a handful of records says nothing about the rate."""
    model = default_model()
    prior = model["probability_two_random_records_match"] * (DEFAULT_MODEL_RECORDS - 1) / (
        max(n_records, floor) - 1)
    model["probability_two_random_records_match"] = min(prior, 0.5)
    return model


def _train_default(n_people: int = 20_000, seed: int = 1) -> dict[str, Any]:
    """Train the packaged default model on synthetic records (seed 1; benchmarks use others)."""
    import duckdb
    import polars as pl

    from .records import prepare_records
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
