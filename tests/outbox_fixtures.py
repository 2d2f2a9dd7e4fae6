"""Helpers for outbox tests: a fresh database per test on the session's embedded Postgres."""

from __future__ import annotations

import itertools
import os

import psycopg
from psycopg.conninfo import make_conninfo

from aios_assets.publishing.adapters.base import OutboxAction

_counter = itertools.count()


def fresh_database(pg_url: str, prefix: str = "outbox") -> str:
    """Create an empty database next to ``pg_url``'s and return a conninfo for it."""
    name = f"{prefix}_{os.getpid()}_{next(_counter)}"
    with psycopg.connect(pg_url, autocommit=True) as con:
        con.execute(f'DROP DATABASE IF EXISTS "{name}"')
        con.execute(f'CREATE DATABASE "{name}"')
    return make_conninfo(pg_url, dbname=name)


def email_action(key: str, agent: str = "follow_up") -> OutboxAction:
    return OutboxAction(key, f"p-{key}", "send_email", "email",
                        {"to": "dana@acme.io", "subject": f"About {key}", "body": "Hi Dana"},
                        agent, "run-1")


def http_action(key: str, agent: str = "content") -> OutboxAction:
    return OutboxAction(key, f"p-{key}", "http_request", "http",
                        {"method": "POST", "path": "/v1/subscribers",
                         "json": {"email": "dana@acme.io", "ref": key}}, agent, "run-1")


def note_action(key: str, agent: str = "brief") -> OutboxAction:
    return OutboxAction(key, f"p-{key}", "internal_note", "none", {"text": "remember"}, agent)
