"""The LLM resource's tables in Postgres: the response cache (``aios.llm_cache``) and one row per
call (``aios.llm_calls``), which the cost ledger mirrors (its columns: :data:`LEDGER_COLUMNS`).
"""

LLM_DDL = """
CREATE TABLE IF NOT EXISTS aios.llm_cache (
    prompt_hash text PRIMARY KEY,
    task text NOT NULL,
    tier text NOT NULL,
    model text NOT NULL,
    response text NOT NULL,
    prompt_tokens integer NOT NULL,
    completion_tokens integer NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS llm_cache_expires ON aios.llm_cache (expires_at);
CREATE TABLE IF NOT EXISTS aios.llm_calls (
    call_id uuid PRIMARY KEY,
    called_at timestamptz NOT NULL,
    run_id text,
    asset text,
    agent text NOT NULL,
    task text NOT NULL,
    tier text NOT NULL,
    model text NOT NULL,
    prompt_hash text NOT NULL,
    prompt_tokens integer NOT NULL,
    completion_tokens integer NOT NULL,
    cost_usd double precision NOT NULL,
    cache_hit boolean NOT NULL,
    degraded boolean NOT NULL,
    outcome text NOT NULL,
    error_class text,
    reason text,
    attempts integer NOT NULL,
    latency_ms integer NOT NULL
);
CREATE INDEX IF NOT EXISTS llm_calls_called_at ON aios.llm_calls (called_at);
CREATE INDEX IF NOT EXISTS llm_calls_agent_called_at ON aios.llm_calls (agent, called_at);
"""

LEDGER_COLUMNS = (
    "call_id", "called_at", "run_id", "asset", "agent", "task", "tier", "model", "prompt_hash",
    "prompt_tokens", "completion_tokens", "cost_usd", "cache_hit", "degraded", "outcome",
    "error_class", "reason", "attempts", "latency_ms",
)
