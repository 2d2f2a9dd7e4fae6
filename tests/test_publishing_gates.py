"""Gates: each pure gate on tiny proposals, the batch gates, and the Great Expectations suite."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from publishing_fixtures import NOW, proposal

from aios_assets.publishing.gates import (
    GATES,
    Directory,
    GateContext,
    SentRecord,
    evaluate_gates,
    fingerprint,
    gate_duplicates,
    gate_expiry,
    gate_limits,
    gate_opt_out,
    gate_personal_data,
    gate_placeholders,
    gate_policy,
    gate_recipients,
    gate_secrets,
    has_card_number,
    iban_valid,
    luhn_valid,
    secret_values_from_env,
)
from aios_assets.publishing.ge_suite import proposal_rows, run_ge_suite, suite_fingerprint
from aios_assets.publishing.policy import DEFAULT_POLICY_YAML, parse_policy

POLICY = parse_policy(DEFAULT_POLICY_YAML)
DIRECTORY = Directory(
    email_to_entity={"ada@acme.io": "ent_ada", "ada.l@gmail.com": "ent_ada",
                     "bob@globex.com": "ent_bob"},
    entities=frozenset({"ent_ada", "ent_bob"}))


def ctx(**kw) -> GateContext:
    return GateContext(**{"policy": POLICY, "directory": DIRECTORY, "now": NOW, **kw})


def email(body: str, to: str = "ada@acme.io", subject: str = "Hello", **kw):
    return proposal(kw.pop("basis", body[:20] + to), payload={"to": to, "subject": subject,
                                                             "body": body}, **kw)


def test_placeholders():
    for body in ("Hi {{first_name}}, ...", "Dear [NAME], thanks", "Hi {first_name}",
                 "TODO: add the price", "Regards, [Your Name]", "<insert date>",
                 "Lorem ipsum dolor"):
        v = gate_placeholders(email(body), ctx())
        assert not v.passed and "placeholder" in v.reason, body
    assert gate_placeholders(email("Hi Ada, see you [at 10]. Budget {see attached}? todo list"),
                             ctx()).passed


def test_secrets_never_quoted(monkeypatch):
    key = "sk-" + "a1B2c3D4e5F6g7H8i9J0k"
    # Fake credentials, assembled at run time so no secret-shaped literal sits in the tree.
    for body in (f"use {key}", "password: " + "hunter2!", "AKIA" + "ABCDEFGHIJKLMNOP",
                 "-----BEGIN RSA " + "PRIVATE KEY-----",
                 "Authorization: Bear" + "er abcdefghijklmnop1234"):
        v = gate_secrets(email(body), ctx())
        assert not v.passed and "secret" in v.reason, body
        assert key not in v.reason and "hunter2" not in v.reason
    env_secret = "s3cr3t-smtp-pass-value"
    secrets = secret_values_from_env({"AIOS_SMTP_PASSWORD": env_secret, "HOME": "/root/x/y/z"})
    assert secrets == {env_secret}
    v = gate_secrets(email(f"log: {env_secret}"), ctx(secret_values=secrets))
    assert not v.passed and env_secret not in v.reason
    assert gate_secrets(email("Our password policy changed, see the doc"), ctx()).passed


def test_personal_data():
    assert iban_valid("DE89 3704 0044 0532 0130 00") and not iban_valid("DE00 3704 0044 0532")
    assert luhn_valid("4111 1111 1111 1111") and not luhn_valid("4111 1111 1111 1112")
    bad = {
        "IBAN": "Please pay to DE89 3704 0044 0532 0130 00 today",
        "payment card number": "card 4111-1111-1111-1111 exp 12/29",
        "date of birth": "DOB: 1984-02-11",
        "social security number": "SSN 123-45-6789",
    }
    for kind, body in bad.items():
        v = gate_personal_data(email(body), ctx())
        assert not v.passed and kind in v.reason, body
        assert "3704" not in v.reason and "4111" not in v.reason
    # invalid check digits, order numbers, the operator's own IBAN
    assert gate_personal_data(email("Order 1234 5678 9012 3456, ref DE00 1234 5678 9012"),
                              ctx()).passed
    own = parse_policy(DEFAULT_POLICY_YAML.replace(
        "allowed_ibans: []", "allowed_ibans: ['DE89 3704 0044 0532 0130 00']"))
    assert gate_personal_data(email(bad["IBAN"]), ctx(policy=own)).passed


def test_message_ids_are_not_card_numbers_but_real_cards_are():
    """Regression: demo Message-IDs start with a timestamp that passes Luhn (20260828122354)
    and were reported as payment card numbers."""
    stamp = "20260828122354"
    assert luhn_valid(stamp)  # what made the old detector fire
    mid = f"<{stamp}.8f3a1c@mail.example>"
    reply = proposal("reply", payload={"to": "ada@acme.io", "subject": "Re: dashboard",
                                       "body": "Hi Ada, Tuesday works.", "in_reply_to": mid})
    v = gate_personal_data(reply, ctx())
    assert v.passed, v.reason
    # the same id quoted in the body is still not a card (no issuer uses prefix 20)
    quoted = email(f"Re your message {mid} and ticket {stamp}: fixed.", basis="q")
    assert gate_personal_data(quoted, ctx()).passed
    # nor are header fields scanned for placeholders ("[ID]" in References, ...)
    refs = proposal("refs", payload={"to": "ada@acme.io", "subject": "Re: x", "body": "Thanks",
                                     "in_reply_to": "<[TICKET]@x>"})
    assert gate_placeholders(refs, ctx()).passed
    # a real-looking test card is still caught, grouped or not, in any content field
    for body in ("Card 4111 1111 1111 1111, exp 12/29", "pay with 4111111111111111",
                 "ref 20 4111-1111-1111-1111", "Amex 3782 822463 10005"):
        v = gate_personal_data(email(body, basis=body), ctx())
        assert not v.passed and "payment card number" in v.reason, body
    v = gate_personal_data(proposal("subj", payload={"to": "ada@acme.io", "body": "hi",
                                                     "subject": "card 4111 1111 1111 1111"}),
                           ctx())
    assert not v.passed
    # Luhn-valid numbers without a card issuer prefix or with phone-like grouping are not
    assert luhn_valid("1234567890123452") and luhn_valid("4155550134223")
    assert not has_card_number("Order 1234 5678 9012 3452")  # no issuer prefix 12
    assert not has_card_number("call +1 415 555 0134 223")  # Visa-like digits, phone grouping
    assert not has_card_number("4111 1111 1111 1112")  # bad check digit


def test_recipients_are_canonical():
    assert gate_recipients(email("hi"), ctx()).passed
    assert gate_recipients(email("hi", to="Ada <ADA.L@gmail.com>"), ctx()).passed
    v = gate_recipients(email("hi", to="mallory@evil.example"), ctx())
    assert not v.passed and "not a canonical contact" in v.reason
    v = gate_recipients(email("hi", to="bob@globex.com"), ctx())
    assert not v.passed and "belongs to ent_bob, not the target ent_ada" in v.reason
    v = gate_recipients(email("hi", target="ent_zed"), ctx())
    assert not v.passed and "not a canonical entity" in v.reason
    v = gate_recipients(email("hi"), ctx(directory=Directory(available=False)))
    assert not v.passed and "not built" in v.reason
    # allowed domains narrow it further; allowed recipients always pass
    narrow = parse_policy(DEFAULT_POLICY_YAML.replace(
        "allowed_domains: []", "allowed_domains: [acme.io]").replace(
        "allowed_recipients: []", "allowed_recipients: [me@okafor.co]"))
    assert not gate_recipients(email("hi", to="ada.l@gmail.com"), ctx(policy=narrow)).passed
    assert gate_recipients(email("hi", to="me@okafor.co", target=None), ctx(policy=narrow)).passed
    # webhooks have no recipient, but their target must still be canonical
    hook = proposal("h", agent="brief", action_type="notify_webhook", target=None,
                    payload={"text": "daily brief"})
    assert gate_recipients(hook, ctx()).passed


def test_opt_out():
    v = gate_opt_out(email("hi"), ctx(opted_out=frozenset({"ent_ada"})))
    assert not v.passed and "ada@acme.io" in v.reason
    v = gate_opt_out(email("hi", to="ada.l@gmail.com"),
                     ctx(opted_out=frozenset({"ada.l@gmail.com"})))
    assert not v.passed
    assert gate_opt_out(email("hi"), ctx(opted_out=frozenset({"ent_bob"}))).passed


def test_policy_and_expiry():
    assert gate_policy(email("hi"), ctx()).passed
    off = parse_policy(DEFAULT_POLICY_YAML.replace(
        "  send_email:\n    mode: approve_first", "  send_email:\n    mode: disabled"))
    v = gate_policy(email("hi"), ctx(policy=off))
    assert not v.passed and "disabled" in v.reason
    weird = {**email("hi"), "action_type": "wire_money", "capability": "http"}
    assert "unknown action type" in gate_policy(weird, ctx()).reason
    wrong_cap = {**email("hi"), "capability": "http"}
    assert "needs capability 'email'" in gate_policy(wrong_cap, ctx()).reason
    old = email("hi", now=NOW - timedelta(days=5))
    assert not gate_expiry(old, ctx()).passed and gate_expiry(email("hi"), ctx()).passed


def test_duplicates_of_sent_and_in_batch():
    a = email("Hi Ada, the invoice", basis="a")
    b = email("Hi  Ada, the INVOICE", basis="b")  # same message, other wording of whitespace/case
    c = email("Something else", basis="c")
    sent = [SentRecord("aios-other", "p-old", "send_email",
                       fingerprint("send_email", c["payload"]), "delivered", NOW)]
    out = gate_duplicates([a, b, c], ctx(sent=sent))
    assert out[a["proposal_id"]].passed
    assert "duplicate of proposal " + a["proposal_id"] in out[b["proposal_id"]].reason
    assert "already delivered" in out[c["proposal_id"]].reason
    same_key = [SentRecord(a["idempotency_key"], "p-x", "send_email", "f", "pending", NOW)]
    assert "idempotency key already in the outbox" in gate_duplicates(
        [a], ctx(sent=same_key))[a["proposal_id"]].reason
    failed = [SentRecord("k", "p", "send_email", fingerprint("send_email", c["payload"]),
                         "failed_permanent", NOW)]
    assert gate_duplicates([c], ctx(sent=failed))[c["proposal_id"]].passed  # may be retried


def test_limits_count_spend_quiet_hours():
    policy = parse_policy(DEFAULT_POLICY_YAML.replace("max_per_day: 25", "max_per_day: 2")
                          .replace("max_spend_usd_per_day: 1.0", "max_spend_usd_per_day: 0.5"))
    ps = [email(f"message {i}", basis=f"m{i}", now=NOW + timedelta(minutes=i)) for i in range(4)]
    approved = {ps[3]["proposal_id"]: "approved"}
    sent = [SentRecord("k0", "p0", "send_email", "f0", "delivered", NOW - timedelta(hours=1))]
    out = gate_limits(ps, ctx(policy=policy, sent=sent, decisions=approved))
    # one sent today leaves room for one: the approved proposal gets it, the others wait
    assert out[ps[3]["proposal_id"]].passed
    assert [out[p["proposal_id"]].passed for p in ps[:3]] == [False, False, False]
    assert "2 per day reached" in out[ps[0]["proposal_id"]].reason
    yesterday = [SentRecord("k0", "p0", "send_email", "f0", "delivered", NOW - timedelta(days=1))]
    out = gate_limits(ps[:2], ctx(policy=policy, sent=yesterday))
    assert all(v.passed for v in out.values())
    pricey = [email("pricey", basis="pr", cost=0.6)]
    assert "spend limit" in gate_limits(pricey, ctx(policy=policy))[pricey[0]["proposal_id"]].reason
    night = ctx(now=NOW.replace(hour=22))  # default quiet hours 21:00-07:00 UTC for e-mail
    v = gate_limits([ps[0]], night)[ps[0]["proposal_id"]]
    assert not v.passed and "quiet hours" in v.reason
    hook = proposal("h", agent="brief", action_type="notify_webhook", target=None,
                    payload={"text": "brief"})
    assert gate_limits([hook], night)[hook["proposal_id"]].passed


def test_evaluate_gates_and_ge_suite():
    good = email("Hi Ada, shall we meet on Tuesday?", basis="good")
    bad = email("Hi {{first_name}}, password: hunter22", basis="bad")
    broken = {**email("fine text", basis="broken"), "confidence": 1.7, "mode": "weird"}
    ge = run_ge_suite([good, bad, broken], POLICY)
    assert not ge.success
    assert {"no placeholders", "no secrets", "confidence in [0, 1]", "known mode"} <= set(
        ge.failed_expectations)
    assert ge.verdicts[good["proposal_id"]].passed
    assert "no placeholders" in ge.verdicts[bad["proposal_id"]].reason
    assert "confidence in [0, 1]" in ge.verdicts[broken["proposal_id"]].reason
    results = evaluate_gates([good, bad, broken], ctx(), ge=ge.verdicts)
    assert len(results) == 3 * len(GATES)
    failing = {(r.proposal_id, r.gate) for r in results if not r.passed}
    assert not any(pid == good["proposal_id"] for pid, _ in failing)
    assert {(bad["proposal_id"], g) for g in ("placeholders", "secrets", "ge_suite")} <= failing
    # the GE suite catches a structural problem the per-proposal gates cannot: shared keys
    twin = {**email("other text", basis="twin"), "idempotency_key": good["idempotency_key"]}
    ge2 = run_ge_suite([good, twin], POLICY)
    assert "idempotency_key unique" in ge2.failed_expectations
    assert not ge2.verdicts[good["proposal_id"]].passed


def test_ge_memo_returns_the_same_outcome_and_misses_on_any_change(tmp_path):
    good = email("Hi Ada, shall we meet on Tuesday?", basis="good")
    bad = email("Hi {{first_name}}, password: hunter22", basis="bad")
    memo = tmp_path / "ge_suite"
    fresh = run_ge_suite([good, bad], POLICY)
    first = run_ge_suite([good, bad], POLICY, memo=memo)
    assert len(list(memo.glob("*.json"))) == 1
    again = run_ge_suite([good, bad], POLICY, memo=memo)
    assert fresh == first == again and not again.success
    assert "no placeholders" in again.verdicts[bad["proposal_id"]].reason
    # what the suite reads changed (text, the batch, the policy): validated again
    edited = {**good, "payload": {**good["payload"], "body": "Hi {{name}}"}}
    assert not run_ge_suite([edited, bad], POLICY, memo=memo).verdicts[
        edited["proposal_id"]].passed
    assert run_ge_suite([good], POLICY, memo=memo).success
    more = POLICY.model_copy(update={"actions": {**POLICY.actions,
                                                 "ring_bell": POLICY.actions["send_email"]}})
    rows = proposal_rows([good])
    assert suite_fingerprint(rows, more) != suite_fingerprint(rows, POLICY)
    assert len(list(memo.glob("*.json"))) == 3
    # a torn memo is not trusted
    for path in memo.glob("*.json"):
        path.write_text('{"success": tr')
    assert run_ge_suite([good, bad], POLICY, memo=memo) == fresh


def test_a_memo_hit_does_not_import_great_expectations(tmp_path):
    import subprocess
    import sys

    code = f"""
