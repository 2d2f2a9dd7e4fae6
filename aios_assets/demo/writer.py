"""The writer: contact exports, the time-ordered records appended to their files, the
ground-truth spill, ``ground_truth.json``, the README and :func:`generate`."""

from __future__ import annotations

import csv
import heapq
import math
import shutil
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from aios_assets.demo.render import (
    CRM_HEADERS,
    INVOICE_HEADERS,
    METRIC_HEADERS,
    PAYMENT_HEADERS,
    SUB_HEADERS,
    SUB_MAPPING,
    crm_row,
    sub_rows,
)
from aios_assets.demo.streams.base import Ctx, Item
from aios_assets.demo.streams.clients import (
    client_stream,
    lead_stream,
    partner_stream,
    vendor_stream,
)
from aios_assets.demo.streams.operator import newsletter_stream, operator_stream, spam_stream
from aios_assets.demo.tables import (
    _OWNED_DIRS,
    CALENDAR_ROLLOVER_BYTES,
    DEFAULT_START,
    FREEMAIL_DOMAINS,
    MAX_SCALE,
    NEWSLETTER,
    OPERATOR_EMAIL,
    STALE_DAYS,
)
from aios_assets.demo.util import _rng
from aios_assets.demo.world import Person, World, build_world


@dataclass
class DemoSummary:
    """What :func:`generate` wrote."""

    out_dir: Path
    files: dict[str, int]  # relative path -> records (events) written to it
    events: int  # expected number of events when every file in ``files`` is ingested
    people: int
    organizations: int
    ground_truth: Path


def write_contacts(out: Path, w: World, spill: Any, progress: Callable | None
                    ) -> tuple[dict[str, int], int]:
    """Write both contact exports; return (file counts, active subscribers)."""
    rng = _rng(w.seed, "crm")
    crm: list[tuple[Person, list[str]]] = []
    for p in w.people:
        if p.in_crm:
            crm.append((p, crm_row(rng, w, p, dup=False)))
            if rng.random() < 0.05 or p.person_id == "P00002":
                crm.append((p, crm_row(rng, w, p, dup=True)))
    rng.shuffle(crm)
    (out / "crm").mkdir(parents=True, exist_ok=True)
    with open(out / "crm" / "contacts.csv", "w", encoding="utf-8", newline="") as f:
        wr = csv.writer(f, lineterminator="\n")
        wr.writerow(CRM_HEADERS)
        for i, (p, row) in enumerate(crm):
            row[0] = f"C-{10001 + i}"
            wr.writerow(row)
            spill_record(spill, "crm", row[0], "contact", p.person_id,
                         p.org.org_id if p.org else None)
    if progress:
        progress("contacts", len(crm), len(crm))

    srng = _rng(w.seed, "subscribers")
    subs: list[tuple[datetime, int, Person, list[str]]] = []
    for p in w.people:
        if p.subscribed:
            for signed, row in sub_rows(srng, w, p):
                subs.append((signed, len(subs), p, row))
    subs.sort(key=lambda x: (x[0], x[1]))
    taken: set[str] = set()
    active = 0
    (out / "newsletter").mkdir(parents=True, exist_ok=True)
    with open(out / "newsletter" / "subscribers.csv", "w", encoding="utf-8", newline="") as f:
        wr = csv.writer(f, lineterminator="\n")
        wr.writerow(SUB_HEADERS)
        for _, _, p, row in subs:
            sid = f"sub_{srng.getrandbits(40):010x}"
            while sid in taken:
                sid = f"sub_{srng.getrandbits(40):010x}"
            taken.add(sid)
            row[0] = sid
            active += row[5] == "active"
            wr.writerow(row)
            spill_record(spill, "newsletter", sid, "contact", p.person_id,
                   p.org.org_id if p.org else None)
    (out / "newsletter" / "subscribers.mapping.yaml").write_text(SUB_MAPPING, encoding="utf-8")
    return {"crm/contacts.csv": len(crm), "newsletter/subscribers.csv": len(subs)}, active


def spill_record(spill: Any, source: str, source_id: str, kind: str, pid: str | None,
           oid: str | None, participants: list[str] | None = None) -> None:
    rec: dict[str, Any] = {"source": source, "source_id": source_id, "kind": kind,
                           "person_id": pid, "org_id": oid}
    if participants is not None:
        rec["participants"] = participants
    spill.write(orjson.dumps(rec) + b"\n")


