"""Observability: the audit trail, LLM and adapter cost, replay, incidents and freshness."""
