"""Entity-fact extraction measured against the demo business's ground truth.

    .venv/bin/python -m benchmarks.facts_bench                 # seed 7, scale 1 (about 45 s)
    .venv/bin/python -m benchmarks.facts_bench --seed 11       # another business
    .venv/bin/python -m benchmarks.facts_bench --warehouse W   # reuse a built warehouse

Generates the demo business (``aios_assets.demo.generate``), ingests it, runs the dbt
project (``dbt build``: entity resolution and marts), builds ``entity_facts`` and compares with
``ground_truth.json``:

- **recall** over the ground-truth facts that are entity facts (who agreed to which retainer
  and when, which warehouse a company runs on, what a lead asked for and when, priorities,
  commitments with their dates, new e-mail / surname / e-mail domain, who provides which
  service, the operator's day rate and client limit): a fact counts when ``entity_facts`` holds
  the value (and, for "when" questions, ``valid_from`` on the right day) on the entity — person
  or organization — the question is about. Facts of other tiers (newsletter analytics, overdue
  invoices, open-domain descriptions) are listed as out of scope;
- **precision** of the text-derived facts (rules and signatures): each is judged against the
  truth about its entity (the person's title, company, phones and addresses; the answers of the
  ground-truth facts about that person or organization); facts the ground truth says nothing
  about are counted as unjudged, not as right;
- **contact records**: how often the *current* title / company / e-mail / phone of a person
  agrees with the ground truth.

Entities are mapped to ground-truth people by majority vote over their records, organizations by
majority over their people. Prints a summary and writes ``benchmarks/results/facts.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from aios_assets.demo import SOURCE_FOLDERS, generate
from aios_assets.ingest.loader import ingest_paths
from aios_assets.memory.fact_extraction import company_key, normalize_value
from aios_assets.memory.facts import build_entity_facts

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "facts.json"


def build_warehouse(home: Path, seed: int, scale: float, days: int) -> tuple[Path, Path]:
    data = home / "demo"
    generate(data, seed=seed, scale=scale, days=days)
    wh = home / "warehouse.duckdb"
    con = duckdb.connect(str(wh))
    try:
        ingest_paths(con, [data / s for s in SOURCE_FOLDERS if (data / s).exists()])
    finally:
        con.close()
    env = {**os.environ, "AIOS_HOME": str(home), "AIOS_WAREHOUSE": str(wh),
           "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "DBT_LOG_PATH": str(home / "logs")}
    cmd = [str(Path(sys.executable).with_name("dbt")), "build", "--project-dir",
           str(ROOT / "dbt_project"), "--profiles-dir", str(ROOT / "dbt_project"),
           "--target-path", str(home / "target")]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(proc.stdout[-4000:])
    return wh, data / "ground_truth.json"


def _fold(s: str) -> str:
    return normalize_value("text", s)


class Truth:
    """The ground truth, with entity -> person and organization -> org maps."""

    def __init__(self, con: duckdb.DuckDBPyConnection, truth: dict[str, Any]) -> None:
        self.t = truth
        self.people = {p["person_id"]: p for p in truth["people"]}
        self.orgs = {o["org_id"]: o for o in truth["organizations"]}
        self.org_by_name = {_fold(o["name"]): o["org_id"] for o in truth["organizations"]}
        record_person = {(r["source"], r["source_id"]): r["person_id"]
                         for r in truth["records"] if r.get("person_id")}
        email_person: dict[str, str] = {}
        for p in truth["people"]:
            for e in p["emails"]:
                email_person.setdefault(e.lower(), p["person_id"])
        votes: dict[str, Counter] = defaultdict(Counter)
        for source, source_id, entity_id, email in con.execute(
                "select source, source_id, entity_id, email from entity_membership").fetchall():
            pid = record_person.get((source, source_id)) or (
                email_person.get(email.lower()) if email else None)
            if pid:
                votes[entity_id][pid] += 1
        self.person_of = {e: c.most_common(1)[0][0] for e, c in votes.items()}
        org_votes: dict[str, Counter] = defaultdict(Counter)
        for entity_id, org_id in con.execute(
                "select entity_id, organization_id from dim_contacts "
                "where organization_id is not null").fetchall():
            pid = self.person_of.get(entity_id)
            if pid and self.people[pid]["org_id"]:
                org_votes[org_id][self.people[pid]["org_id"]] += 1
        self.org_of = {o: c.most_common(1)[0][0] for o, c in org_votes.items()}

    def subject_org(self, entity_id: str) -> str | None:
        if entity_id.startswith("org_"):
            return self.org_of.get(entity_id)
        pid = self.person_of.get(entity_id)
        return self.people[pid]["org_id"] if pid else None

    def subject_person(self, entity_id: str) -> dict[str, Any] | None:
        pid = self.person_of.get(entity_id)
        return self.people.get(pid) if pid else None


def _named(p: dict[str, Any] | None, name: str) -> bool:
    return bool(p) and _fold(name) in {_fold(v) for v in [p["canonical_name"],
                                                           *p["name_variants"]]}


def _has(value: str, *parts: str) -> bool:
    v = _fold(value)
    return all(_fold(part) in v for part in parts if part)


# Question templates: (name, regex, in scope)
TEMPLATES = [
    ("retainer_amount", r"^What monthly retainer did (?P<org>.+) agree to for (?P<q>Q\d)\?$"),
    ("retainer_date", r"^When did (?P<who>.+) agree to the (?P<q>Q\d) retainer for (?P<org>.+)\?$"),
    ("warehouse", r"^Which data warehouse does (?P<org>.+) use\?$"),
    ("promise", r"^What did Maya promise (?P<who>.+) of (?P<org>.+), and by when\?$"),
    ("lead_need", r"^What did (?P<who>.+) from (?P<org>.+) first contact Maya about\?$"),
    ("lead_first", r"^When did (?P<who>.+) from (?P<org>.+) first get in touch\?$"),
    ("service_who", r"^Who does Maya work with for (?P<service>.+)\?$"),
    ("service_what", r"^What does (?P<who>.+) help Maya with\?$"),
    ("priority", r"^What did (?P<org>.+) decide to prioritise at the (?P<project>.+) kickoff\?$"),
    ("deliver_by", (r"^By when did Maya commit to deliver the (?P<what>.+) to (?P<org>.+), "
                    r"and why that date\?$")),
    ("new_email", r"^What email address should Maya use for (?P<who>.+) of (?P<org>.+) now\?$"),
    ("surname", r"^What is (?P<who>.+)'s surname now\?$"),
    ("email_domain", r"^Which email domain does (?P<org>.+) use since its rebrand\?$"),
    ("day_rate", r"^What day rate will new clients pay, and from when\?$"),
    ("max_clients", r"^How many retainer clients at a time did Maya set as her maximum\?$"),
]
OUT_OF_SCOPE = {
    "newsletter analytics (fct_content_performance)": r"issue of|paid sign-ups|issue \"",
    "overdue invoices (transaction episodes)": r"invoice is overdue",
    "open-domain descriptions (semantic recall)": r"business do\?|industries|what is the data "
                                                   r"ledger",
}


def evaluate(con: duckdb.DuckDBPyConnection, truth_path: Path) -> dict[str, Any]:
    truth = json.loads(truth_path.read_text())
    gt = Truth(con, truth)
    facts = [dict(zip(("fact_id", "entity_id", "attribute", "value", "valid_from", "valid_to",
                       "source_id", "extracted_by"), r, strict=True))
             for r in con.execute(
                 "select fact_id, entity_id, attribute, value, valid_from, valid_to, source_id, "
                 "extracted_by from entity_facts").fetchall()]
    by_attr: dict[str, list[dict]] = defaultdict(list)
    for f in facts:
        by_attr[f["attribute"]].append(f)

    def on_org(f: dict, org_name: str) -> bool:
        org = gt.org_by_name.get(_fold(org_name))
        return org is not None and gt.subject_org(f["entity_id"]) == org

    def on_person(f: dict, name: str, org_name: str | None = None) -> bool:
        p = gt.subject_person(f["entity_id"])
        if not _named(p, name):
            return False
        return org_name is None or _fold(p["company"] or "") == _fold(org_name)

    def day(f: dict) -> str:
        return f["valid_from"].astimezone(UTC).date().isoformat()

    def match(name: str, m: re.Match, answer: str) -> bool:
        g = m.groupdict()
        if name == "retainer_amount":
            return any(on_org(f, g["org"]) and _has(f["value"], answer)
                       for f in by_attr["retainer"])
        if name == "retainer_date":
            return any(on_org(f, g["org"]) and day(f) == answer for f in by_attr["retainer"])
        if name == "warehouse":
            return any(on_org(f, g["org"]) and _fold(f["value"]) == _fold(answer)
                       for f in by_attr["data_warehouse"])
        if name == "promise":
            thing, when = re.match(r"^(.*) by Friday (\d{4}-\d{2}-\d{2})$", answer).groups()
            return any(on_person(f, g["who"], g["org"]) and _has(f["value"], thing, when)
                       for f in by_attr["commitment"])
        if name == "lead_need":
            return any(on_person(f, g["who"], g["org"]) and _fold(f["value"]) == _fold(answer)
                       for f in by_attr["need"])
        if name == "lead_first":
            needs = [f for f in by_attr["need"] if on_person(f, g["who"], g["org"])]
            return bool(needs) and min(day(f) for f in needs) == answer
        if name == "service_who":
            who = answer.split(" (")[0]
            return any(on_person(f, who) and _fold(f["value"]) == _fold(g["service"])
                       for f in by_attr["service"])
        if name == "service_what":
            return any(on_person(f, g["who"]) and _fold(f["value"]) == _fold(answer)
                       for f in by_attr["service"])
        if name == "priority":
            return any(on_org(f, g["org"]) and _fold(f["value"]) == _fold(answer)
                       for f in by_attr["priority"])
        if name == "deliver_by":
            ready, board = re.findall(r"\d{4}-\d{2}-\d{2}", answer)[:2]
            commit = any(gt.subject_org(f["entity_id"]) == gt.org_by_name.get(_fold(g["org"]))
                         and _has(f["value"], g["what"], ready) for f in by_attr["commitment"])
            why = any(on_org(f, g["org"]) and f["value"] == board
                      for f in by_attr["board_meeting"])
            return commit and why
        if name == "new_email":
            return any(on_person(f, g["who"]) and f["valid_to"] is None
                       and f["value"].lower() == answer.lower() for f in by_attr["email"])
        if name == "surname":
            return any(on_person(f, g["who"]) and f["valid_to"] is None
                       and _fold(f["value"]) == _fold(answer) for f in by_attr["last_name"])
        if name == "email_domain":
            return any(on_org(f, g["org"]) and f["valid_to"] is None
                       and f["value"].lower() == answer.lower()
                       for f in by_attr["email_domain"])
        if name == "day_rate":
            amount, when = re.match(r"^(\S+) per day from (\S+)$", answer).groups()
            return any(_has(f["value"], amount, when) for f in by_attr["day_rate"])
        if name == "max_clients":
            return any(f["attribute"].startswith("max_") and "client" in f["attribute"]
                       and f["value"] == answer for f in facts)
        raise AssertionError(name)

    per_template: dict[str, dict[str, int]] = defaultdict(lambda: {"facts": 0, "found": 0})
    out_of_scope: Counter = Counter()
    missed: list[dict[str, str]] = []
    # truth for precision: (org or person id, attribute) -> accepted answers
    expected: dict[tuple[str, str], list[str]] = defaultdict(list)
    for fact in truth["facts"]:
        q, answer = fact["question"], fact["answer"]
        for name, pattern in TEMPLATES:
            m = re.match(pattern, q)
            if m:
                per_template[name]["facts"] += 1
                if match(name, m, answer):
                    per_template[name]["found"] += 1
                else:
                    missed.append({"template": name, "question": q, "answer": answer})
                _expect(expected, gt, name, m, answer, truth)
                break
        else:
            label = next((k for k, pat in OUT_OF_SCOPE.items() if re.search(pat, q, re.IGNORECASE)),
                         "other")
            out_of_scope[label] += 1

    in_scope = sum(v["facts"] for v in per_template.values())
    found = sum(v["found"] for v in per_template.values())

    # precision of text-derived facts
    judged = correct = 0
    by_extractor: dict[str, dict[str, int]] = defaultdict(
        lambda: {"facts": 0, "judged": 0, "correct": 0})
    wrong: list[dict[str, str]] = []
    for f in facts:
        if f["extracted_by"] == "contact_record":
            continue
        verdict = _judge(gt, expected, f)
        stat = by_extractor[f["extracted_by"]]
        stat["facts"] += 1
        if verdict is None:
            continue
        stat["judged"] += 1
        judged += 1
        if verdict:
            stat["correct"] += 1
            correct += 1
        elif len(wrong) < 25:
            wrong.append({k: str(f[k]) for k in ("entity_id", "attribute", "value",
                                                  "source_id", "extracted_by")})

    # contact records: current values vs the truth
    contact: dict[str, dict[str, int]] = {}
    for attr in ("title", "company", "email", "phone"):
        n = ok = 0
        for f in by_attr[attr]:
            if f["valid_to"] is not None or f["entity_id"].startswith("org_"):
                continue
            verdict = _judge(gt, expected, f)
            if verdict is None:
                continue
            n += 1
            ok += bool(verdict)
        contact[attr] = {"current_facts_judged": n, "agree": ok,
                         "accuracy": round(ok / n, 3) if n else None}

    return {
        "recall": {"in_scope_facts": in_scope, "found": found,
                   "recall": round(found / in_scope, 3) if in_scope else None,
                   "by_template": dict(per_template),
                   "out_of_scope": dict(out_of_scope), "missed": missed},
        "precision": {"text_facts": sum(v["facts"] for v in by_extractor.values()),
                      "judged": judged, "correct": correct,
                      "precision": round(correct / judged, 3) if judged else None,
                      "by_extractor": dict(by_extractor), "wrong_examples": wrong},
        "current_values": contact,
        "entities_mapped": len(gt.person_of),
    }


def _expect(expected: dict, gt: Truth, name: str, m: re.Match, answer: str,
            truth: dict[str, Any]) -> None:
    """Record what a ground-truth fact says about an org / person, for judging precision."""
    g = m.groupdict()
    org = gt.org_by_name.get(_fold(g.get("org") or ""))
    attr = {"retainer_amount": "retainer", "warehouse": "data_warehouse", "priority": "priority",
            "email_domain": "email_domain", "lead_need": "need", "promise": "commitment",
            "service_what": "service", "new_email": "email", "surname": "last_name",
            "day_rate": "day_rate", "max_clients": "max_retainer_clients"}.get(name)
    if name == "deliver_by":
        ready, board = re.findall(r"\d{4}-\d{2}-\d{2}", answer)[:2]
        if org:
            expected[(org, "board_meeting")].append(board)
            expected[(org, "commitment")].append(f"{g['what']}|{ready}")
        return
    if name == "service_who":
        who = answer.split(" (")[0]
        for p in truth["people"]:
            if p["canonical_name"] == who:
                expected[(p["person_id"], "service")].append(g["service"])
        return
    if attr is None:
        return
    if attr in ("retainer", "data_warehouse", "priority", "email_domain") and org:
        expected[(org, attr)].append(answer)
        return
    if attr in ("day_rate", "max_retainer_clients"):
        expected[(truth["operator"]["person_id"], attr)].append(answer)
        return
    who = g.get("who")
    for p in truth["people"]:
        if who and _named(p, who) and (org is None or p["org_id"] == org):
            value = answer
            if name == "promise":
                thing, when = re.match(r"^(.*) by Friday (\d{4}-\d{2}-\d{2})$", answer).groups()
                value = f"{thing}|{when}"
            expected[(p["person_id"], attr)].append(value)
            if org:
                expected[(org, attr)].append(value)


def _judge(gt: Truth, expected: dict, f: dict[str, Any]) -> bool | None:
    """True / False when the truth knows this fact's subject and attribute, else None."""
    attr, value = f["attribute"], f["value"]
    person = gt.subject_person(f["entity_id"]) if not f["entity_id"].startswith("org_") else None
    org = gt.subject_org(f["entity_id"])
    if person is not None:
        if attr == "title" and person["title"]:
            return _fold(value) == _fold(person["title"])
        if attr == "company" and person["org_id"]:
            o = gt.orgs[person["org_id"]]
            keys = {company_key(a) for a in [o["name"], *o["aliases"]]}
            return company_key(value) in keys or any(
                company_key(value) and k.startswith(company_key(value)) for k in keys)
        if attr == "phone" and person["phones"]:
            return normalize_value("phone", value) in {normalize_value("phone", p)
                                                         for p in person["phones"]}
        if attr == "email":
            known = expected.get((person["person_id"], "email"))
            if known and f["valid_to"] is None:
                return value.lower() in {k.lower() for k in known}
            return value.lower() in {e.lower() for e in person["emails"]}
        if attr == "last_name":
            names = [person["canonical_name"], *person["name_variants"]]
            return any(_fold(n).endswith(_fold(value)) for n in names)
    keys = [k for k in ((person or {}).get("person_id"), org) if k]
    answers = [a for k in keys for a in expected.get((k, attr), [])]
    if not answers:
        return None
    for a in answers:
        if "|" in a:
            what, when = a.split("|")
            if _has(value, when) and (_has(value, what) or attr == "commitment"):
                return True
        elif attr in ("retainer", "day_rate"):
            if _has(value, a.split(" per ")[0]):
                return True
        elif _fold(value) == _fold(a):
            return True
    return False