import sys
from pathlib import Path
sys.path.insert(0, "tests")
from publishing_fixtures import proposal
from aios_assets.publishing.ge_suite import run_ge_suite
from aios_assets.publishing.policy import DEFAULT_POLICY_YAML, parse_policy
POLICY = parse_policy(DEFAULT_POLICY_YAML)
memo = Path({str(tmp_path)!r})
p = [proposal("m", payload={{"to": "ada@acme.io", "subject": "Hi", "body": "See you Tuesday"}})]
if sys.argv[1] == "fill":
    assert run_ge_suite(p, POLICY, memo=memo).success
    assert "great_expectations" in sys.modules
else:
    assert run_ge_suite(p, POLICY, memo=memo).success
    assert "great_expectations" not in sys.modules
"""
    root = Path(__file__).resolve().parent.parent
    for step in ("fill", "hit"):
        proc = subprocess.run([sys.executable, "-c", code, step], cwd=root, text=True,
                              capture_output=True, timeout=120)
        assert proc.returncode == 0, proc.stderr[-2000:]


def test_directory_and_opt_outs_from_the_warehouse(aios_home):
    """Canonical addresses come from the marts; opt-outs from the policy and operator events."""
    from publishing_fixtures import build_warehouse

    from aios_assets.publishing.data import load_directory, load_opt_outs, load_proposals

    p = email("hi", basis="wh")
    wh = build_warehouse([p], preferences=[
        {"key": "do_not_contact", "entity_id": "ent_bob"},
        {"key": "do_not_contact", "email": "cy@initech.com", "value": "no"},  # withdrawn
        {"key": "newsletter_day", "value": "friday"},
    ])
    with wh.read() as con:
        directory = load_directory(con)
        opted = load_opt_outs(con, ["Someone@Example.com"])
        [loaded] = load_proposals(con)
    assert directory.email_to_entity["ada.l@gmail.com"] == "ent_ada"
    assert directory.emails_of("ent_ada") == {"ada@acme.io", "ada.l@gmail.com"}
    assert opted == {"ent_bob", "someone@example.com"}
    assert loaded["payload"] == p["payload"] and loaded["proposal_id"] == p["proposal_id"]
