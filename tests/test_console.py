"""`aios console` with real parts: a copy of the session's demo home (built once by the real `make
demo` at a small scale, conftest.demo_checkout), the console served by uvicorn through the real
CLI on a free loopback port, Postgres (embedded), headless Debian chromium driven over the
DevTools protocol, `aios publish` to a loopback SMTP server (aiosmtpd).

Browser tests (`-m browser`) click through approve, edit-then-approve and reject, and check that
a forged POST without the CSRF token is refused. Screenshots are kept under the test's tmp dir
(`<basetemp>/.../shots/*.png`).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest

from tests.cdp import Browser, chromium_available
from tests.conftest import AIOS, ROOT, copy_demo, run_aios
from tests.smtp_sink import SmtpSink, free_port

SECRET = "console-test-secret-9f3a7c"  # the value of a *_PASSWORD variable: never on a page
HOSTILE = "<script>window.pwned = 1</script> <b>bold?</b>"


@pytest.fixture(scope="module")
def home(demo_checkout: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A real home: a copy of the session's demo (`make demo` at a small scale,
    conftest.demo_checkout), plus one hostile chat line ingested."""
    from aios_assets.shared.home import AiosHome
    from resources.postgres import stop_embedded

    root = copy_demo(demo_checkout, tmp_path_factory.mktemp("console") / "checkout") / ".aios"
    env = {"OPENAI_API_KEY": "", "AIOS_POSTGRES_URL": ""}
    drop = root.parent / "extra.jsonl"
    drop.write_text(json.dumps({
        "source": "chat", "source_id": "console-hostile-1", "kind": "chat_message",
        "occurred_at": "2026-03-01T10:00:00Z", "actor": "Mallory <mallory@evil.example>",
        "thread": "console-hostile", "subject": None,
        "text": f"pottery kiln quote {HOSTILE} password: {SECRET}", "payload": None}) + "\n")
    res = run_aios("ingest", str(drop), home=root, env=env, timeout=900)
    assert res.returncode == 0, res.stderr[-3000:]
    yield root
    if (AiosHome.from_env(root).pg / "PG_VERSION").exists():
        stop_embedded(AiosHome.from_env(root))


def _env(home: Path, **extra: str) -> dict[str, str]:
    return {**os.environ, "AIOS_HOME": str(home), "DAGSTER_HOME": str(home / "dagster"),
            "OPENAI_API_KEY": "", "AIOS_POSTGRES_URL": "", "AIOS_SMTP_PASSWORD": SECRET,
            **extra}


class Served:
    def __init__(self, proc: subprocess.Popen[str], url: str) -> None:
        self.proc, self.url = proc, url


