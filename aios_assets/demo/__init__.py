"""Demo business generator (package): a realistic, deterministic one-person company for AIOS.

``generate(out_dir)`` writes the scattered streams of *Okafor Strategy* — Maya Okafor, a solo
data-strategy consultant who also runs a paid newsletter (*The Data Ledger*) — in exactly the
input formats of ``docs/formats.md``: a CRM export, a newsletter subscriber export with its own
headers (+ mapping file), monthly mbox files, a calendar, invoices and payments, newsletter posts
and their analytics, operator notes, and chat / meeting transcripts as JSONL events. Next to the
data it writes ``ground_truth.json`` (who is who across sources, facts memory must recall,
overdue invoices, stale leads, prompt-injection messages) and a ``README.md``.

Properties:

* Deterministic: the same ``(seed, days, scale, start)`` gives byte-identical files (every random
  choice comes from ``random.Random`` seeded with a string; no wall clock, no ``hash()``, no set
  iteration order; .ics and front matter as the pinned ``icalendar`` and PyYAML write them).
* Streaming: every actor of the business (each organization, the operator, the newsletter, the
  spam) is a generator of time-ordered records; ``heapq.merge`` interleaves them and a writer
  appends each record to its file. Memory stays bounded by the number of people, not of events.
* Scale: ``scale=1`` is about 4,500 events over 90 days; events grow linearly with ``scale`` and
  ``days``, people and organizations with ``sqrt(scale)``.
* Entity-resolution traps: nicknames, typos, case differences, missing values, married-name and
  domain changes, personal vs work addresses, duplicate CRM rows, two different people with the
  same name at different companies, shared company domains, shared mailboxes (accounts payable),
  no-reply senders, and a look-alike sender impersonating a client.

Layout: :mod:`.tables` (constants and the pools names and texts are drawn from),
:mod:`.world` (people, organizations and how they relate), :mod:`.streams` (what happens over
time: one generator per actor), :mod:`.render` (records turned into mbox, iCalendar, CSV rows and
Markdown front matter), :mod:`.writer` (files on disk, the ground-truth spill, :func:`generate`).

Every domain is under the reserved ``.example`` top-level domain (RFC 2606) and every phone number
sits in a fictional range, so nothing generated here can reach a real person.
"""

from aios_assets.demo.tables import (
    DEFAULT_START,
    FREEMAIL_DOMAINS,
    META_FILES,
    OPERATOR_EMAIL,
    SOURCE_FOLDERS,
)
from aios_assets.demo.writer import DemoSummary, generate

__all__ = [
    "DEFAULT_START",
    "FREEMAIL_DOMAINS",
    "META_FILES",
    "OPERATOR_EMAIL",
    "SOURCE_FOLDERS",
    "DemoSummary",
    "generate",
]