# =============================================================================================
# the writer
# =============================================================================================


class Writer:
    def __init__(self, out: Path, w: World, spill: Any) -> None:
        self.out = out
        self.w = w
        self.spill = spill
        self.counts: dict[str, int] = {}
        self.end_date = w.end_dt.date()
        self.mbox_rel: str | None = None
        self.mbox: Any = None
        self.chat: OrderedDict[str, Any] = OrderedDict()
        self.created: set[str] = set()
        self.notes: set[str] = set()
        self.invoices: dict[str, tuple[float, date]] = {}
        self.paid: dict[str, float] = {}
        self.last_contact: dict[str, int] = {}
        for sub in ("email", "calendar", "billing", "notes", "chat", "newsletter/posts"):
            (out / sub).mkdir(parents=True, exist_ok=True)
        self.cal_no = 1
        self.cal_rel = "calendar/calendar.ics"
        self.cal = open(out / self.cal_rel, "wb")  # noqa: SIM115
        self.cal_size = 0
        self._cal_header()
        def text_file(rel: str) -> Any:
            return open(out / rel, "w", encoding="utf-8", newline="")  # noqa: SIM115

        self.inv_f = text_file("billing/invoices.csv")
        self.pay_f = text_file("billing/payments.csv")
        self.met_f = text_file("newsletter/analytics.csv")
        self.inv_w = csv.writer(self.inv_f, lineterminator="\n")
        self.pay_w = csv.writer(self.pay_f, lineterminator="\n")
        self.met_w = csv.writer(self.met_f, lineterminator="\n")
        self.inv_w.writerow(INVOICE_HEADERS)
        self.pay_w.writerow(PAYMENT_HEADERS)
        self.met_w.writerow(METRIC_HEADERS)
        for rel in ("billing/invoices.csv", "billing/payments.csv", "newsletter/analytics.csv",
                    self.cal_rel):
            self.counts[rel] = 0

    def _cal_header(self) -> None:
        head = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Okafor Strategy//AIOS demo//EN\r\n"
                "CALSCALE:GREGORIAN\r\nX-WR-CALNAME:Maya Okafor\r\n").encode()
        self.cal.write(head)
        self.cal_size = len(head)

    def _count(self, rel: str) -> None:
        self.counts[rel] = self.counts.get(rel, 0) + 1

    def _touch(self, ts: int, pids: list[str]) -> None:
        lc = self.last_contact
        for pid in pids:
            if lc.get(pid, -1) < ts:
                lc[pid] = ts

    def write(self, item: Item) -> None:
        ts, _, _, kind, data = item
        if kind == "mail":
            rel, mid, text, (pid, oid, parts) = data
            if rel != self.mbox_rel:
                if self.mbox:
                    self.mbox.close()
                mode = "ab" if rel in self.created else "wb"
                self.created.add(rel)
                self.mbox = open(self.out / rel, mode)  # noqa: SIM115
                self.mbox_rel = rel
            self.mbox.write(text.encode("utf-8"))
            self._count(rel)
            spill_record(self.spill, "email", mid, "email", pid, oid, parts)
            self._touch(ts, parts)
        elif kind == "chat":
            rel, sid, line, (pid, oid) = data
            fh = self._chat_fh(rel)
            fh.write(line)
            self._count(rel)
            kind_name = "transcript_turn" if sid.startswith("tr-") else "chat_message"
            spill_record(self.spill, "chat", sid, kind_name, pid, oid)
            if pid:
                self._touch(ts, [pid])
        elif kind == "cal":
            uid, text, (pid, oid, parts) = data
            raw = text.encode("utf-8")
            if self.cal_size + len(raw) > CALENDAR_ROLLOVER_BYTES:
                self._close_cal()
                self.cal_no += 1
                self.cal_rel = f"calendar/calendar-{self.cal_no:03d}.ics"
                self.cal = open(self.out / self.cal_rel, "wb")  # noqa: SIM115
                self.counts[self.cal_rel] = 0
                self._cal_header()
            self.cal.write(raw)
            self.cal_size += len(raw)
            self._count(self.cal_rel)
            spill_record(self.spill, "calendar", uid, "meeting", pid, oid, parts)
            self._touch(ts, parts)
        elif kind == "note" or kind == "post":
            rel, _nid, text = data
            if rel in self.notes:
                raise RuntimeError(f"demo generator produced {rel} twice")
            self.notes.add(rel)
            (self.out / rel).write_bytes(text.encode("utf-8"))
            self._count(rel)
        elif kind == "inv":
            iid, row, (pid, oid), amount, due = data
            self.inv_w.writerow(row)
            self._count("billing/invoices.csv")
            self.invoices[iid] = (amount, due)
            spill_record(self.spill, "billing", iid, "invoice", pid, oid)
        elif kind == "pay":
            _pid, row, iid, amount = data
            self.pay_w.writerow(row)
            self._count("billing/payments.csv")
            self.paid[iid] = self.paid.get(iid, 0.0) + amount
        elif kind == "metric":
            _cid, row = data
            self.met_w.writerow(row)
            self._count("newsletter/analytics.csv")
        else:  # pragma: no cover - a programming error
            raise RuntimeError(f"unknown record kind {kind!r}")

    def _chat_fh(self, rel: str) -> Any:
        fh = self.chat.get(rel)
        if fh is not None:
            self.chat.move_to_end(rel)
            return fh
        if len(self.chat) >= 64:
            _, old = self.chat.popitem(last=False)
            old.close()
        mode = "ab" if rel in self.created else "wb"
        self.created.add(rel)
        fh = open(self.out / rel, mode)  # noqa: SIM115
        self.chat[rel] = fh
        return fh

    def _close_cal(self) -> None:
        self.cal.write(b"END:VCALENDAR\r\n")
        self.cal.close()

    def close(self) -> None:
        if self.mbox:
            self.mbox.close()
        for fh in self.chat.values():
            fh.close()
        self._close_cal()
        for f in (self.inv_f, self.pay_f, self.met_f):
            f.close()
        # A file without records (a header-only CSV, a calendar without events) is not valid
        # input for the ingest parsers ("empty file"): leave it out.
        for rel, n in list(self.counts.items()):
            if n == 0:
                (self.out / rel).unlink()
                del self.counts[rel]

    def overdue(self) -> list[str]:
        return [iid for iid, (amount, due) in self.invoices.items()
                if due < self.end_date and self.paid.get(iid, 0.0) < amount - 0.005]

    def stale_leads(self) -> list[str]:
        cutoff = int((self.w.end_dt - timedelta(days=STALE_DAYS)).timestamp())
        return sorted(p.person_id for p in self.w.leads
                      if self.last_contact.get(p.person_id, -1) < cutoff)


