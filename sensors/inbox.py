"""``inbox_sensor``: new files dropped into ``$AIOS_HOME/inbox`` start an ingest run."""


import json
from pathlib import Path

import dagster as dg

from aios_assets.ingest.loader import expand_paths
from aios_assets.shared.home import AiosHome

MAX_FILES_PER_RUN = 200


def pending_files(inbox: Path) -> list[tuple[str, Path]]:
    """(key, path) for every file in the inbox; the key changes when the file changes."""
    if not inbox.exists():
        return []
    out = []
    for path in expand_paths([inbox]):
        try:
            st = path.stat()
        except FileNotFoundError:  # moved away while listing
            continue
        out.append((f"{path.relative_to(inbox)}:{st.st_size}:{st.st_mtime_ns}", path))
    return out


def plan_inbox_runs(
    files: list[tuple[str, Path]], cursor: str | None
) -> tuple[list[dg.RunRequest], str]:
    """Run requests for files not seen under the cursor, and the new cursor."""
    seen = set(json.loads(cursor)) if cursor else set()
    new = [(key, path) for key, path in files if key not in seen]
    requests = []
    for start in range(0, len(new), MAX_FILES_PER_RUN):
        batch = new[start : start + MAX_FILES_PER_RUN]
        requests.append(
            dg.RunRequest(
                run_key="|".join(key for key, _ in batch),
                run_config={
                    "ops": {"ingest_files": {"config": {"paths": [str(p) for _, p in batch]}}}
                },
                tags={"aios/trigger": "inbox"},
            )
        )
    # Keep only keys still in the inbox, so the cursor stays as small as the inbox.
    current = {key for key, _ in files}
    return requests, json.dumps(sorted(current))


@dg.sensor(
    job_name="ingest_job",
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Starts an ingest run for new or changed files in $AIOS_HOME/inbox.",
)
def inbox_sensor(context: dg.SensorEvaluationContext):
    home = AiosHome.from_env()
    files = pending_files(home.inbox)
    requests, cursor = plan_inbox_runs(files, context.cursor)
    context.update_cursor(cursor)
    if not requests:
        return dg.SkipReason(f"no new files in {home.inbox}")
    return requests
