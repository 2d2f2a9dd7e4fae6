"""How the suite is split and scheduled, in one place (applied by ``tests/conftest.py``).

Markers (registered in pyproject.toml; ``make test-fast`` deselects all three):

- ``integration``: the test runs other programs — the real ``aios`` CLI, dbt, the Dagster
  webserver or daemon, forked or spawned children — so it is neither pure nor single-process.
  Listed below by module (every test of it) or by ``module::test``.
- ``browser``: it drives Debian's chromium.
- ``slow``: it took ``SLOW_S`` seconds or more (setup + call) in a full run on the 2-core
  machine (``SECONDS``, from ``--durations=0``; a parametrized test counts as its slowest case).

xdist (``make test``: ``-n`` workers, ``--dist loadgroup``):

- ``GROUPED`` modules share an expensive module-scoped fixture: their tests are one scheduling
  unit (:func:`scope_of`, the scheduler in ``tests/conftest.py``) and so run on one worker,
  which builds the fixture once. (Not ``xdist_group`` markers: pytest-xdist 3.8 tags grouped
  tests by rewriting ``item._nodeid``, which pytest 9 no longer reads.)
- Order: modules start slowest first (by their slowest test in ``SECONDS``; ties keep the file
  order, and the tests of a module keep theirs), so the long tests do not end up last on one
  worker while the others sit idle. Modules stay contiguous, so a module fixture is built once
  per worker in a serial run too.
"""

from __future__ import annotations

import pytest

SLOW_S = 5.0

INTEGRATION: frozenset[str] = frozenset({
    # whole modules
    "test_cli", "test_cli_first_hour", "test_cli_startup", "test_cli_fresh_home",
    "test_cli_signals", "test_console",
    "test_cli_crash_trace", "test_contact_import", "test_demo_e2e",
    "test_bench_docs",  # reads make bench's steps in a child (tests do not import benchmarks)
    "test_followup_meetings",  # dbt builds the calendar staging views
    "test_entities_deterministic", "test_entities_incremental", "test_entities_membership",
    "test_entities_overrides", "test_entities_snapshot", "test_entities_speed_paths",
    "test_entities_stable_ids", "test_entities_staging", "test_entities_street",
    "test_field_issues", "test_ingest_crash", "test_ingest_exit_codes", "test_kill_anywhere",
    "test_outbox_crash", "test_postgres_gone", "test_readme_examples", "test_single_source",
    "test_soak", "test_sql_sandbox", "test_ui", "test_ui_demo", "test_ui_lineage",
    # single tests of otherwise in-process modules
    "test_cli_escaping::test_markup_and_control_characters_in_file_names",
    "test_cli_escaping::test_sql_results_and_column_names_are_literal",
    "test_cli_escaping::test_errors_carrying_user_text_are_literal",
    "test_cost_views::test_cost_on_a_new_home_says_no_spend",
    "test_summaries_priority::test_the_cli_names_the_backlog_and_summaries_fill_writes_it",
    "test_definitions::test_dagster_validates_the_workspace",
    "test_deploy::test_daemon_dequeues_a_queued_run_and_it_succeeds",
    "test_hostile_input::test_each_hostile_file_is_read_in_bounded_time_and_memory",
    "test_hostile_input::test_the_cli_reports_every_skipped_file",
    "test_hostile_input::test_a_nul_poison_pill_does_not_stop_later_runs",
    # a real Dovecot on loopback (tests/test_imap_sensor.py); the SIGKILL one forks ticks
    "test_imap_sensor::test_thousand_messages_across_ticks",
    "test_imap_sensor::test_sigkill_mid_fetch_loses_and_doubles_nothing",
    "test_imap_sensor::test_uidvalidity_change_resyncs_without_duplicates",
    "test_imap_sensor::test_message_deleted_between_listing_and_fetch",
    "test_imap_sensor::test_large_attachment",
    "test_imap_sensor::test_bad_credentials_open_one_incident",
    "test_imap_sensor::test_login_backs_off_after_refusal",
    # a real Radicale CalDAV server on loopback (tests/test_caldav_sensor.py)
    "test_caldav_sensor::test_create_update_cancel_delete_across_ticks",
    "test_caldav_sensor::test_lost_cursor_and_refused_token_resync_adds_nothing",
    "test_caldav_sensor::test_recurring_event_with_an_override",
    "test_caldav_sensor::test_bad_credentials_open_one_incident",
    "test_caldav_sensor::test_login_backs_off_after_refusal",
    "test_caldav_sensor::test_tick_killed_before_its_cursor_is_stored_adds_nothing",
    "test_caldav_sensor::test_server_without_sync_collection_uses_ctag_and_etags",
    # the CalDAV outbox adapter against Radicale, with a fault proxy and SIGKILLed publishers
    "test_calendar_adapter",
    # benchmarks/imap_bench.py in a subprocess: Dovecot, Dagster runs, dbt, embedded Postgres
    "test_imap_bench",
    # benchmarks/llm_first_build_bench.py in a subprocess: a whole `aios ingest` on a new home
    "test_llm_first_build_bench",
    "test_publishing_gates::test_a_memo_hit_does_not_import_great_expectations",  # 2 children
    "test_run_storage::test_no_event_is_lost_when_the_writing_process_is_killed",  # a child
    "test_summaries_llm_scaling::test_a_killed_run_keeps_its_committed_batches",  # a child
    "test_ingest_parallel::test_parallel_parse_equals_serial",  # parser worker processes
    "test_ingest_parallel::test_failing_worker_fails_the_file_and_leaves_nothing",
    "test_memory_episodic::test_real_chain_event_log_entities_memory",
    "test_parse_email::test_guessed_messages_land_in_event_log",
    "test_postgres::test_one_server_per_home_shared_across_processes",
    "test_publishing_approvals::test_approve_via_cli_delivers_once_and_reject_is_a_policy_trace",
    "test_real_corpus::test_no_crash",
    "test_real_corpus::test_every_file_outcome_equals_table",
    "test_recall::test_recall_finds_paraphrased_evidence_and_cites_it",
    "test_recall::test_filters_thread_dates_and_bad_input",
    "test_recall::test_embedding_is_incremental_by_content_hash",
    "test_recall::test_context_pack_fits_the_budget_and_cites",
    "test_recall::test_cli_recall_json_and_missing_index",
    "test_recall_lexical_only::test_contacts_are_found_by_their_words_and_move_no_chat_score",
    "test_replay::test_replay_a_plan_and_save_into_a_busy_warehouse",
    "test_resolution_febrl::test_febrl1_through_the_real_ingest_loses_nothing_and_beats_the_tuned_model",  # noqa: E501
    "test_warehouse::test_reader_works_while_another_process_writes",
    "test_warehouse::test_second_writer_waits_then_fails_clearly",
})