# =============================================================================================
# ground truth, README, entry point
# =============================================================================================


def write_ground_truth(path: Path, w: World, ctx: Ctx, writer: Writer, spill_path: Path,
                        progress: Callable | None) -> None:
    def dumps(x: Any) -> bytes:
        return orjson.dumps(x)

    facts = [{"fact_id": f"F{i + 1:04d}", **f} for i, f in enumerate(ctx.facts)]
    people = []
    for p in w.people:
        emails = set(p.used_emails)
        if p.primary_email(w.end_dt):
            emails.add(p.primary_email(w.end_dt).lower())
        people.append({
            "person_id": p.person_id, "canonical_name": p.canonical_name,
            "emails": sorted(emails), "company": p.org.name if p.org else None,
            "org_id": p.org.org_id if p.org else None, "role": p.role, "title": p.title or None,
            "phones": [p.phone] if p.phone else [],
            "name_variants": sorted(p.variants | {p.canonical_name}),
        })
    orgs = [{"org_id": o.org_id, "name": o.name, "kind": o.kind, "domains": o.domains(),
             "aliases": o.aliases(), "industry": o.industry, "country": o.loc.country}
            for o in w.orgs]
    header = {
        "generator": "aios_assets.demo", "version": 1, "seed": w.seed, "days": w.days,
        "scale": w.scale, "start": w.start.isoformat(), "end": w.end_dt.date().isoformat(),
        "operator": {"person_id": w.operator.person_id, "org_id": w.op_org.org_id,
                     "name": w.operator.canonical_name, "email": OPERATOR_EMAIL},
        "freemail_domains": list(FREEMAIL_DOMAINS),
        "rules": {
            "window": "events occur in [start, end); 'as of end' means at 00:00 UTC on end",
            "overdue_invoices": "due_at < end and payments with paid_at < end sum to less "
                                "than amount",
            "stale_leads": f"people with role 'lead' and no email, meeting or chat involving "
                           f"them on or after end - {STALE_DAYS} days",
            "records": "one per contact-bearing record: contacts rows (crm, newsletter), "
                       "invoices (billing), emails (sender), meetings (organizer), chat and "
                       "transcript turns (speaker); person_id null = not a known person",
        },
    }
    with open(path, "wb") as f:
        f.write(b"{\n")
        for key, value in header.items():
            f.write(b'  "' + key.encode() + b'": ' + dumps(value) + b",\n")

        def array(key: str, items: Any, last: bool = False) -> None:
            f.write(b'  "' + key.encode() + b'": [')
            first = True
            for it in items:
                f.write((b"\n    " if first else b",\n    ") + (it if isinstance(it, bytes)
                                                                 else dumps(it)))
                first = False
            f.write(b"\n  ]" if not first else b"]")
            f.write(b"\n" if last else b",\n")

        array("people", people)
        array("organizations", orgs)
        with open(spill_path, "rb") as sp:
            array("records", (line.rstrip(b"\n") for line in sp))
        array("facts", facts)
        array("overdue_invoices", writer.overdue())
        array("stale_leads", writer.stale_leads())
        array("prompt_injections", ctx.injections)
        array("content", ctx.content, last=True)
        f.write(b"}\n")
    if progress:
        progress("ground_truth", 1, 1)


