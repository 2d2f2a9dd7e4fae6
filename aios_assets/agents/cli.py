"""``aios intent add`` / ``aios intent list``: the operator's intents file from the shell."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.table import Column
from rich.text import Text

from aios_assets.agents.intents import (
    IntentsFileError,
    ensure_default_intents,
    intents_path,
    load_intents,
)
from aios_assets.termtext import fit_table, id_column, make_console, safe, visible

intent_app = typer.Typer(help="Intents: goals with a KPI, cadence, constraints and autonomy.",
                         no_args_is_help=True)
_err = make_console(stderr=True)
_out = make_console()


def _fail(message: str) -> None:
    _err.print(f"[bold red]error:[/] {safe(message)}", highlight=False, markup=True)
    raise typer.Exit(1)


@intent_app.command("list")
def intent_list(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show the intents (the demo's defaults are written when there is no file)."""
    from aios_assets.shared.home import activate_home

    home = activate_home()
    path = ensure_default_intents(home)
    try:
        intents = load_intents(path)
    except IntentsFileError as exc:
        _fail(str(exc))
    if as_json:
        sys.stdout.write(json.dumps([i.model_dump(mode="json") for i in intents]) + "\n")
        return
    # ids whole (`aios intent add ID --replace` takes them), short words unwrapped, the goal
    # (with its KPI and agents below it) wraps: the table fits an 80-column terminal
    table = fit_table(id_column(), "goal · kpi · agents", Column("cadence", no_wrap=True),
                      Column("autonomy", no_wrap=True), Column("on", no_wrap=True),
                      title=safe(path))
    for i in intents:
        kpi = i.kpi.name + (f" → {i.kpi.target:g}" if i.kpi.target is not None else "")
        what = Text(visible(i.goal))
        what.append("\n" + visible(f"kpi {kpi} · {', '.join(i.agents)}"), style="dim")
        table.add_row(safe(i.id), what, safe(i.cadence), safe(i.autonomy),
                      "yes" if i.enabled else "no")
    _out.print(table)


@intent_app.command("add")
def intent_add(
    intent_id: Annotated[str, typer.Argument(help="lower_snake_case id.")],
    goal: Annotated[str, typer.Option(help="What you want, in a sentence.")],
    kpi: Annotated[str, typer.Option(help="The KPI name (e.g. overdue_balance).")],
    agents: Annotated[list[str], typer.Option("--agent", help="Agent(s) serving it.")],
    kpi_target: Annotated[float | None, typer.Option(help="The KPI's target.")] = None,
    kpi_direction: Annotated[str, typer.Option(help="up or down: which way is better.")] = "down",
    cadence: Annotated[str, typer.Option(help="hourly, daily or weekly.")] = "daily",
    autonomy: Annotated[str, typer.Option(
        help="suggest_only, approve_first or autonomous.")] = "approve_first",
    max_proposals: Annotated[int, typer.Option(help="Cap per run.")] = 20,
    min_confidence: Annotated[float, typer.Option(help="Drop proposals below this.")] = 0.0,
    replace: Annotated[bool, typer.Option(help="Replace an intent with this id.")] = False,
) -> None:
    """Add an intent to $AIOS_HOME/intents.yaml (validated; the file is rewritten atomically)."""
    from aios_assets.agents.intents import Intent, add_intent
    from aios_assets.shared.home import activate_home

    home = activate_home()
    path = intents_path(home)
    try:
        intent = Intent.model_validate({
            "id": intent_id, "goal": goal, "cadence": cadence, "autonomy": autonomy,
            "agents": agents,
            "kpi": {"name": kpi, "target": kpi_target, "direction": kpi_direction},
            "constraints": {"max_proposals": max_proposals, "min_confidence": min_confidence}})
    except ValidationError as exc:
        _fail("; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()))
    try:
        ensure_default_intents(home)
        intents = add_intent(path, intent, replace=replace)
    except IntentsFileError as exc:
        _fail(str(exc))
    _err.print(f"{'replaced' if replace else 'added'} intent {safe(intent.id)} "
               f"({len(intents)} in {safe(path)})", highlight=False)
