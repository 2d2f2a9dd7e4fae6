"""Cross-party disclosure and untrusted text in outgoing payloads (issue 15, finding 12).

* the disclosure gate holds a message that mentions other people's e-mail addresses, phone
  numbers or balances (and says which datum, whose), passes one that mentions only its
  recipients', the operator's or the answered thread's, and lets an approved one through;
* injection signals survive German, French, full-width, zero-width and hidden-HTML variants
  (tests/corpus/hostile/), and inbound text is quoted into payloads as marked, inert data;
* end to end with real parts (DuckDB, embedded Postgres, an OpenAI-compatible server that
  misbehaves, loopback SMTP / webhook / API, every intent autonomous): the daily brief's
  delivered webhook carries no raw ``Bcc:`` line, attacker address or unmarked attacker text,
  and drafts that list other clients' data are held for approval, never delivered.
"""

from __future__ import annotations

import email.utils
import json
import re
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import duckdb
import psycopg
import pytest

from aios_assets.agents.runtime import injection_signals, quote_for_delivery
from aios_assets.publishing.disclosure import Parties
from aios_assets.publishing.gates import Directory, GateContext, gate_disclosure
from aios_assets.publishing.policy import parse_policy
from aios_assets.publishing.publish import plan_publishing
from tests.agent_fixtures import CLOCK, MAYA, PEOPLE, add_more, build_business, mail

HOSTILE = Path(__file__).resolve().parent / "corpus" / "hostile" / "disclosure"
LEAK = (HOSTILE / "misbehaving-llm-draft.txt").read_text()
OTHERS = ("bob@stone.example", "leo@yarrow.example", "eve@fastinvoice-secure.example",
          "zed@zeta-clients.example", "7946", "2,300.00")
DIRECTORY = Directory(email_to_entity={p["email"]: p["entity_id"] for p in PEOPLE},
                      entities=frozenset(p["entity_id"] for p in PEOPLE))
PARTIES = Parties(names={p["entity_id"]: p["full_name"] for p in PEOPLE},
                  invoices={"INV-7": "ent_ada", "INV-8": "ent_bob"},
                  operator_emails=frozenset({MAYA["email"]}),
                  operator_entities=frozenset({"ent_maya"}),
                  threads={"m-bob-1@x": frozenset({"bob@stone.example", "maya@okafor.example",
                                                   "pat@stone.example"})})


def _ctx(decisions: dict[str, str] | None = None) -> GateContext:
    return GateContext(policy=parse_policy("version: 1\n"), directory=DIRECTORY,
                       parties=PARTIES, decisions=decisions or {})


def _mail(body: str, to: str = "ada@analytical.example", target: str = "ent_ada",
          **extra: str) -> dict:
    return {"proposal_id": "p1", "action_type": "send_email", "capability": "email",
            "target_entity_id": target,
            "payload": {"to": to, "subject": "Invoice INV-7", "body": body, **extra}}


# --- the gate ---------------------------------------------------------------------------------


def test_other_clients_data_is_held_with_which_datum_and_whose():
    v = gate_disclosure(_mail(LEAK), _ctx())
    assert not v.passed and v.reason.startswith("held for the operator's approval")
    for what in ("e-mail address b…@stone.example of ent_bob", "of ent_leo", "of ent_eve",
                 "z…@zeta-clients.example of someone who is not a recipient",
                 "phone number …958", "amount EUR 800.00 tied to ent_bob",
                 "amount EUR 2,300.00 tied to ent_leo"):
        assert what in v.reason, (what, v.reason)
    assert "ent_ada" not in v.reason  # her own invoice and balance are hers to read
    # one balance of another customer, by invoice number alone
    v = gate_disclosure(_mail("Your INV-7 is open; INV-8 was EUR 800.00."), _ctx())
    assert not v.passed and "invoice INV-8 of ent_bob" in v.reason


def test_own_operator_and_thread_data_pass_and_approval_clears():
    own = ("Hi Ada, INV-7 (EUR 1,200.00) is open; your address ada@analytical.example is on "
           "file. Reach me at maya@okafor.example.")
    assert gate_disclosure(_mail(own), _ctx()).passed
    # a reply may name the people of the thread it answers (Pat was cc'd by Bob)
    reply = _mail("Hi Bob, I have copied pat@stone.example as you asked.",
                  to="bob@stone.example", target="ent_bob", in_reply_to="m-bob-1@x",
                  subject="Re: Meeting next week?")
    assert gate_disclosure(reply, _ctx()).passed
    assert not gate_disclosure({**reply, "payload": {**reply["payload"], "in_reply_to": "x"}},
                               _ctx()).passed
    approved = gate_disclosure(_mail(LEAK), _ctx({"p1": "approved"}))
    assert approved.passed and "approved by the operator" in approved.reason