def _serve(home: Path, tmp: Path, *extra_args: str, **env: str) -> Served:
    port = free_port()
    log = open(tmp / f"console-{port}.log", "w")  # noqa: SIM115 - lives as long as the server
    proc = subprocess.Popen([*AIOS, "console", "--port", str(port), *extra_args], cwd=ROOT,
                            env=_env(home, **env), stdout=log, stderr=subprocess.STDOUT,
                            text=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            if httpx.get(url + "/healthz", timeout=2).text == "ok":
                return Served(proc, url)
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise AssertionError((tmp / f"console-{port}.log").read_text()[-3000:])
        time.sleep(0.2)


def _stop(s: Served) -> None:
    s.proc.send_signal(signal.SIGTERM)
    assert s.proc.wait(timeout=30) is not None


@pytest.fixture(scope="module")
def console(home: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    s = _serve(home, tmp_path_factory.mktemp("console-logs"))
    yield s
    _stop(s)


def proposals(home: Path) -> list[dict]:
    res = run_aios("proposals", "--json", home=home)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)


def pending_mail(home: Path, taken: set[str], *, any_action: bool = False) -> dict:
    """A pending send_email proposal not used by another test (``any_action``: any pending
    or held-back proposal, for tests that leave it undecided)."""
    rows = [r for r in proposals(home) if r["proposal_id"] not in taken and (
        r["status"] in ("pending", "failed_gate") if any_action
        else r["status"] == "pending" and r["action_type"] == "send_email")]
    assert rows, "the demo home has no pending e-mail proposal left"
    taken.add(rows[0]["proposal_id"])
    return rows[0]


@pytest.fixture(scope="module")
def taken() -> set[str]:
    return set()


def pg_url(home: Path) -> str:
    from aios_assets.shared.home import AiosHome
    from resources.postgres import embedded_url

    return embedded_url(AiosHome.from_env(home))


def decisions(home: Path, pid: str) -> list[tuple]:
    with psycopg.connect(pg_url(home)) as con:
        return con.execute("SELECT decision, reason, decided_by, via FROM "
                           "aios.proposal_decisions WHERE proposal_id = %s ORDER BY seq",
                           (pid,)).fetchall()


def publish(home: Path, sink: SmtpSink) -> dict:
    res = run_aios("publish", "--json", home=home, timeout=900, env={
        "OPENAI_API_KEY": "", "AIOS_POSTGRES_URL": "", "AIOS_SMTP_HOST": "127.0.0.1",
        "AIOS_SMTP_PORT": str(sink.port)})
    assert res.returncode == 0, res.stderr[-3000:]
    return json.loads(res.stdout.strip().splitlines()[-1])


def body_text(message) -> str:
    part = message.get_body(("plain",)) if hasattr(message, "get_body") else None
    if part is None:
        for p in message.walk():
            if p.get_content_type() == "text/plain":
                part = p
                break
    raw = (part or message).get_payload(decode=True) or b""
    return raw.decode("utf-8", "replace")


# --- plain HTTP -------------------------------------------------------------------------------


def _session(client: httpx.Client, url: str) -> str:
    page = client.get(url + "/proposals")
    assert page.status_code == 200
    m = re.search(r'name="csrf_token" value="([0-9a-f]+)"', page.text)
    return m.group(1) if m else re.search(r'"X-CSRF-Token": "([0-9a-f]+)"', page.text).group(1)


def test_pages_render_and_escape_untrusted_text(home, console):
    with httpx.Client(timeout=60) as c:
        today = c.get(console.url + "/")
        assert today.status_code == 200
        for section in ("Awaiting your approval", "Daily brief", "Open incidents",
                        "Spend today"):
            assert section in today.text
        assert "Daily brief —" in today.text  # the brief agent's text itself
        assert "default-src 'self'" in today.headers["content-security-policy"]
        listing = c.get(console.url + "/proposals?status=pending")
        assert listing.status_code == 200 and 'class="badge pending"' in listing.text
        pid = re.search(r'href="/proposals/([0-9a-f]{24})"', listing.text).group(1)
        detail = c.get(f"{console.url}/proposals/{pid}")
        assert detail.status_code == 200
        for section in ('id="draft"', 'id="evidence"', 'id="gates"', 'id="cost"',
                        'class="untrusted"', "confidence"):
            assert section in detail.text
        assert re.search(r"<code>[a-z]+:[^<]+</code> · \d{4}-\d\d-\d\d", detail.text)
        assert c.get(console.url + "/proposals/nosuch").status_code == 404
        found = c.get(console.url + "/search", params={"q": "pottery kiln quote",
                                                       "thread": "console-hostile"})
        assert found.status_code == 200 and "chat:console-hostile-1" in found.text
        assert "<script>window.pwned" not in found.text
        assert "&lt;script&gt;window.pwned = 1&lt;/script&gt;" in found.text
        assert "quoted data" in found.text
        for page in (today, listing, detail, found):
            assert SECRET not in page.text
        assert "[redacted]" in found.text
        people = c.get(console.url + "/people")
        eid = re.search(r'href="/people/(ent_[0-9a-z_]+)"', people.text).group(1)
        person = c.get(f"{console.url}/people/{eid}")
        assert person.status_code == 200 and "Merged records" in person.text
        assert "matched by" in person.text and "Facts over time" in person.text


def test_post_without_csrf_token_is_refused(home, console, taken):
    pid = pending_mail(home, taken, any_action=True)["proposal_id"]
    with httpx.Client(timeout=60) as c:
        token = _session(c, console.url)
        for data, headers in (({}, {}), ({"csrf_token": "0" * 64}, {}),
                              ({}, {"X-CSRF-Token": "forged"})):
            res = c.post(f"{console.url}/proposals/{pid}/approve", data=data, headers=headers,
                         follow_redirects=False)
            assert res.status_code == 403, res.text
        # a token of another session is no token
        with httpx.Client(timeout=60) as other:
            res = other.post(f"{console.url}/proposals/{pid}/approve",
                             data={"csrf_token": token}, follow_redirects=False)
            assert res.status_code == 403
    assert decisions(home, pid) == []
    taken.discard(pid)


def test_non_loopback_needs_a_password(home, tmp_path):
    res = subprocess.run([*AIOS, "console", "--host", "0.0.0.0", "--port", str(free_port())],
                         cwd=ROOT, env={**_env(home), "AIOS_CONSOLE_PASSWORD": ""},
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 1
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert lines[-1].startswith("error: refusing to serve the console on 0.0.0.0")
    assert "AIOS_CONSOLE_PASSWORD" in lines[-1] and "Traceback" not in res.stderr


def test_fresh_home_is_one_line_not_a_traceback(tmp_path):
    empty = tmp_path / "empty-home"
    s = _serve(empty, tmp_path)
    try:
        res = httpx.get(s.url + "/", timeout=60)
        assert res.status_code == 503
        assert "no warehouse yet" in res.text and "Traceback" not in res.text
    finally:
        _stop(s)
    assert "Traceback" not in "".join(p.read_text() for p in tmp_path.glob("console-*.log"))


def test_password_when_set(home, tmp_path):
    s = _serve(home, tmp_path, AIOS_CONSOLE_PASSWORD="correct horse battery")
    try:
        with httpx.Client(timeout=60) as c:
            res = c.get(s.url + "/proposals", follow_redirects=False)
            assert res.status_code == 303 and res.headers["location"] == "/login"
            login = c.get(s.url + "/login")
            token = re.search(r'name="csrf_token" value="([0-9a-f]+)"', login.text).group(1)
            bad = c.post(s.url + "/login", data={"csrf_token": token, "password": "nope"})
            assert bad.status_code == 401 and "wrong password" in bad.text
            ok = c.post(s.url + "/login", data={"csrf_token": token,
                                                "password": "correct horse battery"},
                        follow_redirects=False)
            assert ok.status_code == 303
            page = c.get(s.url + "/proposals")
            assert page.status_code == 200 and "correct horse battery" not in page.text
    finally:
        _stop(s)


# --- the browser ------------------------------------------------------------------------------

browser = pytest.mark.skipif(not chromium_available(), reason="no chromium")


@pytest.fixture
def chrome(tmp_path: Path) -> Iterator[Browser]:
    with Browser(tmp_path) as b:
        yield b


def shot(b: Browser, tmp_path: Path, name: str) -> None:
    assert b.screenshot(tmp_path / "shots" / f"{name}.png").stat().st_size > 1000


@pytest.mark.browser
@browser
def test_browser_approve_sends_exactly_one_message(home, console, chrome, taken, tmp_path):
    mail = pending_mail(home, taken)
    pid = mail["proposal_id"]
    chrome.goto(f"{console.url}/proposals/{pid}")
    shot(chrome, tmp_path, "01-proposal")
    assert "pending" in chrome.text("#status")
    chrome.click("#approve")
    chrome.wait_for("document.querySelector('.flash.ok') !== null", what="the approval")
    shot(chrome, tmp_path, "02-approved")
    assert f"approved {pid} by operator via console" in chrome.text(".flash.ok")
    assert chrome.text("#status") == "approved"
    assert decisions(home, pid) == [("approved", None, "operator", "console")]
    with SmtpSink() as sink:
        publish(home, sink)
        publish(home, sink)  # a second publish sends nothing more
        (key,) = [json.loads(r.stdout)[0]["k"] for r in [run_aios(
            "sql", f"select idempotency_key k from action_proposals where proposal_id = "
                   f"'{pid}'", "-f", "json", home=home)]]
        mails = [m for m in sink.received if m.key is not None]
    assert [m.key for m in mails] == [key]
    chrome.goto(f"{console.url}/proposals/{pid}")
    assert chrome.text("#status") == "published"
    audit = run_aios("audit", pid, home=home)
    assert audit.returncode == 0 and "console" in audit.stdout


@pytest.mark.browser
@browser
def test_browser_edit_then_approve_sends_the_edited_text(home, console, chrome, taken,
                                                         tmp_path):
    pid = pending_mail(home, taken)["proposal_id"]
    chrome.goto(f"{console.url}/proposals/{pid}")
    chrome.click("#edit summary")
    edited = "Hello,\n\nThe operator rewrote this line by hand in the console (v2).\n\nBest"
    chrome.fill("#edit-subject", "Edited in the console")
    chrome.fill("#edit-body", edited)
    shot(chrome, tmp_path, "01-editing")
    chrome.click("#edit-approve")
    chrome.wait_for(f"!location.pathname.endsWith('{pid}') && "
                    "document.querySelector('.flash.ok') !== null", what="the new version")
    shot(chrome, tmp_path, "02-new-version")
    new_id = chrome.eval("location.pathname").rsplit("/", 1)[1]
    assert new_id != pid and chrome.text("#status") == "approved"
    assert "The operator rewrote this line" in chrome.text("#draft-body")
    assert decisions(home, pid) == [
        ("rejected", f"edited in the console: replaced by {new_id}", "operator", "console")]
    assert [(d[0], d[3]) for d in decisions(home, new_id)] == [("approved", "console")]
    with psycopg.connect(pg_url(home)) as con:
        edits = con.execute("SELECT original_id, new_body, via FROM aios.proposal_edits "
                            "WHERE new_id = %s", (new_id,)).fetchall()
    assert edits == [(pid, edited, "console")]
    with SmtpSink() as sink:
        out = publish(home, sink)
        mails = [m for m in sink.received if m.key is not None]
    assert out["proposal_gate_results"]["open_proposals"] >= 1  # the new version was gated
    assert len(mails) == 1, [m.message["Subject"] for m in mails]
    assert mails[0].message["Subject"] == "Edited in the console"
    assert "The operator rewrote this line by hand in the console (v2)." in body_text(
        mails[0].message)
    chrome.goto(f"{console.url}/proposals/{new_id}")
    assert chrome.text("#status") == "published"
    assert "edited by operator via console" in chrome.text("#history")
    shot(chrome, tmp_path, "03-published")


@pytest.mark.browser
@browser
def test_browser_reject_with_a_reason(home, console, chrome, taken, tmp_path):
    pid = pending_mail(home, taken)["proposal_id"]
    chrome.goto(f"{console.url}/proposals/{pid}")
    chrome.click("#reject")  # no reason: the browser's `required` keeps the form back
    time.sleep(0.5)
    assert decisions(home, pid) == []
    chrome.fill("#reject-reason", "too pushy <b>for</b> this client")
    chrome.click("#reject")
    chrome.wait_for("document.querySelector('.flash.ok') !== null", what="the rejection")
    shot(chrome, tmp_path, "01-rejected")
    assert chrome.text("#status") == "rejected"
    assert "too pushy <b>for</b> this client" in chrome.text("#history")  # shown as text
    assert decisions(home, pid) == [("rejected", "too pushy <b>for</b> this client",
                                     "operator", "console")]
    assert [r["status"] for r in proposals(home) if r["proposal_id"] == pid] == ["rejected"]


@pytest.mark.browser
@browser
def test_browser_forged_post_is_refused(home, console, chrome, taken, tmp_path):
    pid = pending_mail(home, taken, any_action=True)["proposal_id"]
    chrome.goto(f"{console.url}/proposals/{pid}")
    # a script on the page posting without the token, as a forged form would
    status = chrome.eval(
        f"fetch('/proposals/{pid}/approve', {{method: 'POST', headers: {{'Content-Type': "
        "'application/x-www-form-urlencoded'}, body: 'reason=forged'}).then(r => r.status)",
        await_promise=True)
    assert status == 403
    # the real form with its token removed
    chrome.eval("document.querySelector('#decide input[name=csrf_token]').remove()")
    chrome.click("#approve")
    chrome.wait_for("document.body.innerText.includes('refused')", what="the 403 page")
    shot(chrome, tmp_path, "01-refused")
    assert "CSRF" in chrome.text()
    assert decisions(home, pid) == []
    taken.discard(pid)


# --- people: overrides the next build applies (last: it rebuilds the entities) -----------------


def sql(home: Path, query: str) -> list[dict]:
    res = run_aios("sql", query, "-f", "json", home=home)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)


def test_split_and_merge_write_overrides_the_next_build_applies(home, console):
    import yaml

    (pair,) = sql(home, """
        SELECT m.entity_id, list(m.source || ':' || m.source_id ORDER BY m.source) AS records
        FROM entity_membership m WHERE m.entity_id NOT IN (
            SELECT target_entity_id FROM action_proposals WHERE target_entity_id IS NOT NULL)
        GROUP BY 1 HAVING count(*) = 2 ORDER BY 1 LIMIT 1""")
    eid, (first, second) = pair["entity_id"], pair["records"]
    with httpx.Client(timeout=60, follow_redirects=True) as c:
        token = _session(c, console.url)
        page = c.get(f"{console.url}/people/{eid}")
        assert f'data-record="{first}"' in page.text and "Split out" in page.text
        res = c.post(f"{console.url}/people/{eid}/split", data={"record": second},
                     follow_redirects=False)
        assert res.status_code == 403  # no token
        res = c.post(f"{console.url}/people/{eid}/split",
                     data={"csrf_token": token, "record": second})
        assert res.status_code == 200 and "cannot_link override(s)" in res.text
        assert f"cannot_link: <code>{second}</code> != <code>{first}</code>" in res.text
    overrides = yaml.safe_load((home / "entity_overrides.yaml").read_text())
    assert overrides["cannot_link"] == [[second, first]]
    # the next build applies it: the two records are two entities now
    drop = home.parent / "extra2.jsonl"
    drop.write_text(json.dumps({
        "source": "chat", "source_id": "console-rebuild-1", "kind": "chat_message",
        "occurred_at": "2026-03-02T10:00:00Z", "actor": "Ops <ops@example.org>",
        "thread": "console-rebuild", "subject": None, "text": "rebuild please",
        "payload": None}) + "\n")
    res = run_aios("ingest", str(drop), home=home, env={"OPENAI_API_KEY": "",
                                                        "AIOS_POSTGRES_URL": ""}, timeout=900)
    assert res.returncode == 0, res.stderr[-3000:]
    after = {r["rec"]: r["entity_id"] for r in sql(
        home, "SELECT source || ':' || source_id AS rec, entity_id FROM entity_membership "
              f"WHERE source || ':' || source_id IN ('{first}', '{second}')")}
    assert after[first] != after[second], after
    # merge them back: a must_link, and the cannot_link across the two goes
    with httpx.Client(timeout=60, follow_redirects=True) as c:
        token = _session(c, console.url)
        res = c.post(f"{console.url}/people/{after[first]}/merge",
                     data={"csrf_token": token, "other": after[second]})
        assert res.status_code == 200 and "wrote the merge override" in res.text
    overrides = yaml.safe_load((home / "entity_overrides.yaml").read_text())
    assert overrides["cannot_link"] == [] and len(overrides["must_link"]) == 1
    assert set(overrides["must_link"][0]) == {first, second}
