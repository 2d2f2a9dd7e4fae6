"""Shared machinery of the streams: the generation context and the :class:`Stream` base."""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

import orjson

from aios_assets.demo.render import Msg, Party, front_matter, render_mail, render_vevent
from aios_assets.demo.tables import (
    _LONDON,
    CHAT_TOPICS,
    NEWSLETTER,
    OPERATOR_DOMAIN,
    OPERATOR_EMAIL,
    PROGRESS,
    UTC,
)
from aios_assets.demo.util import _day, _fmt_phone, _iso, _rng, _slug, _stamp, _tz
from aios_assets.demo.world import Org, Person, World

Item = tuple[int, int, int, str, Any]  # (epoch seconds, stream, seq, kind, data)


class Ctx:
    def __init__(self, world: World) -> None:
        self.w = world
        self.facts: list[dict[str, Any]] = []
        self.injections: list[dict[str, str]] = []
        self.content: list[dict[str, str]] = []
        op = world.operator
        self.maya = Party("Maya Okafor", OPERATOR_EMAIL, op.person_id, world.op_org.org_id,
                           _tz(_LONDON))
        self.maya_sig = ("Maya Okafor\nPrincipal, Okafor Strategy\n+44 7700 900417 | "
                         f"{OPERATOR_DOMAIN}\n{NEWSLETTER}: weekly notes on data strategy")

    def fact(self, question: str, answer: str, evidence: list[tuple[str, str]],
             kind: str) -> None:
        self.facts.append({"question": question, "answer": answer, "type": kind,
                           "evidence": [{"source": s, "source_id": i} for s, i in evidence]})