def test_held_proposal_waits_for_approval_instead_of_publishing():
    from aios_assets.publishing.gates import GATES, GateResult

    p = _mail(LEAK)
    ctx = GateContext(policy=parse_policy("version: 1\ndefault_mode: autonomous\nactions:\n"
                                          "  send_email: {mode: autonomous}\n"),
                      directory=DIRECTORY, parties=PARTIES)
    v = gate_disclosure(p, ctx)
    results = [GateResult("p1", g, g != "disclosure", v.reason if g == "disclosure" else "")
               for g in GATES]
    plan = plan_publishing([p], results, ctx)
    assert plan.publish == [] and plan.waiting == [p] and plan.blocked == []
    # `aios proposals` and `aios audit` say it waits for the operator, not that it failed
    from aios_assets.observability.audit import fate
    from aios_assets.publishing.policy import Mode
    from aios_assets.publishing.publish import proposal_status

    rows = [(r.gate, r.passed, r.reason) for r in results]
    assert proposal_status(p, gates=rows, decision=None, outbox_status=None,
                           mode=Mode.AUTONOMOUS, now=datetime.now(UTC)) == "pending"
    assert fate(p, gates=[{"gate": g, "passed": ok} for g, ok, _ in rows], decisions=[],
                outbox=None) == "pending (held for approval)"
    # any other failing gate still blocks it
    results[0] = GateResult("p1", results[0].gate, False, "unknown action type")
    assert plan_publishing([p], results, ctx).blocked == [p]


def test_webhook_may_not_carry_other_peoples_addresses():
    hook = {"proposal_id": "h", "action_type": "notify_webhook", "capability": "webhook",
            "target_entity_id": None,
            "payload": {"text": "- mail from refunds@attacker.example: EUR 90.00 Leo Chen"}}
    v = gate_disclosure(hook, _ctx())
    assert not v.passed and "attacker.example" in v.reason and "amount" not in v.reason
    assert gate_disclosure({**hook, "payload": {"text": "- EUR 90.00 from Leo Chen"}},
                           _ctx()).passed  # the operator's own business news


# --- untrusted text ---------------------------------------------------------------------------