# Phrasings the demo generator never uses (written by hand, not tuned against): what the rules
# should find (attribute, a word the value must contain), or nothing.
PARAPHRASES: list[tuple[str, bool, set[tuple[str, str]]]] = [
    ("Quick update: I'm now Head of Growth at Lumen Foods.", False,
     {("title", "head of growth"), ("company", "lumen foods")}),
    ("I have just joined Cobalt Labs as Chief Data Officer.", False,
     {("company", "cobalt labs"), ("title", "chief data officer")}),
    ("I've been promoted to VP Engineering!", False, {("title", "vp engineering")}),
    ("Please use priya@newco.example from now on.", False, {("email", "priya@newco.example")}),
    ("My new mobile number is +44 7700 900123.", False, {("phone", "7700 900123")}),
    ("Call me on +1 415 555 0100 if anything breaks.", False, {("phone", "415 555 0100")}),
    ("We've relocated to Lisbon.", False, {("city", "lisbon")}),
    ("I much prefer calls to long email threads.", False, {("preferred_channel", "calls")}),
    ("We prefer mornings for workshops.", False, {("preferred_time", "mornings")}),
    ("Please don't call me after 6pm.", False, {("preferred_channel", "call me after 6pm")}),
    ("Our budget is around $40k for the year.", False, {("budget", "$40k")}),
    ("We agreed to the proposal at €12,000.", False, {("agreed_price", "€12,000")}),
    ("Happy to confirm the retainer at £3,000 per month.", False, {("retainer", "£3,000")}),
    ("The data warehouse runs on BigQuery these days.", False,
     {("data_warehouse", "bigquery")}),
    ("We are looking for someone to rebuild our KPI tree.", False,
     {("need", "rebuild our kpi tree")}),
    ("Let's prioritise the churn work over the dashboards.", False,
     {("priority", "the churn work over the dashboards")}),
    ("Our board meeting is on 3 September.", False, {("board_meeting", "09-03")}),
    ("I will send the revised deck over by Thursday 10 September.", True,
     {("commitment", "the revised deck")}),
    # should find nothing
    ("Dana said the board might meet in the autumn.", False, set()),
    ("I'd suggest a Q3 retainer at $6,500/month.", True, set()),
    ("Thanks, I'll check with the team and come back to you tomorrow.", False, set()),
    ("We looked at Snowflake but nothing is decided.", False, set()),
    ("> I'm Head of Data at Acme.\n\nThanks for the intro!", False, set()),
    ("Can you send me the numbers by Friday?", False, set()),
]