class Stream:
    """Shared machinery: a private RNG, a local heap of pending records, record builders."""

    def __init__(self, ctx: Ctx, ent: int, key: str) -> None:
        self.ctx = ctx
        self.w = ctx.w
        self.ent = ent
        self.rng = _rng(ctx.w.seed, key)
        self.seq = 0
        self.ids = 0
        self.heap: list[Item] = []
        self.start = ctx.w.start_dt
        self.end = ctx.w.end_dt
        self.note_stems: set[str] = set()

    # --- time ------------------------------------------------------------------------------
    def day_start(self, d: int) -> datetime:
        return self.start + timedelta(days=d)

    def work_ts(self, d: int, lo: float = 8.0, hi: float = 18.0) -> datetime:
        return self.day_start(d) + timedelta(seconds=self.rng.randrange(int(lo * 3600),
                                                                        int(hi * 3600)))

    def frac_ts(self, f: float, lo: float = 8.5, hi: float = 17.5) -> datetime:
        d = min(self.w.days - 1, max(0, int(f * self.w.days)))
        return self.work_ts(d, lo, hi)

    def clamp(self, ts: datetime, after: datetime) -> datetime:
        """``ts``, pulled inside the window (and not before ``after``)."""
        latest = self.end - timedelta(minutes=20)
        ts = min(ts, latest)
        return max(ts, after + timedelta(seconds=60)) if ts <= after else ts

    def gap(self, lo_min: int = 8, mean_min: int = 240, cap_h: int = 72) -> timedelta:
        return timedelta(minutes=min(cap_h * 60, lo_min + int(self.rng.expovariate(1 / mean_min))))

    def wdf(self, d: int) -> float:
        return 1.0 if self.day_start(d).weekday() < 5 else 0.15

    # --- records -----------------------------------------------------------------------------
    def push(self, ts: datetime, kind: str, data: Any) -> bool:
        if not (self.start <= ts < self.end):
            return False
        self.seq += 1
        heapq.heappush(self.heap, (int(ts.timestamp()), self.ent, self.seq, kind, data))
        return True

    def run(self, plans: Iterator[tuple[datetime, Callable[[datetime], None]]]) -> Iterator[Item]:
        heap = self.heap
        last = self.start
        for ts, fn in plans:
            if ts < last:  # a follow-up scheduled into the past of this stream: run it now
                ts = last
            last = ts
            key = int(ts.timestamp())
            while heap and heap[0][0] <= key:
                yield heapq.heappop(heap)
            fn(ts)
        while heap:
            yield heapq.heappop(heap)

    def _id(self) -> str:
        self.ids += 1
        return f"{self.ent:x}{self.ids:05x}{self.rng.getrandbits(20):05x}"

    def party(self, p: Person, ts: datetime, personal: bool | None = None,
              style: str | None = None) -> Party:
        rng = self.rng
        if personal is None:
            personal = p.personal_email is not None and rng.random() < p.personal_pref
        addr = (p.personal_email if personal else p.work_email(ts)) or p.primary_email(ts)
        if style is None:
            style = p.style if rng.random() < 0.85 else rng.choice(
                ("formal", "formal", "nick", "short", "none"))
        last = p.last_at(ts)
        if style == "nick" and p.nick:
            name: str | None = f"{p.nick} {last}"
        elif style == "lastfirst":
            name = f"{last}, {p.first}"
        elif style == "short":
            name = f"{p.first} {last[0]}."
        elif style == "lower":
            name = f"{p.first} {last}".lower()
        elif style == "none":
            name = None
        else:
            name = f"{p.first} {last}"
        if name:
            p.variants.add(name)
        p.used_emails.add(addr.lower())
        tz = p.org.tz if p.org else _tz(p.loc)
        return Party(name, addr, p.person_id, p.org.org_id if p.org else None, tz)

    def signature(self, p: Person, ts: datetime) -> str:
        rng = self.rng
        if rng.random() < 0.12:
            return "Sent from my phone"
        name = f"{p.short} {p.last_at(ts)}"
        where = p.org.alias(rng) if p.org else p.title
        first_line = f"{p.title} | {where}" if p.org else where
        phone = _fmt_phone(p.phone, p.loc.country, rng.randrange(4)) if p.phone else ""
        return "\n".join(x for x in ("-- ", name, first_line, phone) if x)

    def compose(self, greet: str, paras: list[str], sign: str, sig: str | None) -> str:
        hello = self.rng.choice(("Hi", "Hi", "Hello", "Hey", "Morning"))
        close = self.rng.choice(("Best", "Thanks", "Cheers", "Best regards", "Speak soon"))
        text = f"{hello} {greet},\n\n" + "\n\n".join(paras) + f"\n\n{close},\n{sign}"
        if sig:
            plain = sig.startswith(("-- ", "Sent from"))
            text += ("\n\n" + sig) if plain else f"\n\n-- \n{sig}"
        return text

    def email(self, ts: datetime, sender: Party, to: list[Party], subject: str, core: str, *,
              cc: list[Party] | tuple = (), parent: Msg | None = None, html: str | None = None,
              kind: str = "email") -> Msg | None:
        if not (self.start <= ts < self.end):
            return None
        domain = sender.addr.rpartition("@")[2] or "mail.example"
        mid = f"{_stamp(ts)}.{self._id()}@{domain}"
        body = core
        if parent is not None:
            quoted = "\n".join("> " + line if line else ">" for line in
                               parent.core.split("\n\n-- ")[0].split("\n")[:6])
            who = parent.sender.name or parent.sender.addr
            body += f"\n\nOn {_day(parent.ts)} {parent.ts.year}, {who} wrote:\n{quoted}"
        cc = list(cc)
        text = render_mail(mid, ts, sender, to, cc, subject, body, parent, html)
        parts = sorted({p.pid for p in (sender, *to, *cc) if p.pid})
        gt = (sender.pid, sender.oid, parts)
        self.push(ts, "mail", (f"email/{ts.year:04d}-{ts.month:02d}.mbox", mid, text, gt))
        refs = (*parent.refs, parent.mid) if parent else ()
        return Msg(mid, refs, ts, sender, subject, core)

    def reply(self, parent: Msg, ts: datetime, sender: Party, core: str, *,
              to: list[Party] | None = None, cc: list[Party] | tuple = ()) -> Msg | None:
        subject = parent.subject if parent.subject.lower().startswith("re:") else (
            f"Re: {parent.subject}")
        return self.email(ts, sender, to or [parent.sender], subject, core, cc=cc, parent=parent)

    def meeting(self, ts: datetime, minutes: int, organizer: Party,
                attendees: list[Party], summary: str, description: str, location: str, *,
                status: str = "CONFIRMED", all_day: bool = False,
                uid_domain: str = OPERATOR_DOMAIN) -> str | None:
        if not (self.start <= ts < self.end):
            return None
        st = _stamp(ts)
        uid = f"{st[:8]}T{st[8:]}-{self._id()}@{uid_domain}"
        stats = [(a, self.rng.choice(("ACCEPTED", "ACCEPTED", "ACCEPTED", "TENTATIVE",
                                      "NEEDS-ACTION"))) for a in attendees]
        end = None if all_day else ts + timedelta(minutes=minutes)
        text = render_vevent(uid, ts, end, all_day, organizer, stats, summary, description,
                              location, status, 1 if status == "CANCELLED" else 0)
        parts = sorted({p.pid for p in (organizer, *attendees) if p.pid})
        self.push(ts, "cal", (uid, text, (organizer.pid, organizer.oid, parts)))
        return uid

    def chat(self, ts: datetime, rel: str, thread: str, who: Party, text: str,
             kind: str = "chat_message", subject: str | None = None,
             payload: dict[str, Any] | None = None) -> str | None:
        if not (self.start <= ts < self.end):
            return None
        sid = f"{'tr' if kind == 'transcript_turn' else 'msg'}-{self._id()}"
        rec = {"source": "chat", "source_id": sid, "kind": kind, "occurred_at": _iso(ts),
               "actor": who.name or who.addr, "thread": thread, "subject": subject,
               "text": text, "payload": {"speaker_email": who.addr, **(payload or {})}}
        self.push(ts, "chat", (rel, sid, orjson.dumps(rec) + b"\n", (who.pid, who.oid)))
        return sid

    def note(self, ts: datetime, slug: str, title: str, tags: list[str], body: str,
             extra: dict[str, Any] | None = None) -> str | None:
        if not (self.start <= ts < self.end):
            return None
        stem = f"{ts:%Y-%m-%d}-{_slug(slug, 60)}"
        base, n = stem, 2
        while stem in self.note_stems:
            stem, n = f"{base}-{n}", n + 1
        self.note_stems.add(stem)
        nid = f"note-{stem}"
        fm: dict[str, Any] = {"id": nid, "title": title, "date": ts.replace(tzinfo=UTC),
                              "tags": tags, "author": "Maya Okafor", **(extra or {})}
        self.push(ts, "note", (f"notes/{stem}.md", nid, front_matter(fm) + body.strip() + "\n"))
        return nid