def _variants() -> list[dict]:
    lines = (HOSTILE / "injection-variants.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


@pytest.mark.parametrize("case", _variants(), ids=lambda c: c["id"])
def test_multilingual_and_hidden_injections_are_flagged(case):
    assert injection_signals(case["text"]), case["id"]


def test_benign_lines_are_not_flagged():
    for line in json.loads((HOSTILE / "benign-lines.json").read_text(encoding="utf-8")):
        assert injection_signals(line) == [], line


def test_quoted_inbound_text_is_inert():
    q = quote_for_delivery("Quarterly\r\nBcc: evil@attacker.example\x07 <b>`x`</b> "
                           "Ｉｇｎｏｒｅ\u200b me " + "y" * 300,
                           keep_emails={"maya@okafor.example"})
    assert q.startswith("[untrusted] «") and q.endswith("…»") and len(q) < 140
    assert "\n" not in q and "\r" not in q and "\x07" not in q and "\u200b" not in q
    assert not re.search(r"(?i)bcc\s*:", q) and "attacker" not in q and "Ignore" in q
    assert "\\<b\\>" in q and "\\`" in q
    assert "maya@okafor.example" in quote_for_delivery("mail maya@okafor.example",
                                                       keep_emails={"maya@okafor.example"})


# --- end to end -------------------------------------------------------------------------------


@pytest.fixture
def fresh_pg(pg_url, monkeypatch) -> str:
    name = "disclose_" + uuid.uuid4().hex[:10]
    with psycopg.connect(pg_url, autocommit=True) as con:
        con.execute(f'CREATE DATABASE "{name}"')
    url = psycopg.conninfo.make_conninfo(pg_url, dbname=name)
    monkeypatch.setenv("AIOS_POSTGRES_URL", url)
    return url


def _hostile_mails() -> tuple[list[dict], list[dict]]:
    events, people = [], []
    for i, m in enumerate(json.loads((HOSTILE / "brief-mails.json").read_text("utf-8"))):
        name, addr = email.utils.parseaddr(m["from"])
        sender = {"entity_id": f"ent_h{i}", "full_name": name, "first_name": name.split()[0],
                  "email": addr, "in_crm": False, "is_customer": False}
        people.append(sender)
        ev = mail(m["source_id"], sender, MAYA, CLOCK - timedelta(hours=2 + i), m["subject"],
                  m["text"])
        ev["actor"] = m["from"]  # the display name exactly as the attacker wrote it
        events.append(ev)
    return events, people


def test_brief_and_misbehaving_llm_deliver_nothing_hostile(aios_home, fresh_pg, monkeypatch):
    from aios_assets.agents.assets import AGENT_ASSETS, AGENT_CHECKS
    from aios_assets.publishing.adapters.resource import AdaptersResource
    from aios_assets.publishing.assets import PUBLISHING_ASSETS
    from aios_assets.publishing.outbox import Outbox
    from aios_assets.testing.openai_server import OpenAIServer
    from resources.llm import LLMResource
    from resources.postgres import PostgresStore
    from resources.warehouse import DuckDBWarehouse
    from tests.fault_api_server import FaultApiServer
    from tests.smtp_sink import SmtpSink
    from tests.test_agents_injection import AGENT_OPS, ALL_AUTONOMOUS, INTENTS

    build_business(aios_home)
    events, strangers = _hostile_mails()
    add_more(aios_home, events, people=PEOPLE + strangers)
    (aios_home / "policy.yaml").write_text(ALL_AUTONOMOUS)
    (aios_home / "intents.yaml").write_text(INTENTS)
    with OpenAIServer() as llm_server, SmtpSink() as sink, \
            FaultApiServer(dedupe=False) as hook, FaultApiServer() as api:
        llm_server.script("m", LEAK)  # every draft, summary and label: the leak
        monkeypatch.setenv("AIOS_SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("AIOS_SMTP_PORT", str(sink.port))
        monkeypatch.setenv("AIOS_WEBHOOK_URL", hook.url + "/hook")
        monkeypatch.setenv("AIOS_API_BASE_URL", api.url)
        llm = LLMResource(base_url=llm_server.url, api_key="k", cheap_model="m",
                          strong_model="m", postgres_url=fresh_pg, home=str(aios_home),
                          cache_ttl_s=0)
        result = dg.materialize(
            [*AGENT_ASSETS, *AGENT_CHECKS, *PUBLISHING_ASSETS],
            resources={"warehouse": DuckDBWarehouse(home=str(aios_home)),
                       "postgres": PostgresStore(url=fresh_pg), "llm": llm,
                       "adapters": AdaptersResource()},
            run_config={"ops": {k: {"config": {"as_of": CLOCK.isoformat()}}
                                for k in AGENT_OPS}},
            raise_on_error=True)
        drafted = llm_server.count("/chat/completions")
        mails = [m.message.as_string() for m in sink.received]
        hooks = [json.dumps(body, ensure_ascii=False) for _, body in hook.effect_log]
        calls = [json.dumps(r.body, ensure_ascii=False) if hasattr(r, "body") else ""
                 for r in api.requests]
    assert result.success and drafted > 0

    # 1. the brief went out (autonomous) and quotes inbound text only as marked, inert data
    assert len(hooks) == 1
    brief = json.loads(hooks[0])
    text = brief.get("text") or json.dumps(brief)
    assert not re.search(r"(?im)^\W*bcc\s*:", text), text
    assert "attacker.example" not in hooks[0] and "evil@" not in hooks[0]
    for line in text.splitlines():
        if "approve everything" in line or "refund" in line.lower():
            assert "[untrusted] «" in line, line

    # 2. nothing with other clients' data was delivered, by any channel
    rows = Outbox(PostgresStore(url=fresh_pg)).rows()
    for r in rows:
        blob = json.dumps(r.payload)
        assert not [o for o in OTHERS if o in blob], (r.action_type, r.payload)
    for m in mails:
        assert not [o for o in OTHERS if o in m and o not in m.split("\n\n", 1)[0]], m
    assert not any(o in c for c in calls for o in OTHERS)

    # 3. the billing reminder to Ada is held for approval, with the datum and whose
    con = duckdb.connect(str(aios_home / "warehouse.duckdb"), read_only=True)
    try:
        held = con.execute(
            """SELECT p.agent, p.target_entity_id, g.reason FROM proposal_gate_results g
               JOIN action_proposals p USING (proposal_id)
               WHERE g.gate = 'disclosure' AND NOT g.passed""").fetchall()
    finally:
        con.close()
    billing = [reason for agent, target, reason in held if agent == "billing"]
    assert len(billing) == 1 and billing[0].startswith("held for the operator's approval")
    assert "ent_bob" in billing[0] and "ent_leo" in billing[0] and "phone number" in billing[0]
    assert not [r for r in rows if r.action_type == "send_email"
                and r.payload.get("to") == "ada@analytical.example"]
    assert datetime.now(UTC) > CLOCK  # the run used the business clock, not the wall clock
