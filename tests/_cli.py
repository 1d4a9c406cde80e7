"""Assertions shared by the CLI tests (tests/ is on sys.path, as for _pipeline)."""

from __future__ import annotations


def one_line_error(result, *names: str) -> str:
    """A typer result that failed with exit 1, one ``error: ...`` line on stderr naming ``names``, no traceback."""
    assert result.exit_code == 1, result.output
    err = result.stderr
    assert err.startswith("error: "), err
    assert err.count("\n") == 1, err
    for name in names:
        assert name in err, (name, err)
    assert "Traceback" not in result.output
    return err
