"""Streams of the organizations: clients, leads, partners (and independents), vendors."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

from aios_assets.demo.render import Msg, Party
from aios_assets.demo.streams.base import Ctx, Item, Stream, _filler_turns, _transcript
from aios_assets.demo.tables import (
    CHAT_TOPICS,
    CLIENT_REPLIES,
    EMAIL_TOPICS,
    MAYA_REPLIES,
    MONTHS,
    NEXT_STEPS,
    OPERATOR_DOMAIN,
    PAY_METHOD,
    PROGRESS,
    PROMISES,
    STALE_DAYS,
    UTC,
    WEEKDAYS,
)
from aios_assets.demo.util import (
    _ceil,
    _day,
    _money,
    _next_weekday,
    _poisson,
    _poss,
    _quarter,
    _slug,
)
from aios_assets.demo.world import Org, Person, World

# --- clients --------------------------------------------------------------------------------


def client_stream(ctx: Ctx, org: Org, ent: int) -> Iterator[Item]:
    s = Stream(ctx, ent, f"client:{org.org_id}")
    rng, w, maya = s.rng, s.w, ctx.maya
    P = org.people[0]
    members = [p for p in org.people if p.role != "vendor"]
    conv = f"chat-{org.slug}"
    rel_chat = f"chat/{org.slug}.jsonl"
    session = [0]
    last_session: list[tuple[datetime, str]] = []
    q_ts = s.frac_ts(rng.uniform(0.03, 0.3))
    q_label = _quarter(q_ts + timedelta(days=30))
    agreed: list[datetime] = []
    invoice_no = [0]
    pay_no = [0]

    def colleague(exclude: Person | None = None) -> str:
        pool = [p.short for p in members if p is not exclude] or [P.short]
        return rng.choice(pool)

    def chat_session(ts: datetime, speaker: Person, lines: list[tuple[bool, str]]
                     ) -> list[str | None]:
        """Chat lines (True = Maya); falls back to an email thread when the org has no chat."""
        session[0] += 1
        ids: list[str | None] = []
        if org.uses_chat:
            t = ts
            who_p = s.party(speaker, ts, personal=False, style="formal")
            for is_maya, text in lines:
                ids.append(s.chat(t, rel_chat, conv, maya if is_maya else who_p, text,
                                  payload={"conversation": conv, "session": session[0],
                                           "channel": f"#{org.slug}-okafor"}))
                t += timedelta(seconds=rng.randrange(40, 600))
            return ids
        msg = None
        t = ts
        subject = rng.choice(("Quick question", "Following up", "Catching up"))
        for is_maya, text in lines:
            snd = maya if is_maya else s.party(speaker, t)
            rcp = s.party(speaker, t, personal=False) if is_maya else maya
            sig = (ctx.maya_sig if rng.random() < 0.5 else None) if is_maya else (
                s.signature(speaker, t))
            core = s.compose(speaker.short if is_maya else "Maya", [text],
                             "Maya" if is_maya else speaker.short, sig)
            msg = (s.reply(msg, t, snd, core, to=[rcp]) if msg else
                   s.email(t, snd, [rcp], subject, core))
            ids.append(msg.mid if msg else None)
            t += s.gap(20, 180, 24)
        return ids

    said_in = "chat" if org.uses_chat else "email"  # where chat_session() put its lines

    # --- beats ------------------------------------------------------------------------------
    beats: list[tuple[datetime, Callable[[datetime], None]]] = []

    def beat_retainer(ts: datetime) -> None:
        amount = _money(org.retainer, org.currency)
        start_on = _next_weekday(ts + timedelta(days=7), 0)
        to = [s.party(P, ts, personal=False)]
        core = s.compose(P.short, [
            f"As promised, here is the proposal for the {org.project}.",
            f"I'd suggest a {q_label} retainer at {amount}/month, covering two working days a "
            f"week, a fortnightly check-in and the {org.deliverable} as the first deliverable.",
            f"If that works for you we could start on {_day(start_on)}."], "Maya",
            ctx.maya_sig)
        m1 = s.email(ts, maya, to, f"Proposal: {org.project} - {q_label} retainer", core)
        if m1 is None:
            return
        t2 = s.clamp(ts + timedelta(hours=rng.uniform(3, 70)), ts)
        core2 = s.compose("Maya", [
            f"Thanks for this. We've reviewed it internally and we're happy to go ahead with "
            f"the {q_label} retainer at {amount}/month.",
            f"{_day(start_on)} works for us. I'll ask {colleague(P)} to sort out the data "
            "access on our side."], P.short, s.signature(P, t2))
        m2 = s.reply(m1, t2, s.party(P, t2, personal=False), core2, to=[maya])
        if m2 is None:
            return
        agreed.append(t2)
        ctx.fact(f"When did {P.first} {P.last_at(t2)} agree to the {q_label} retainer for "
                 f"{org.name}?", f"{t2:%Y-%m-%d}", [("email", m2.mid)], "temporal")
        ctx.fact(f"What monthly retainer did {org.name} agree to for {q_label}?",
                 f"{amount} per month", [("email", m2.mid)], "single-hop")
        t3 = s.clamp(t2 + s.gap(30, 120, 20), t2)
        s.reply(m2, t3, maya, s.compose(P.short, [
            "Wonderful — thank you! I'll send the contract over today and set up our kickoff."],
            "Maya", None), to=[s.party(P, t3, personal=False)])
        kickoff = s.clamp(s.work_ts(min(w.days - 1, (t2 - s.start).days + rng.randint(1, 6)),
                                    9.5, 16), t3)
        beats_late.append((kickoff, beat_kickoff))

    def beat_kickoff(ts: datetime) -> None:
        ts = _ceil(ts)
        att_people = [P] + [p for p in members if p is not P][:2]
        att = [s.party(p, ts, personal=False, style="formal") for p in att_people]
        summary = f"Kickoff: {org.name} x Okafor Strategy"
        uid = s.meeting(ts, 60, maya, att, summary,
                        f"Kickoff for the {org.project}. Agenda: goals, data access, "
                        "priorities, cadence.", "Video call")
        if uid is None:
            return
        x, y = org.priority
        speakers = [maya, *att]
        lines = [(0, f"Thanks for making time, everyone. Let's kick off the {org.project}."),
                 (1, f"Great to get started. Our warehouse is on {org.tool}, so access should "
                     "be simple."),
                 (0, "Before we dive in: what matters most in the first month?")]
        lines += _filler_turns(s, rng.randint(2, 5), ["Maya", *(p.short for p in att_people)],
                               org)
        decision_at = len(lines)
        lines += [(1, f"I think we should prioritise {x} before {y}."),
                  (0, f"Agreed — {x} first, then {y}. I'll reflect that in the plan."),
                  (1, "Perfect. Let's review progress in two weeks.")]
        tids = _transcript(s, uid, ts, summary, speakers, lines)
        if tids[decision_at]:
            ctx.fact(f"What did {org.name} decide to prioritise at the {org.project} kickoff?",
                     f"{x} before {y}", [("calendar", uid), ("chat", tids[decision_at] or "")],
                     "single-hop")
        nts = s.clamp(ts + timedelta(minutes=rng.randint(70, 240)), ts)
        s.note(nts, f"{org.slug}-kickoff-notes", f"Kickoff notes: {org.name}",
               ["meeting", org.slug, "kickoff"],
               f"# Kickoff: {org.name}\n\nAttendees: Maya, "
               + ", ".join(f"{p.first} {p.last_at(ts)}" for p in att_people)
               + f"\n\n## Decisions\n- Prioritise {x} before {y}.\n- Fortnightly check-ins.\n\n"
               f"## Actions\n- [ ] Maya: share the data access checklist with {P.first}.\n"
               f"- [ ] {P.first}: confirm {org.tool} credentials for Maya.\n",
               {"thread": uid})

    def beat_chat1(ts: datetime) -> None:
        board = (ts + timedelta(days=rng.randint(25, 40))).date()
        ready = board - timedelta(days=2)
        ids1 = chat_session(ts, P, [
            (True, f"Hi {P.short}! Before I plan the next few weeks — any fixed dates I should "
                   "know about?"),
            (False, f"Yes: our warehouse is on {org.tool}, and the board meets on {_day(board)}."
                    f" They'll want to see the {org.deliverable} there."),
            (True, "Very helpful, thank you. I'll plan backwards from that."),
        ])
        if not ids1[1]:
            return
        evidence1 = (said_in, ids1[1] or "")
        ctx.fact(f"Which data warehouse does {org.name} use?", org.tool, [evidence1],
                 "single-hop")
        last_session.append((ts, "the board date"))
        t2 = s.frac_ts(min(0.97, (ts - s.start) / (s.end - s.start) + rng.uniform(0.2, 0.4)))
        next_day = (ts - s.start).days + 1
        if next_day >= w.days:
            return
        t2 = max(t2, s.work_ts(next_day, 9, 17))

        def beat_chat2(ts2: datetime) -> None:
            ids2 = chat_session(ts2, P, [
                (False, f"As I mentioned on {_day(ts)}, the board meets on {_day(board)} — "
                        f"could we have the {org.deliverable} ready a couple of days before?"),
                (True, f"Yes — I'll have the {org.deliverable} ready by {_day(ready)}."),
                (False, "Brilliant, thank you."),
            ])
            if ids2[1]:
                ctx.fact(f"By when did Maya commit to deliver the {org.deliverable} to "
                         f"{org.name}, and why that date?",
                         f"{ready.isoformat()}, two days before {_poss(org.name)} board meeting on "
                         f"{board.isoformat()}", [evidence1, (said_in, ids2[1] or "")],
                         "multi-hop")
        beats_late.append((t2, beat_chat2))

    def beat_promise(ts: datetime) -> None:
        friday = _next_weekday(ts, 4)
        thing = rng.choice(PROMISES).format(deliverable=org.deliverable)
        topic, _ = rng.choice(CHAT_TOPICS)
        nid = s.note(ts, f"follow-up-{P.first}-{org.slug}", f"Follow-up with {P.first}",
                     ["commitment", org.slug],
                     f"Call with {P.first} ({org.name}) about {topic}.\n\n"
                     f"- They want more detail on scope before the next steering meeting.\n"
                     f"- Promised {P.first} the {thing} by Friday "
                     f"({friday.day} {MONTHS[friday.month - 1]}).\n"
                     f"- Check whether {colleague(P)} needs access to the shared folder.\n")
        if nid:
            ctx.fact(f"What did Maya promise {P.first} {P.last_at(ts)} of {org.name}, and by "
                     "when?", f"the {thing} by Friday {friday:%Y-%m-%d}", [("notes", nid)],
                     "temporal")

    def beat_married(ts: datetime, p: Person) -> None:
        new = s.party(p, ts, personal=False, style="formal")
        old_addr = p.work_email(ts - timedelta(days=1))
        core = s.compose("Maya", [
            f"Small admin note: I got married and changed my surname to {p.married_last}.",
            f"My new email is {new.addr}; the old one ({old_addr}) will stop working at the end "
            "of the month."], p.short, s.signature(p, ts))
        m = s.email(ts, new, [maya], "New name, new email address", core)
        if m:
            ctx.fact(f"What email address should Maya use for {p.first} {p.last} of {org.name} "
                     "now?", new.addr, [("email", m.mid)], "temporal")
            ctx.fact(f"What is {p.first} {p.last}'s surname now?", p.married_last or "",
                     [("email", m.mid)], "single-hop")

    def beat_rebrand(ts: datetime) -> None:
        new = s.party(P, ts, personal=False, style="formal")
        core = s.compose("Maya", [
            f"Quick heads-up: as part of our rebrand we've moved to a new email domain, "
            f"@{org.domain}. Mail to @{org.old_domain} will be forwarded for a few weeks.",
            "Please update your address book."], P.short, s.signature(P, ts))
        m = s.email(ts, new, [maya], f"{org.name} has a new email domain", core)
        if m:
            ctx.fact(f"Which email domain does {org.name} use since its rebrand?", org.domain,
                     [("email", m.mid)], "temporal")

    beats.append((q_ts, beat_retainer))
    beats.append((s.frac_ts(rng.uniform(0.05, 0.35)), beat_chat1))
    beats.append((s.frac_ts(rng.uniform(0.1, 0.8)), beat_promise))
    for p in members:
        if p.married_at:
            beats.append((p.married_at + timedelta(hours=rng.uniform(9, 17)),
                          lambda ts, p=p: beat_married(ts, p)))
    if org.rebrand_at:
        beats.append((org.rebrand_at + timedelta(hours=10), beat_rebrand))
    beats = [(s.clamp(t, s.start - timedelta(minutes=5)), f) for t, f in beats]
    beats_late: list[tuple[datetime, Callable[[datetime], None]]] = []

    # --- billing ----------------------------------------------------------------------------
    def billing_party(ts: datetime) -> tuple[Party, Person | None]:
        if org.ap_mailbox:
            return Party("Accounts Payable", f"ap@{org.domain_at(ts)}", None, org.org_id,
                          org.tz), None
        b = org.billing or P
        return s.party(b, ts, personal=False, style="formal"), b

    def issue_invoice(ts: datetime) -> None:
        invoice_no[0] += 1
        iid = f"INV-{org.idx:03d}-{invoice_no[0]:03d}"
        month = f"{MONTHS[ts.month - 1]} {ts.year}"
        if agreed and ts >= agreed[0]:
            amount = float(org.retainer)
            desc = f"{q_label} retainer - {month}"
        else:
            amount = float(rng.choice((2500, 3500, 4200, 5000)))
            desc = f"Discovery and scoping - {month}"
        net = 14 if rng.random() < 0.2 else 30
        due = (ts + timedelta(days=net)).date()
        behaviour = org.pay
        if behaviour == "never" and invoice_no[0] != 1:
            behaviour = "prompt"
        payments: list[tuple[datetime, float]] = []
        if behaviour == "prompt":
            payments = [(ts + timedelta(days=rng.uniform(3, net - 1)), amount)]
        elif behaviour == "late":
            payments = [(ts + timedelta(days=rng.uniform(net + 5, net + 40)), amount)]
        elif behaviour == "partial":
            half = round(amount / 2, 2)
            payments = [(ts + timedelta(days=rng.uniform(10, 25)), half),
                        (ts + timedelta(days=rng.uniform(net + 10, net + 45)), amount - half)]
        payments = [(t.replace(microsecond=0) + timedelta(hours=2), a) for t, a in payments]
        paid_by_end = sum(a for t, a in payments if t < s.end)
        end_date = s.end.date()
        if paid_by_end >= amount - 0.005:
            status = "paid"
        elif due < end_date:
            status = "overdue"
        elif paid_by_end > 0:
            status = "partially_paid"
        else:
            status = "open"
        bp, bperson = billing_party(ts)
        row = [iid, bp.addr, bp.name or "", org.alias(rng), ts.date().isoformat(),
               due.isoformat(), f"{amount:.2f}", org.currency, status, desc]
        if not s.push(ts, "inv", (iid, row, (bp.pid, org.org_id), amount, due)):
            return
        core = s.compose(bperson.short if bperson else "team", [
            f"Please find attached invoice {iid} for {_money(amount, org.currency)} "
            f"({desc}), due on {_day(due)}.", "Let me know if you need anything else on it."],
            "Maya", ctx.maya_sig)
        cc = [s.party(P, ts, personal=False)] if (bperson is not P and rng.random() < 0.3) else []
        inv_msg = s.email(ts + timedelta(minutes=5), maya, [bp], f"Invoice {iid} - {desc}",
                          core, cc=cc)
        for t, a in payments:
            pay_no[0] += 1
            pid = f"PAY-{org.idx:03d}-{pay_no[0]:03d}"
            s.push(t, "pay", (pid, [pid, iid, t.date().isoformat(), f"{a:.2f}", org.currency,
                                    PAY_METHOD[org.currency]], iid, a))
        evidence = [("billing", iid)]
        if status == "overdue":
            rem_ts = datetime(due.year, due.month, due.day, tzinfo=UTC) + timedelta(
                days=rng.randint(2, 6), hours=rng.randint(9, 16))
            for n_rem in (1, 2):
                if inv_msg is None or rem_ts >= s.end:
                    break
                txt = ("Friendly reminder" if n_rem == 1 else "Second reminder")
                bp2, bperson2 = billing_party(rem_ts)
                rem = s.reply(inv_msg, rem_ts, maya, s.compose(
                    bperson2.short if bperson2 else "team",
                    [f"{txt}: invoice {iid} for {_money(amount, org.currency)} was due on "
                     f"{_day(due)} and is still outstanding.",
                     "Could you let me know when it's scheduled for payment?"], "Maya",
                    ctx.maya_sig), to=[bp2])
                if rem:
                    evidence.append(("email", rem.mid))
                    inv_msg = rem
                rem_ts += timedelta(days=rng.randint(10, 16))
            outstanding = amount - paid_by_end
            ctx.fact(f"Which {org.name} invoice is overdue at the end of the period, and how "
                     "much is outstanding?",
                     f"{iid}: {_money(outstanding, org.currency)} outstanding (due "
                     f"{due.isoformat()})", evidence, "multi-hop")
        elif payments and inv_msg is not None and rng.random() < 0.4 and bperson is not None:
            t, _a = payments[-1]
            if t < s.end:
                s.reply(inv_msg, t + timedelta(minutes=30), s.party(bperson, t), s.compose(
                    "Maya", [f"Just to confirm {iid} was paid today."], bperson.short,
                    s.signature(bperson, t)), to=[maya])

    # --- background -------------------------------------------------------------------------
    def bg_thread(ts: datetime) -> None:
        subject_t, direction = rng.choice(EMAIL_TOPICS)
        topic, question = rng.choice(CHAT_TOPICS)
        member = rng.choice(members)
        subj = subject_t.format(project=org.project, topic=topic, deliverable=org.deliverable,
                                colleague=colleague(member))
        outbound = direction == "out" or (direction == "either" and rng.random() < 0.5)
        mp = s.party(member, ts)
        if outbound:
            cc = [s.party(p, ts) for p in members if p is not member and rng.random() < 0.25]
            core = s.compose(member.short, [
                f"Quick update on the {org.project}: {rng.choice(PROGRESS)}.",
                f"Next up: {rng.choice(NEXT_STEPS)}."], "Maya",
                ctx.maya_sig if rng.random() < 0.6 else None)
            msg = s.email(ts, maya, [mp], subj, core, cc=cc)
        else:
            core = s.compose("Maya", [f"Quick one on {topic}: {question}"], member.short,
                             s.signature(member, ts))
            msg = s.email(ts, mp, [maya], subj, core)
        turns = rng.choice((0, 1, 1, 2, 2, 3, 4))
        t = ts
        maya_turn = not outbound
        for _ in range(turns):
            if msg is None:
                return
            t = t + s.gap()
            if maya_turn:
                text = rng.choice(MAYA_REPLIES).format(first=member.short,
                                                       weekday=rng.choice(WEEKDAYS[:5]))
                msg = s.reply(msg, t, maya, s.compose(member.short, [text], "Maya", None),
                              to=[mp])
            else:
                text = rng.choice(CLIENT_REPLIES).format(colleague=colleague(member))
                msg = s.reply(msg, t, mp, s.compose("Maya", [text], member.short,
                                                    s.signature(member, t)), to=[maya])
            maya_turn = not maya_turn

    def bg_chat(ts: datetime) -> None:
        member = rng.choice(members)
        topic, question = rng.choice(CHAT_TOPICS)
        lines: list[tuple[bool, str]] = []
        if last_session and rng.random() < 0.45:
            prev_ts, prev_topic = last_session[-1]
            lines.append((True, f"Picking up from our chat on {_day(prev_ts)} about "
                                f"{prev_topic}: {rng.choice(PROGRESS)}."))
        lines.append((False, f"Hey Maya, question about {topic}: {question}"))
        for _ in range(rng.randint(1, 6)):
            if len(lines) % 2:
                lines.append((True, rng.choice(MAYA_REPLIES).format(
                    first=member.short, weekday=rng.choice(WEEKDAYS[:5]))))
            else:
                lines.append((False, rng.choice(CLIENT_REPLIES).format(
                    colleague=colleague(member))))
        chat_session(ts, member, lines)
        last_session.append((ts, topic))
        del last_session[:-3]

    def bg_meeting(ts: datetime) -> None:
        ts = _ceil(ts)
        att_people = [p for p in members if p is P or rng.random() < 0.4]
        att = [s.party(p, ts, personal=False, style=rng.choice(("formal", "formal", "none")))
               for p in att_people]
        if rng.random() < 0.12:
            org_p = s.party(P, ts, personal=False, style="formal")
            organizer, others = org_p, [maya] + att[1:]
            domain = org.domain_at(ts)
        else:
            organizer, others, domain = maya, att, OPERATOR_DOMAIN
        summary = rng.choice((f"{org.name} / Maya check-in", f"Check-in: {org.project}",
                              f"{org.name.split()[0]} weekly",
                              f"Working session: {org.deliverable}"))
        status = "CANCELLED" if rng.random() < 0.05 else "CONFIRMED"
        uid = s.meeting(ts, rng.choice((30, 30, 45, 60)), organizer, others, summary,
                        f"Agenda: progress on the {org.project}, open questions, next steps.",
                        rng.choice(("Video call", "Google Meet", "Zoom", org.loc.city + " office")),
                        status=status, uid_domain=domain)
        if uid is None or status == "CANCELLED":
            return
        if rng.random() < 0.3:
            speakers = [maya, *att]
            lines = _filler_turns(s, rng.randint(8, 16), ["Maya", *(p.short for p in att_people)],
                                  org)
            _transcript(s, uid, ts, summary, speakers, lines)
        if rng.random() < 0.2:
            topic, _ = rng.choice(CHAT_TOPICS)
            s.note(ts + timedelta(minutes=rng.randint(40, 180)), f"{org.slug}-check-in",
                   f"Check-in notes: {org.name}", ["meeting", org.slug],
                   f"Attendees: Maya, {', '.join(p.first for p in att_people)}\n\n"
                   f"- Progress: {rng.choice(PROGRESS)}.\n- Open: {topic}.\n"
                   f"- Next: {rng.choice(NEXT_STEPS)}.\n", {"thread": uid})

    invoice_days = _invoice_days(w)

    def plans() -> Iterator[tuple[datetime, Callable[[datetime], None]]]:
        pending = sorted(beats, key=lambda b: b[0])
        k = w.k
        for d in range(w.days):
            nxt = s.day_start(d + 1)
            today: list[tuple[datetime, int, Callable[[datetime], None]]] = []
            for lst in (pending, beats_late):
                lst.sort(key=lambda b: b[0])
                while lst and lst[0][0] < nxt:
                    t, f = lst.pop(0)
                    today.append((t, len(today), f))
            f_day = s.wdf(d) * k
            if d in invoice_days:
                today.append((s.work_ts(d, 8, 10), len(today), issue_invoice))
            for _ in range(_poisson(rng, 0.86 * f_day)):
                today.append((s.work_ts(d), len(today), bg_thread))
            if org.uses_chat:
                for _ in range(_poisson(rng, 0.40 * f_day)):
                    today.append((s.work_ts(d), len(today), bg_chat))
            for _ in range(_poisson(rng, 0.32 * f_day)):
                today.append((s.work_ts(d, 8, 17), len(today), bg_meeting))
            today.sort(key=lambda x: (x[0], x[1]))
            for t, _, f in today:
                yield t, f

    return s.run(plans())


def _invoice_days(w: World) -> set[int]:
    """First weekday of the window and of every month in it."""
    out: set[int] = set()
    seen_months: set[tuple[int, int]] = set()
    for d in range(w.days):
        day = w.start_dt + timedelta(days=d)
        if day.weekday() >= 5 or (day.year, day.month) in seen_months:
            continue
        if d == 0 or day.day <= 3 or not seen_months:
            out.add(d)
            seen_months.add((day.year, day.month))
    return out


# --- leads, partners, vendors ---------------------------------------------------------------


def lead_stream(ctx: Ctx, org: Org, ent: int) -> Iterator[Item]:
    s = Stream(ctx, ent, f"lead:{org.org_id}")
    rng, w, maya = s.rng, s.w, ctx.maya
    L = org.people[0]
    cutoff_day = w.days - STALE_DAYS
    if org.stale:
        if cutoff_day < 1:
            return iter(())
        first_day = rng.randrange(0, max(1, min(cutoff_day, int(w.days * 0.45))))
        last_day = min(cutoff_day - 1, first_day + max(1, int(w.days * rng.uniform(0.05, 0.25))))
    else:
        first_day = rng.randrange(0, max(1, int(w.days * 0.45)))
        last_day = w.days - 1
    thread: list[Msg] = []

    def beat_inquiry(ts: datetime) -> None:
        lp = s.party(L, ts)
        core = s.compose("Maya", [
            f"I'm {L.title} at {org.name}. A friend recommended your newsletter.",
            f"We're looking for help with {org.need}. Would you have time for a short call in "
            "the next couple of weeks?"], L.short, s.signature(L, ts))
        m = s.email(ts, lp, [maya], f"Enquiry: help with {org.need.split(' for ')[0]}", core)
        if m is None:
            return
        thread.append(m)
        ctx.fact(f"What did {L.first} {L.last} from {org.name} first contact Maya about?",
                 org.need, [("email", m.mid)], "single-hop")
        ctx.fact(f"When did {L.first} {L.last} from {org.name} first get in touch?",
                 f"{ts:%Y-%m-%d}", [("email", m.mid)], "temporal")
        t2 = s.clamp(ts + s.gap(30, 300, 30), ts)
        if t2.date() > s.day_start(last_day).date():
            return
        r = s.reply(m, t2, maya, s.compose(L.short, [
            f"Thanks for reaching out — {org.need} is right in my wheelhouse.",
            "How about a 30-minute intro call next week?"], "Maya", ctx.maya_sig), to=[lp])
        if r:
            thread.append(r)
        if rng.random() < 0.6:
            call = s.work_ts(min(last_day, (t2 - s.start).days + rng.randint(2, 7)), 9, 17)
            if call > t2:
                s.meeting(_ceil(call), 30, maya,
                          [s.party(L, call, personal=False, style="formal")],
                          f"Intro call: {org.name} x Okafor Strategy",
                          f"Intro call about {org.need}.", "Zoom")

    def touch(ts: datetime) -> None:
        if thread:
            lp = s.party(L, ts)
            m = s.reply(thread[-1], ts, maya, s.compose(L.short, [
                "Checking in before the end of the month — is this still a priority for you?"],
                "Maya", ctx.maya_sig), to=[lp])
            if m:
                thread.append(m)

    def bg(ts: datetime) -> None:
        lp = s.party(L, ts)
        if thread and rng.random() < 0.7:
            parent = thread[-1]
            if rng.random() < 0.5:
                m = s.reply(parent, ts, maya, s.compose(L.short, [rng.choice((
                    "Just following up on my last note — happy to share a short proposal.",
                    "Any thoughts on the outline I sent?",
                    "Would it help if I sent a couple of case studies?"))], "Maya",
                    ctx.maya_sig), to=[lp])
            else:
                m = s.reply(parent, ts, lp, s.compose("Maya", [rng.choice((
                    "Thanks — I'm discussing internally and will come back to you.",
                    "Could you send a rough budget range?",
                    "We're still keen, just buried in quarter-end."))], L.short,
                    s.signature(L, ts)), to=[maya])
            if m:
                thread.append(m)
                del thread[:-2]

    def plans() -> Iterator[tuple[datetime, Callable[[datetime], None]]]:
        for d in range(first_day, last_day + 1):
            today = []
            if d == first_day:
                today.append((s.work_ts(d, 8, 12), 0, beat_inquiry))
            elif d == max(first_day + 1, w.days - 10) and not org.stale:
                today.append((s.work_ts(d), 0, touch))
            for _ in range(_poisson(rng, 0.35 * s.wdf(d) * w.k)):
                if d > first_day:
                    today.append((s.work_ts(d), len(today), bg))
            today.sort(key=lambda x: (x[0], x[1]))
            for t, _, f in today:
                yield t, f

    return s.run(plans())


def partner_stream(ctx: Ctx, people: list[Person], key: str, ent: int) -> Iterator[Item]:
    s = Stream(ctx, ent, f"partner:{key}")
    rng, w, maya = s.rng, s.w, ctx.maya
    org = people[0].org
    uses_chat = org.uses_chat if org else rng.random() < 0.5
    rel = f"chat/{org.slug}.jsonl" if org else f"chat/dm-{_slug(people[0].canonical_name)}.jsonl"
    conv = f"chat-{org.slug}" if org else f"dm-{_slug(people[0].canonical_name)}"
    service = people[0].service

    def beat_intro(ts: datetime) -> None:
        p = people[0]
        pp = s.party(p, ts)
        core = s.compose(p.short, [
            f"Could you help again with {service} for one of my clients this month?",
            "Same rates as last time; I'll send the brief once you confirm."], "Maya",
            ctx.maya_sig)
        m = s.email(ts, maya, [pp], f"{service.capitalize()} this month?", core)
        if m and p.service_unique:
            ctx.fact(f"Who does Maya work with for {service}?",
                     f"{p.canonical_name}" + (f" ({org.name})" if org else " (freelance)"),
                     [("email", m.mid)], "single-hop")
        elif m:
            ctx.fact(f"What does {p.canonical_name} help Maya with?", service,
                     [("email", m.mid)], "single-hop")
            t2 = s.clamp(ts + s.gap(20, 200, 30), ts)
            s.reply(m, t2, s.party(p, t2), s.compose("Maya", [
                "Happy to — send the brief over when you're ready."], p.short,
                s.signature(p, t2)), to=[maya])

    def bg(ts: datetime) -> None:
        p = rng.choice(people)
        pp = s.party(p, ts)
        if uses_chat and rng.random() < 0.4:
            t = ts
            for i in range(rng.randint(2, 6)):
                who = maya if i % 2 == 0 else s.party(p, t, personal=False, style="formal")
                s.chat(t, rel, conv, who, rng.choice((
                    "Brief is in the shared folder.", "Got it, will have a draft by Thursday.",
                    "Can you invoice me at the end of the month?", "Looks great, thank you!",
                    "Small change: the client wants it in their brand colours.",
                    "No rush on this one.")), payload={"conversation": conv})
                t += timedelta(seconds=rng.randrange(60, 900))
            return
        if rng.random() < 0.15:
            s.meeting(_ceil(ts), 30, maya,
                      [s.party(p, ts, personal=False, style="formal")],
                      f"Sync with {p.short} ({service})", "Quick sync on current work.",
                      "Phone")
            return
        m = s.email(ts, pp, [maya], rng.choice(("Draft attached", "Invoice for last month",
                                                 "Quick question on the brief",
                                                 "Availability next month")),
                    s.compose("Maya", [rng.choice((
                        "Here's the draft — let me know what you think.",
                        "Attached is my invoice for last month's work.",
                        "Is the client happy with a PDF or do they need the source files?",
                        "I'm fully booked the week of the 20th, otherwise free."))], p.short,
                        s.signature(p, ts)))
        if m and rng.random() < 0.7:
            t2 = ts + s.gap()
            s.reply(m, t2, maya, s.compose(p.short, [rng.choice(MAYA_REPLIES).format(
                first=p.short, weekday=rng.choice(WEEKDAYS[:5]))], "Maya", None), to=[pp])

    def plans() -> Iterator[tuple[datetime, Callable[[datetime], None]]]:
        intro_day = rng.randrange(0, max(1, int(w.days * 0.3)))
        for d in range(w.days):
            today = []
            if d == intro_day:
                today.append((s.work_ts(d), 0, beat_intro))
            for _ in range(_poisson(rng, 0.52 * s.wdf(d) * w.k)):
                today.append((s.work_ts(d), len(today), bg))
            today.sort(key=lambda x: (x[0], x[1]))
            for t, _, f in today:
                yield t, f

    return s.run(plans())


def vendor_stream(ctx: Ctx, org: Org, ent: int) -> Iterator[Item]:
    s = Stream(ctx, ent, f"vendor:{org.org_id}")
    rng, w, maya = s.rng, s.w, ctx.maya
    noreply = Party(org.name, f"noreply@{org.domain}", None, org.org_id, org.tz)

    def bg(ts: datetime) -> None:
        if org.people and rng.random() < 0.2:
            p = org.people[0]
            s.email(ts, s.party(p, ts), [maya], f"Your {org.name} account",
                    s.compose("Maya", [f"Checking in: how is {org.name} working for you? "
                                       "Happy to walk you through the new reporting features."],
                              p.short, s.signature(p, ts)))
            return
        amount = rng.choice((12, 19, 29, 49, 99))
        text = (f"Receipt from {org.name}\n\nAmount paid: ${amount}.00\nDate: {ts:%Y-%m-%d}\n"
                f"Plan: {rng.choice(('Starter', 'Pro', 'Team'))}\n\nThanks for using {org.name}.")
        html = (f"<html><body><h1>Receipt from {org.name}</h1>"
                f"<p>Amount paid: ${amount}.00</p></body></html>")
        s.email(ts, noreply, [maya], f"Your {org.name} receipt", text, html=html)

    def plans() -> Iterator[tuple[datetime, Callable[[datetime], None]]]:
        for d in range(w.days):
            today = [(s.work_ts(d, 0, 23), i, bg) for i in range(_poisson(rng, 0.15 * w.k))]
            today.sort(key=lambda x: (x[0], x[1]))
            for t, _, f in today:
                yield t, f

    return s.run(plans())
