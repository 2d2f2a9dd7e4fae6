"""``aios console``: the operator's local web app (Starlette + Jinja2 + htmx, no JS build).

Pages: Today (brief, approvals waiting, open incidents, spend against budgets), Proposals
(evidence, gates, cost; approve, reject with a reason, edit then approve), People (merged
records and why, facts over time, interactions; split / merge overrides), Search (recall with
cited sources). See docs/console.md.
"""

from __future__ import annotations

from aios_assets.console.serve import serve

__all__ = ["serve"]
