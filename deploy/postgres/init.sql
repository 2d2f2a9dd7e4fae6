-- An external Postgres (16+; the embedded default is 18) with pgvector 0.8 for AIOS past one
-- machine. Run once as a superuser: psql "postgresql://postgres@HOST/postgres" -f init.sql
-- Passwords are set afterwards from your secret store (\password aios), never in this file.

CREATE ROLE aios LOGIN;      -- AIOS_POSTGRES_URL: outbox, approvals, LLM cache/ledger, incidents
CREATE ROLE dagster LOGIN;   -- AIOS_DAGSTER_PG_URL / the Helm chart: runs, events, schedules

CREATE DATABASE aios OWNER aios;
CREATE DATABASE dagster OWNER dagster;

\connect aios
-- AIOS runs CREATE EXTENSION IF NOT EXISTS vector itself; creating it here lets the aios role
-- stay a non-superuser (pgvector must be installed on the server: apt install
-- postgresql-16-pgvector, or an image/managed service that ships it).
CREATE EXTENSION IF NOT EXISTS vector;
CREATE SCHEMA IF NOT EXISTS aios AUTHORIZATION aios;
