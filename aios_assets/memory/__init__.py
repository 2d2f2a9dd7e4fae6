"""Memory tiers: episodic, working, semantic, entity facts, policy traces, summaries."""