BROWSER: frozenset[str] = frozenset({"test_ui_lineage", "test_console"})

# Modules whose tests share an expensive module-scoped fixture (one worker builds it once).
GROUPED: frozenset[str] = frozenset({
    "test_real_corpus",  # corpus_run: one whole `aios ingest` of ~300 files
    "test_entities_speed_paths",  # _built_once: a full and an incremental dbt build
    "test_entities_staging", "test_entities_membership",  # warehouse: a dbt build
    "test_entities_dagster",  # entities: the dbt assets
    "test_analyst_queries",  # demo: a demo business in a warehouse
    "test_demo_data",  # demo: the generated business
    "test_sql_sandbox",  # home: an ingested home
    "test_llm_economy_bench",  # tiny_report: a small benchmark run
    "test_embeddings",  # embedder: the offline model
    "test_operations",  # defs: the whole Definitions
    "test_console", "test_cli_first_hour",  # home / demo: a small demo business
    "test_readme_examples",  # checkout: `make demo` (small), then every README command
})

# module::test -> seconds (setup + call, its slowest case) on a quiet 2-core machine: CI's
# --durations where known, else a quarter of a full `-n 2` run at load ~8 (2026-12-07). Tests
# under 3 s are left out (they count as 0 for the order). Update it from
# `pytest --durations=0` when a test gets much slower or faster.
SECONDS: dict[str, float] = {
    "test_kill_anywhere::test_sigkill_anywhere_then_next_ingest_finishes": 171,
    "test_readme_examples::test_readme_command_answers": 150,  # + `ran`: every README command
    "test_demo_e2e::test_demo_runs_the_pipeline_and_prints_a_summary": 80,
    "test_ui_demo::test_make_ui_serves_both_flags_nothing_stale_and_stops": 78,
    "test_readme_examples::test_make_demo_says_how_to_reach_aios_and_the_readme_opens_with_it": 76,  # noqa: E501
    "test_real_corpus::test_no_crash": 80,
    "test_hostile_input::test_a_nul_poison_pill_does_not_stop_later_runs": 75,
    "test_contact_import::test_canonical_csv_and_a_mapped_export_resolve_to_one_person": 67,
    "test_imap_bench::test_small_run_reports_throughput_exactly_once_and_lag": 55,  # load ~3
    "test_llm_first_build_bench::test_tiny_first_build_counts_calls_and_bounds_concurrency": 60,
    "test_postgres_gone::test_postgres_killed_mid_run_one_line_then_next_ingest_works": 64,
    "test_entities_speed_paths::test_changes_are_not_skipped": 50,
    "test_field_issues::test_a_bad_field_never_drops_a_person": 41,
    "test_entities_incremental::test_incremental_build_equals_full_refresh": 36,
    "test_postgres_gone::test_postgres_killed_between_commands_next_command_just_works": 35,
    "test_single_source::test_source_alone_in_a_new_home": 34,
    "test_entities_speed_paths::test_nothing_new_skips_the_resolver_and_changes_nothing": 33,
    "test_cli::test_ingest_records_a_dagster_run": 30,
    "test_single_source::test_empty_file_alone_in_a_new_home": 29,
    "test_entities_overrides::test_must_link_and_cannot_link_survive_reruns": 28,
    "test_entities_stable_ids::test_new_records_keep_existing_ids": 26,
    "test_cli_signals::test_a_wait_is_bounded": 25,
    "test_entities_snapshot::test_changed_contact_becomes_a_new_scd2_row": 21,
    "test_imap_sensor::test_sigkill_mid_fetch_loses_and_doubles_nothing": 20,
    "test_entities_deterministic::test_marts_do_not_depend_on_load_order": 20,
    "test_dbt_row_counts::test_dbt_tables_carry_their_row_counts": 19,
    "test_dbt_row_counts::test_a_homes_second_build_skips_the_parse": 25,
    "test_entities_street::test_street_reaches_the_resolver_and_an_old_table_is_rebuilt": 19,
    "test_ingest_crash::test_sigkill_during_ingest_loses_and_duplicates_nothing": 19,
    "test_imap_sensor::test_thousand_messages_across_ticks": 16,
    "test_caldav_sensor::test_lost_cursor_and_refused_token_resync_adds_nothing": 11,
    "test_caldav_sensor::test_create_update_cancel_delete_across_ticks": 9,
    "test_caldav_sensor::test_tick_killed_before_its_cursor_is_stored_adds_nothing": 10,
    "test_caldav_sensor::test_server_without_sync_collection_uses_ctag_and_etags": 7,
    "test_caldav_sensor::test_recurring_event_with_an_override": 7,
    "test_caldav_sensor::test_bad_credentials_open_one_incident": 6,
    "test_calendar_adapter::test_hold_then_confirm_through_the_outbox": 5,  # + Radicale start
    "test_calendar_adapter::test_cancel_compensates_a_hold_and_audit_links_both": 4,
    "test_calendar_actions::test_calendar_proposals_pass_the_gates_and_wait_for_approval": 3,
    "test_entities_street::test_an_impossible_dob_reaches_the_resolver_as_digits": 15,
    "test_parse_email::test_guessed_messages_land_in_event_log": 14,
    "test_deploy::test_daemon_dequeues_a_queued_run_and_it_succeeds": 12,
    "test_memory_episodic::test_real_chain_event_log_entities_memory": 12,
    "test_soak::test_concurrency_soak": 10,
    # the session embedded Postgres (pg_url) when first; the loopback LLM server, four refreshes
    "test_summaries_priority::test_priority_first_then_the_backlog_equals_one_full_run": 10,
    "test_analyst_queries::test_proposals_and_approvals": 8,
    "test_agents_dagster::test_a_rerun_with_nothing_new_keeps_every_data_version": 9,
    "test_ui::test_ui_and_console_stop_with_their_children": 9,
    "test_ingest_exit_codes::test_a_failed_run_wins_over_a_rejected_file": 8,
    "test_cli_signals::test_sigterm_mid_ingest_cancels_the_run_and_ends_its_workers": 7,
    "test_entities_staging::test_latest_version_wins": 7,
    "test_resolution_febrl::test_febrl1_through_the_real_ingest_loses_nothing_and_beats_the_tuned_model": 7,  # noqa: E501
    "test_ui::test_ui_serves_assets_and_sensors": 7,
    "test_entities_staging::test_contacts_are_parsed_from_payload": 6,
    "test_ingest_exit_codes::test_quarantined_records_inside_a_read_file_exit_0": 6,
    "test_ui_lineage::test_lineage_graph_through_graphql_and_chromium": 6,
    "test_readme_examples::test_readme_console_serves_the_demo": 6,
    "test_definitions::test_dagster_validates_the_workspace": 5,
    "test_entities_dagster::test_materialize_under_the_warehouse_lock": 5,
    "test_ingest_exit_codes::test_a_failed_run_exits_1": 5,
    "test_ingest_exit_codes::test_a_wholly_rejected_file_exits_3_and_the_rest_is_kept": 5,
    "test_publishing_approvals::test_approve_via_cli_delivers_once_and_reject_is_a_policy_trace": 5,
    "test_sql_sandbox::test_refused_with_one_line_and_nothing_changes": 5,
    "test_cli::test_errors_are_one_line_and_exit_non_zero": 4,
    "test_cli::test_ingest_then_sql_in_every_format": 4,
    "test_imap_sensor::test_bad_credentials_open_one_incident": 4,
    "test_disclosure_gate::test_brief_and_misbehaving_llm_deliver_nothing_hostile": 4,
    "test_entities_overrides::test_an_override_naming_unknown_records_does_not_break_the_run": 4,
    "test_hostile_input::test_the_cli_reports_every_skipped_file": 4,
    "test_replay::test_replay_a_plan_and_save_into_a_busy_warehouse": 4,
    "test_resolution_core::test_full_runs_reuse_the_trained_model_until_the_data_grows": 4,
    "test_resolution_core::test_resolve_update_matches_the_incremental_run_and_reads_only_a_neighbourhood": 4,  # noqa: E501
    "test_agents_injection::test_injection_corpus_never_steers_an_action": 3,
    "test_cli::test_sql_reads_stdin": 3,
    "test_cli_escaping::test_sql_results_and_column_names_are_literal": 3,
    "test_imap_sensor::test_fresh_home_connects_nowhere": 3,
    "test_caldav_sensor::test_fresh_home_connects_nowhere": 7,
    "test_followup_meetings::test_approved_holds_wait_in_the_outbox_without_a_calendar_adapter": 18,  # noqa: E501
    "test_followup_meetings::test_offer_slots_then_confirm_the_picked_one": 9,
    "test_followup_meetings::test_approved_holds_reach_a_real_calendar_exactly_once": 20,
    "test_llm_economy_bench::test_tiered_and_cached_costs_less_than_all_strong": 3,
    "test_operations::test_a_new_event_log_materialization_requests_the_marts_and_memory": 3,
    "test_parser_fuzz::test_every_jsonl_line_is_an_event_or_a_rejection": 3,
    "test_replay::test_replay_reproduces_then_shows_template_and_version_changes": 3,
}


