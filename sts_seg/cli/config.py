"""``stsseg config list`` and ``stsseg config show NAME``: the configs shipped in the package."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.table import Table

from sts_seg.cli.common import console, handle_errors
from sts_seg.config.shipped import shipped_configs, shipped_text

config_app = typer.Typer(
    help="The shipped configs: list them, or print one to start your own (stsseg config show sts > my.yaml).",
    no_args_is_help=True,
)


@config_app.command("list")
@handle_errors
def list_configs() -> None:
    """Name and description of every shipped config; pass a name wherever a config file is accepted."""
    table = Table("name", "description", title="shipped configs (stsseg train NAME, stsseg config show NAME)")
    for name, text in shipped_configs().items():
        table.add_row(name, text)
    console.print(table)


@config_app.command("show")
@handle_errors
def show(name: Annotated[str, typer.Argument(help="A shipped config's name (stsseg config list), e.g. sts.")]) -> None:
    """Print a shipped config verbatim, comments included: stsseg config show sts > my.yaml."""
    sys.stdout.write(shipped_text(name))
    sys.stdout.flush()


def register(app: typer.Typer) -> None:
    app.add_typer(config_app, name="config")