def paraphrase_check() -> dict[str, Any]:
    """Rule precision / recall on hand-written phrasings the generator never produces."""
    from aios_assets.memory.fact_extraction import extract_from_text

    ref = datetime(2026, 8, 3, 10, tzinfo=UTC)
    tp = fp = fn = 0
    misses: list[str] = []
    for text, by_operator, wanted in PARAPHRASES:
        got = {(f.attribute, _fold(f.value)) for f in extract_from_text(
            text, ref, by_operator=by_operator)}
        hit = {w for w in wanted if any(a == w[0] and _fold(w[1]) in v for a, v in got)}
        extra = {g for g in got if not any(g[0] == w[0] and _fold(w[1]) in g[1] for w in wanted)}
        tp, fn, fp = tp + len(hit), fn + len(wanted - hit), fp + len(extra)
        misses += [f"missed {w} in {text!r}" for w in wanted - hit]
        misses += [f"extra {g} in {text!r}" for g in extra]
    return {"sentences": len(PARAPHRASES), "expected": tp + fn, "found": tp, "spurious": fp,
            "recall": round(tp / (tp + fn), 3) if tp + fn else None,
            "precision": round(tp / (tp + fp), 3) if tp + fp else None, "errors": misses}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--days", type=int, default=90)
    ap.add_argument("--warehouse", type=Path, help="a built warehouse (skip generate + dbt)")
    ap.add_argument("--truth", type=Path, help="its ground_truth.json (with --warehouse)")
    ap.add_argument("--out", type=Path, help="default benchmarks/results/facts.json "
                                              "(facts_seed<N>.json for another seed)")
    args = ap.parse_args(argv)
    if args.out is None:
        args.out = RESULTS if args.seed == 7 else RESULTS.with_name(f"facts_seed{args.seed}.json")
    timings: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="aios-facts-bench-") as tmp:
        t = time.perf_counter()
        if args.warehouse:
            wh, truth = args.warehouse, args.truth or args.warehouse.parent / "ground_truth.json"
        else:
            wh, truth = build_warehouse(Path(tmp), args.seed, args.scale, args.days)
        timings["generate_ingest_dbt_s"] = round(time.perf_counter() - t, 2)
        con = duckdb.connect(str(wh))
        try:
            t = time.perf_counter()
            stats = build_entity_facts(con, full_refresh=True)
            timings["entity_facts_s"] = round(time.perf_counter() - t, 2)
            result = evaluate(con, truth)
        finally:
            con.close()
    report = {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": "python -m benchmarks.facts_bench"
                   + (f" --seed {args.seed}" if args.seed != 7 else "")
                   + (f" --scale {args.scale}" if args.scale != 1.0 else ""),
        "machine": {"python": platform.python_version(), "platform": platform.platform()},
        "dataset": {"seed": args.seed, "scale": args.scale, "days": args.days},
        "facts": {"rows": stats.total, "current": stats.current,
                  "by_extractor": stats.by_extractor},
        "timings": timings,
        **result,
        "paraphrases": paraphrase_check(),
    }
    if not args.warehouse:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=2, default=str) + "\n")
    r, p = report["recall"], report["precision"]
    print(f"recall     {r['found']}/{r['in_scope_facts']} = {r['recall']}   (in-scope ground-truth "
          f"facts; out of scope: {sum(r['out_of_scope'].values())})")
    print(f"precision  {p['correct']}/{p['judged']} = {p['precision']}   ({p['text_facts']} "
          f"text-derived facts, {p['text_facts'] - p['judged']} unjudged)")
    for attr, v in report["current_values"].items():
        print(f"current {attr:<8} {v['agree']}/{v['current_facts_judged']} = {v['accuracy']}")
    ph = report["paraphrases"]
    print(f"paraphrases {ph['found']}/{ph['expected']} found, {ph['spurious']} spurious "
          f"(recall {ph['recall']}, precision {ph['precision']})")
    for e in ph["errors"]:
        print("  ", e)
    for name, v in r["by_template"].items():
        print(f"  {name:<16} {v['found']}/{v['facts']}")
    for miss in r["missed"][:10]:
        print("  missed:", miss["question"], "->", miss["answer"])
    for w in p["wrong_examples"][:10]:
        print("  wrong:", w)
    return report


if __name__ == "__main__":
    main()