def readme(w: World, files: dict[str, int], events: int, n_facts: int) -> str:
    by_dir: dict[str, tuple[int, int]] = {}
    for rel, n in files.items():
        top = rel.split("/")[0] if rel.count("/") else rel
        if rel.startswith("newsletter/posts/"):
            top = "newsletter/posts"
        nf, ne = by_dir.get(top, (0, 0))
        by_dir[top] = (nf + 1, ne + n)
    table = "\n".join(f"| `{d}/` | {nf} | {ne:,} |" for d, (nf, ne) in sorted(by_dir.items()))
    call = (f"generate(seed={w.seed}, days={w.days}, scale={w.scale}, "
            f"start={w.start.isoformat()})")
    return f"""# AIOS demo business: Okafor Strategy

Maya Okafor runs **Okafor Strategy**, a one-person data-strategy consultancy in London, and a
paid newsletter, **{NEWSLETTER}**. This folder holds her business in the input formats of
`docs/formats.md`; ingest it with `aios ingest <this folder>`.

- generated by: `aios_assets.demo.{call}` (same arguments, byte-identical files)
- window: {w.start.isoformat()} to {w.end_dt.date().isoformat()} (end exclusive)
- {events:,} records, {len(w.people):,} people, {len(w.orgs):,} organizations

| folder | files | records |
|---|---:|---:|
{table}

- `crm/contacts.csv` - CRM export (canonical contact headers, source `crm`).
- `newsletter/subscribers.csv` + `subscribers.mapping.yaml` - the newsletter platform's
  subscriber export with its own headers, mapped to contacts (source `newsletter`).
- `email/YYYY-MM.mbox` - inbound and outbound mail with threads, signatures, spam, platform
  notifications and a few prompt-injection attempts.
- `calendar/calendar.ics` - meetings with organizer and attendees.
- `billing/invoices.csv`, `billing/payments.csv` - invoices per client; some paid on time, some
  late, some overdue.
- `newsletter/posts/*.md`, `newsletter/analytics.csv` - weekly issues and their metrics (the
  analytics `post_id` is the platform's campaign id; the post's front matter names it as
  `campaign_id`).
- `notes/*.md` - Maya's notes: meeting notes, ideas, decisions, commitments.
- `chat/*.jsonl` - client chat channels (one file per organization, multi-session) and meeting
  transcripts (`chat/meetings-YYYY-MM.jsonl`, thread = the meeting's calendar UID).

`ground_truth.json` says who is who: people (with every address and spelling they appear
under), organizations, one entry per contact-bearing record (source, source_id -> person_id,
org_id), {n_facts} facts memory should recall (with evidence), overdue invoices, stale leads and
the prompt-injection messages. It, this README and the mapping file are not input records.

Entity-resolution traps on purpose: nicknames (Robert/Bob), typos, case differences, missing
values, a married-name change (Katherine Lee -> Moreno), a client that changes email domain,
personal and work addresses, duplicate CRM rows, two different people called Michael Chen, a
shared accounts-payable mailbox, no-reply senders and a look-alike sender impersonating a client.

All domains are under `.example` (RFC 2606) and phone numbers are fictional, so nothing here can
reach a real person. These domains play the role of free-mail providers:
{', '.join(f"`{d}`" for d in FREEMAIL_DOMAINS)}.
"""