def _keys(item: pytest.Item) -> tuple[str, str]:
    module = item.path.stem
    name = getattr(item, "originalname", None) or item.name.split("[")[0]
    cls = item.cls.__name__ + "::" if getattr(item, "cls", None) else ""
    return module, f"{module}::{cls}{name}"


def scope_of(nodeid: str) -> str:
    """The xdist scheduling unit of a test: its module for a ``GROUPED`` module (one worker
    builds the shared fixture once), else the test itself."""
    module = nodeid.split("::", 1)[0].rsplit("/", 1)[-1].removesuffix(".py")
    return module if module in GROUPED else nodeid


def apply(items: list[pytest.Item]) -> None:
    """Mark every item and order the modules slowest first (groups: :func:`scope_of`)."""
    slowest: dict[str, float] = {}
    for item in items:
        module, test = _keys(item)
        if module in INTEGRATION or test in INTEGRATION:
            item.add_marker(pytest.mark.integration)
        if module in BROWSER or test in BROWSER:
            item.add_marker(pytest.mark.browser)
        seconds = SECONDS.get(test, 0.0)
        if seconds >= SLOW_S:
            item.add_marker(pytest.mark.slow)
        slowest[module] = max(slowest.get(module, 0.0), seconds)
    # sorted() is stable: equal modules keep the collection order, and so do a module's tests
    first_seen = {m: i for i, m in reversed(list(enumerate(_keys(it)[0] for it in items)))}
    items.sort(key=lambda it: (-slowest[_keys(it)[0]], first_seen[_keys(it)[0]]))
