"""The offline LLM tier (a rule-based text engine behind the LLM resource)."""
