"""How long a server asked us to wait: the one Retry-After rule of the LLM resource, the
embeddings endpoint and the outbound adapters. Dependency-free."""

from __future__ import annotations

import email.utils
from datetime import UTC, datetime


def parse_retry_after(raw: str | None, now: datetime | None = None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date); None if absent/bad."""
    if raw is None or not str(raw).strip():
        return None
    raw = str(raw).strip()
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def retry_after_s(exc: BaseException | None) -> float | None:
    """Seconds the server asked us to wait (``retry-after-ms``, else ``retry-after``) on the
    response an (OpenAI SDK) error carries; None when it asked nothing usable."""
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    if not headers:
        return None
    raw_ms = headers.get("retry-after-ms")
    if raw_ms:
        try:
            return max(0.0, float(raw_ms) / 1000)
        except ValueError:
            pass  # a bad retry-after-ms falls back to retry-after
    return parse_retry_after(headers.get("retry-after"))