def _transcript(s: Stream, uid: str, ts: datetime, summary: str, speakers: list[Party],
                lines: list[tuple[int, str]]) -> list[str | None]:
    """Write transcript turns (speaker index, text); return their source ids."""
    rel = f"chat/meetings-{ts:%Y-%m}.jsonl"
    out, t = [], ts + timedelta(seconds=s.rng.randrange(30, 120))
    for i, (who, text) in enumerate(lines):
        out.append(s.chat(t, rel, uid, speakers[who], text, "transcript_turn", summary,
                          {"meeting_uid": uid, "turn": i + 1}))
        t += timedelta(seconds=s.rng.randrange(20, 240))
    return out


def _filler_turns(s: Stream, n: int, names: list[str], org: Org) -> list[tuple[int, str]]:
    rng = s.rng
    bank_m = ("Let's start with where we are on the {project}.",
              "Quick update from my side: {progress}.", "What would help most this week?",
              "I can take that as an action.", "Let's capture that in the notes.",
              "Any blockers on data access?")
    bank_c = ("Sounds good.", "On our side, {topic} is still the main pain point.",
              "The team liked the last draft.", "We need to show this to the CFO next month.",
              "Can we get a first version before the end of the month?",
              "I'll ask {colleague} to send the export.", "That matches what finance sees.")
    topic, _ = rng.choice(CHAT_TOPICS)
    out = []
    for i in range(n):
        who = 0 if i % 2 == 0 else 1 + rng.randrange(max(1, len(names) - 1))
        text = rng.choice(bank_m if who == 0 else bank_c)
        out.append((who, text.format(project=org.project or "project",
                                     progress=rng.choice(PROGRESS), topic=topic,
                                     colleague=rng.choice(names[1:] or names))))
    return out
