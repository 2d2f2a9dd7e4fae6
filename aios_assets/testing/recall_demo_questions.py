"""Recall questions about the demo business (``aios_assets.demo``): natural questions whose
evidence is specific events' ``source_id``, from the generator's ground truth.
"""

from __future__ import annotations

import json
import random
import re
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from aios_assets.testing.recall_questions import DevSet, Question, write_questions

_FACT_REWRITES: tuple[tuple[str, str], ...] = (
    (r"^Which issue of The Data Ledger had the highest open rate\?$",
     "Which newsletter edition got opened the most?"),
    (r"^How many paid sign-ups did '(.+)' bring\?$",
     r"How many readers upgraded to paid after the '\1' issue went out?"),
    (r"^When was the The Data Ledger issue \"(.+)\" sent\?$",
     r"On what date did Maya publish \"\1\"?"),
    (r"^What does Maya Okafor's business do\?$", "What kind of work does Maya's company offer?"),
    (r"^How many retainer clients at a time did Maya set as her maximum\?$",
     "What's the cap Maya put on concurrent retainer clients?"),
    (r"^Which industries are Maya's current clients in\?$",
     "What sectors do Maya's clients come from?"),
    (r"^What is The Data Ledger and how often does it go out\?$",
     "How often does Maya's newsletter go out, and what is it?"),
    (r"^Which (.+) invoice is overdue at the end of the period, and how much is outstanding\?$",
     r"What does \1 still owe Maya, and on which bill?"),
    (r"^What did (.+) from (.+) first contact Maya about\?$",
     r"Why did \1 of \2 reach out to Maya initially?"),
    (r"^When did (.+) from (.+) first get in touch\?$",
     r"When did \2 first enquire with Maya?"),
    (r"^Who does Maya work with for (.+)\?$", r"Which collaborator handles \1 for Maya?"),
    (r"^When did (.+) agree to the Q3 retainer for (.+)\?$",
     r"When did \2 sign off on the third-quarter retainer?"),
    (r"^What monthly retainer did (.+) agree to for Q3\?$",
     r"How much per month will \1 pay Maya in Q3?"),
    (r"^Which data warehouse does (.+) use\?$", r"What warehouse platform is \1 running on?"),
    (r"^What did Maya promise (.+) of (.+), and by when\?$",
     r"What deliverable did Maya commit to for \1 at \2, and what was the deadline?"),
    (r"^What did (.+) decide to prioritise at the (.+) kickoff\?$",
     r"At the \2 kick-off, what did \1 put first?"),
    (r"^By when did Maya commit to deliver the (.+) to (.+), and why that date\?$",
     r"What deadline did Maya give \2 for the \1, and what drives it?"),
    (r"^What day rate will new clients pay, and from when\?$",
     "How much does Maya charge new clients per day now, and since when?"),
    (r"^What email address should Maya use for (.+) of (.+) now\?$",
     r"Which address reaches \1 at \2 these days?"),
    (r"^What is (.+)'s surname now\?$", r"What is \1 called now after changing her name?"),
    (r"^Which email domain does (.+) use since its rebrand\?$",
     r"What domain do \1 emails come from after the rebrand?"),
)
_FACT_CATEGORY = {"single-hop": "single-hop", "multi-hop": "multi-hop", "temporal": "temporal",
                  "open-domain": "open-domain"}


def rephrase_fact(question: str) -> str:
    """A paraphrase of a ground-truth fact question (so recall cannot lean on its wording)."""
    for pattern, repl in _FACT_REWRITES:
        if re.match(pattern, question):
            return re.sub(pattern, repl, question)
    return question


@dataclass(frozen=True)
class _DemoEvent:
    source: str
    source_id: str
    kind: str
    occurred_at: str
    actor: str | None
    thread: str | None
    subject: str | None
    text: str
    payload: dict | None


def iter_demo_events(data_dir: Path) -> Iterator[_DemoEvent]:
    """Every event of a generated demo business, parsed by the product's own parsers."""
    from aios_assets.demo import META_FILES
    from aios_assets.ingest.parsers import detect_format, is_mapping_file, iter_records

    meta = {str(Path(data_dir) / m) for m in META_FILES}
    for path in sorted(Path(data_dir).rglob("*")):
        if (not path.is_file() or str(path) in meta or is_mapping_file(path)
                or detect_format(path) is None):
            continue
        for rec in iter_records(path):
            if hasattr(rec, "source_id"):
                yield _DemoEvent(
                    rec.source, rec.source_id, rec.kind,
                    rec.occurred_at.isoformat() if rec.occurred_at else "", rec.actor,
                    rec.thread, rec.subject, rec.text or "", rec.payload,
                )


def _operator(gt: dict) -> str:
    return str(gt.get("operator", {}).get("name") or "the operator").split()[0]


def _org_of(question: str, orgs: Sequence[str]) -> str | None:
    hits = [o for o in orgs if o in question]
    return max(hits, key=len) if hits else None


def _fact_questions(gt: dict, events: dict[str, _DemoEvent], orgs: Sequence[str]
                    ) -> Iterator[Question]:
    for fact in gt["facts"]:
        evidence = tuple(e["source_id"] for e in fact["evidence"])
        threads = {events[e].thread for e in evidence if e in events}
        thread = next(iter(threads)) if len(threads) == 1 and len(evidence) > 0 else None
        if thread is not None and all(events[e].source == "chat" for e in evidence
                                      if e in events):
            hint = thread
        else:
            hint = None
        yield Question(
            qid=f"demo-{fact['fact_id']}", question=rephrase_fact(fact["question"]),
            category=_FACT_CATEGORY.get(fact["type"], "single-hop"), evidence=evidence,
            thread=hint, entity=_org_of(fact["question"], orgs), answer=fact["answer"],
        )


