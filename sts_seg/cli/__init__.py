"""The ``stsseg`` command: one thin command per pipeline stage.

Commands parse options, load the config, call one library function and render the result.
TensorFlow is imported only inside the commands that need it, so ``stsseg --help`` is fast.
"""

from __future__ import annotations

from typing import Annotated

import typer

from sts_seg import __version__
from sts_seg.cli import config, cv, data, evaluate, export, infer, train
from sts_seg.io.atomic import exit_on_sigterm

app = typer.Typer(
    name="stsseg",
    help="Soft-tissue sarcoma segmentation in FDG-PET/CT: synth, prepare, augment, train, evaluate, infer, cv, export;"
    " config lists the shipped configs.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"stsseg {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit.")
    ] = False,
) -> None:
    """stsseg: honest, CPU-friendly segmentation of soft-tissue sarcomas in PET/CT."""


for _module in (data, train, evaluate, infer, cv, export, config):
    _module.register(app)


def main() -> None:
    """Console-script entry point (SIGTERM ends the command like Ctrl-C: staged outputs are removed)."""
    exit_on_sigterm()
    app()