def _prepare_out(out_dir: Path) -> Path:
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ValueError(f"out_dir {str(out)!r} is a file, not a directory")
    if out.is_dir() and any(out.iterdir()):
        ours = set(_OWNED_DIRS) | {"README.md", "ground_truth.json", ".ground_truth.records.tmp"}
        if not ((out / "ground_truth.json").is_file()
                or all(p.name in ours for p in out.iterdir())):
            raise ValueError(
                f"out_dir {str(out)!r} is not empty and holds no previous demo dataset "
                "(ground_truth.json); choose an empty or new directory")
        for sub in _OWNED_DIRS:
            if (out / sub).is_dir():
                shutil.rmtree(out / sub)
        for name in ("README.md", "ground_truth.json", ".ground_truth.records.tmp"):
            (out / name).unlink(missing_ok=True)
    out.mkdir(parents=True, exist_ok=True)
    return out


def _check_args(seed: Any, days: Any, scale: Any, start: Any) -> None:
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
    if isinstance(days, bool) or not isinstance(days, int) or days < 1:
        raise ValueError(f"days must be an integer >= 1, got {days!r}")
    if isinstance(scale, bool) or not isinstance(scale, int | float) or not math.isfinite(scale) \
            or not 0 < scale <= MAX_SCALE:
        raise ValueError(f"scale must be a number in (0, {MAX_SCALE:g}], got {scale!r}")
    if start is not None and (not isinstance(start, date) or isinstance(start, datetime)):
        raise ValueError(f"start must be a datetime.date, got {start!r}")


def generate(out_dir: Path, *, seed: int = 7, days: int = 90, scale: float = 1.0,
             start: date | None = None,
             progress: Callable[[str, int, int], None] | None = None) -> DemoSummary:
    """Write the demo business into ``out_dir`` and return what was written.

    ``scale`` 1.0 is about 4,500 events; events grow linearly with ``scale`` and ``days``,
    people and organizations with ``sqrt(scale)``. ``progress(stage, done, total)`` is called
    as work proceeds (stages: ``world``, ``contacts``, ``events``, ``ground_truth``).
    Raises ``ValueError`` for bad arguments or an ``out_dir`` that is a file or a non-empty
    directory that does not hold a previous demo dataset.
    """
    _check_args(seed, days, scale, start)
    scale = float(scale)
    start = start or DEFAULT_START
    out = _prepare_out(Path(out_dir))
    w = build_world(seed, scale, days, start)
    if progress:
        progress("world", len(w.people), len(w.people))
    spill_path = out / ".ground_truth.records.tmp"
    try:
        with open(spill_path, "wb") as spill:
            files, active_subs = write_contacts(out, w, spill, progress)
            ctx = Ctx(w)
            writer = Writer(out, w, spill)
            streams: list[Iterator[Item]] = [operator_stream(ctx, 0),
                                             newsletter_stream(ctx, 1, active_subs),
                                             spam_stream(ctx, 2)]
            ent = 3
            for o in w.orgs:
                if o.kind == "client":
                    streams.append(client_stream(ctx, o, ent))
                elif o.kind == "lead":
                    streams.append(lead_stream(ctx, o, ent))
                elif o.kind == "partner":
                    streams.append(partner_stream(ctx, o.people, o.org_id, ent))
                elif o.kind == "vendor":
                    streams.append(vendor_stream(ctx, o, ent))
                ent += 1
            for p in w.independents:
                streams.append(partner_stream(ctx, [p], p.person_id, ent))
                ent += 1
            estimate = int(5200 * scale * days / 90)
            done = 0
            try:
                for item in heapq.merge(*streams):
                    writer.write(item)
                    done += 1
                    if progress and done % 2000 == 0:
                        progress("events", done, max(estimate, done))
            finally:
                writer.close()
            if progress:
                progress("events", done, done)
        files.update(writer.counts)
        files = dict(sorted(files.items()))
        events = sum(files.values())
        gt_path = out / "ground_truth.json"
        write_ground_truth(gt_path, w, ctx, writer, spill_path, progress)
    finally:
        spill_path.unlink(missing_ok=True)
    (out / "README.md").write_text(readme(w, files, events, len(ctx.facts)), encoding="utf-8")
    return DemoSummary(out_dir=out, files=files, events=events, people=len(w.people),
                       organizations=len(w.orgs), ground_truth=gt_path)