def _billing_questions(rng: random.Random, events: dict[str, _DemoEvent], gt: dict
                       ) -> Iterator[Question]:
    operator = _operator(gt)
    invoices = [e for e in events.values() if e.kind == "invoice"]
    payments = {(e.payload or {}).get("invoice_id"): e for e in events.values()
                if e.kind == "payment"}
    for inv in rng.sample(invoices, min(18, len(invoices))):
        p = inv.payload or {}
        company = p.get("company") or p.get("customer_name") or "the client"
        desc = str(p.get("description") or "the work").split(" - ")[0]
        desc = desc[:1].lower() + desc[1:]
        yield Question(
            qid=f"demo-inv-{inv.source_id}",
            question=f"How much did {operator} bill {company} for {desc} "
                     f"(issued {str(p.get('issued_at'))[:10]})?",
            category="single-hop", evidence=(inv.source_id,), entity=company,
            answer=f"{p.get('amount')} {p.get('currency')}",
        )
        pay = payments.get(inv.source_id)
        if pay is not None:
            yield Question(
                qid=f"demo-pay-{pay.source_id}",
                question=f"When did {company} settle invoice {inv.source_id}?",
                category="temporal", evidence=(pay.source_id,), entity=company,
                answer=str((pay.payload or {}).get("paid_at")),
            )
    overdue = list(gt.get("overdue_invoices", []))
    if overdue:
        yield Question(
            qid="demo-overdue-all",
            question=f"Which clients are late paying {operator} right now?",
            category="multi-hop", evidence=tuple(overdue), answer=", ".join(overdue),
        )


def _newsletter_questions(events: dict[str, _DemoEvent]) -> Iterator[Question]:
    for e in events.values():
        if e.kind != "content_metrics":
            continue
        p = e.payload or {}
        title = p.get("title") or e.source_id
        yield Question(
            qid=f"demo-nl-{e.source_id}",
            question=f"How many subscribers clicked a link in the '{title}' edition?",
            category="single-hop", evidence=(e.source_id,), answer=str(p.get("clicks")),
        )


def _people_questions(gt: dict, events: dict[str, _DemoEvent]) -> Iterator[Question]:
    people = {p["person_id"]: p for p in gt["people"]}
    by_person: dict[str, list[_DemoEvent]] = defaultdict(list)
    for r in gt["records"]:
        e = events.get(r["source_id"])
        if e is not None and r.get("person_id") and e.kind == "email":
            by_person[r["person_id"]].append(e)
    for pid in gt.get("stale_leads", []):
        mails = sorted(by_person.get(pid, []), key=lambda e: e.occurred_at)
        if not mails:
            continue
        person = people[pid]
        last = mails[-1]
        yield Question(
            qid=f"demo-stale-{pid}",
            question=f"When did {_operator(gt)} last hear from {person['canonical_name']} of "
                     f"{person['company']}, who has since gone quiet?",
            category="temporal", evidence=(last.source_id,), entity=person["company"],
            answer=last.occurred_at[:10],
        )
    injections = [i["source_id"] for i in gt.get("prompt_injections", [])]
    if injections:
        yield Question(
            qid="demo-injections",
            question="Which messages tried to give the assistant instructions, like paying "
                     "invoices or leaking data?",
            category="multi-hop", evidence=tuple(injections),
            answer=f"{len(injections)} messages",
        )
        for sid in injections:
            e = events.get(sid)
            if e is not None and e.subject:
                yield Question(
                    qid=f"demo-inj-{sid[:24]}",
                    question=f"What did the suspicious email titled '{e.subject}' ask for?",
                    category="single-hop", evidence=(sid,), answer=e.text[:120],
                )


def demo_questions(ground_truth_path: Path, data_dir: Path | None = None, *,
                   seed: int = 1) -> list[Question]:
    """Questions about a generated demo business, evidence = its events' ``source_id``.

    ``data_dir`` is the generated business (default: the folder of ``ground_truth.json``).
    Sources: every ground-truth fact (paraphrased), invoices and payments, newsletter metrics,
    stale leads and prompt-injection messages.
    """
    ground_truth_path = Path(ground_truth_path)
    gt = json.loads(ground_truth_path.read_text(encoding="utf-8"))
    data_dir = Path(data_dir) if data_dir is not None else ground_truth_path.parent
    events = {e.source_id: e for e in iter_demo_events(data_dir)}
    orgs = [o["name"] for o in gt["organizations"]]
    rng = random.Random(f"recall-demo:{seed}")
    out = list(_fact_questions(gt, events, orgs))
    out += list(_billing_questions(rng, events, gt))
    out += list(_newsletter_questions(events))
    out += list(_people_questions(gt, events))
    missing = [q.qid for q in out if not all(e in events for e in q.evidence)]
    if missing:
        raise ValueError(f"demo questions cite events that do not exist: {missing[:5]}")
    return out


def generate_demo(seed: int, out_dir: Path) -> DevSet:
    """Generate the demo business (scale 1) under ``out_dir/events`` and its questions."""
    from aios_assets.demo import generate

    out_dir = Path(out_dir)
    summary = generate(out_dir / "events", seed=seed)
    questions = demo_questions(summary.ground_truth, seed=seed)
    write_questions(out_dir / "questions.jsonl", questions)
    files = tuple(out_dir / "events" / rel for rel in summary.files)
    return DevSet("demo", seed, out_dir / "events", files, tuple(questions),
                  turns=summary.events, extra={"people": summary.people,
                                               "organizations": summary.organizations})
