"""The command lines printed in README.md and docs/ parse, and the CLI's own surface reads right."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from typer.testing import CliRunner

from songreel.cli.main import app

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def _commands() -> list[tuple[str, str]]:
    """Every ``songreel ...`` line inside a fenced shell block of the docs: (file, command)."""
    found = []
    for doc in DOCS:
        text = doc.read_text(encoding="utf-8")
        for block in re.findall(r"```(?:bash|sh|console|shell)\n(.*?)```", text, re.S):
            for line in block.splitlines():
                line = line.split(" #")[0].strip().lstrip("$ ").strip()
                m = re.search(r"(?:^|&&\s*)(songreel\s.*)$", line)
                if m:
                    found.append((doc.relative_to(ROOT).as_posix(), m.group(1)))
    return found


COMMANDS = _commands()


def test_the_docs_show_commands():
    assert len(COMMANDS) >= 10
    assert any(cmd.startswith("songreel render") for _, cmd in COMMANDS)


def _parse(args: list[str]) -> None:
    """Resolve ``songreel ARGS`` down to its command and parse its options, running nothing.

    Raises
    ------
    click.ClickException
        What the real command line would say about these arguments.
    """
    import typer.main

    command = typer.main.get_command(app)
    ctx = command.make_context("songreel", list(args))
    while hasattr(ctx.command, "resolve_command"):  # a group: descend to the subcommand
        pending = [*getattr(ctx, "_protected_args", getattr(ctx, "protected_args", [])), *ctx.args]
        if not pending:  # a group that runs on its own (e.g. `songreel prices`)
            break
        name, cmd, rest = ctx.command.resolve_command(ctx, pending)
        ctx = cmd.make_context(name, rest, parent=ctx)


def _click():
    """The click that Typer uses (recent Typer vendors its own copy)."""
    import importlib

    try:
        return importlib.import_module("typer._click")
    except ImportError:  # pragma: no cover - Typer on the click package
        return importlib.import_module("click")


@pytest.mark.parametrize("where, command", COMMANDS, ids=[f"{w}:{c[:40]}" for w, c in COMMANDS])
def test_every_documented_command_line_parses(where, command):
    """Parsing alone (no command runs): options exist, values have their types, arguments fit."""
    click = _click()
    try:
        _parse(shlex.split(command)[1:])
    except click.ClickException as e:
        pytest.fail(f"{where}: `{command}` does not parse: {e.format_message()}")


def test_a_wrong_command_line_is_caught():
    click = _click()
    with pytest.raises(click.ClickException, match="extra argument"):
        _parse(["render", "my-video.yaml", "out.mp4", "-o", "x.mp4"])
    with pytest.raises(click.ClickException):
        _parse(["render", "my-video.yaml", "--colour", "red", "-o", "x.mp4"])


def test_help_shows_flags_as_flags():
    r = CliRunner().invoke(app, ["render", "--help"], env={"COLUMNS": "160"})
    assert r.exit_code == 0
    assert "<bool>" not in r.output and "--force" in r.output


def test_backends_shows_the_install_command_of_a_missing_extra(monkeypatch):
    from songreel.generate import registry

    monkeypatch.setattr(registry, "missing_modules", lambda name: ["torch"] if name == "diffusers" else [])
    r = CliRunner().invoke(app, ["backends"], env={"COLUMNS": "200"})
    assert r.exit_code == 0
    assert "pip install 'songreel[diffusers]'" in r.output


def test_every_command_answers_help_and_prices_runs():
    import typer.main

    group = typer.main.get_command(app)
    names = sorted(group.commands)
    assert {"render", "plan", "analyze", "export", "demo", "takes", "pick", "store", "prices"} <= set(names)
    runner = CliRunner()
    for name in names:
        r = runner.invoke(app, [name, "--help"], env={"COLUMNS": "160"})
        assert r.exit_code == 0, (name, r.output)
    r = runner.invoke(app, ["prices", "--json"])
    assert r.exit_code == 0, r.output
    rows = __import__("json").loads(r.stdout)
    assert rows and all(row["source"] and row["checked"] for row in rows)
