"""Docs that tests keep honest: commands, configuration keys, errors and benchmark keys."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

from click.testing import CliRunner

from gateway import config
from gateway.cli import main
from gateway.dispatch import errors

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
DISPATCH = (ROOT / "docs" / "dispatch.md").read_text(encoding="utf-8")
PERFORMANCE = (ROOT / "docs" / "performance.md").read_text(encoding="utf-8")


def test_readme_shows_the_two_commands():
    quick_start = README.split("## Bắt đầu nhanh", 1)[1].split("##", 1)[0]
    assert re.findall(r"^make (\w+)", quick_start, re.M) == ["demo", "test"]


def test_every_cli_command_is_in_the_readme_and_has_an_example():
    from server.cli import main as server_main
    from tech.cli import main as tech_main

    for program, group in (("hangcho-gateway", main), ("hangcho-server", server_main), ("hangcho-tech", tech_main)):
        for name in group.commands:
            assert f"{program} {name}" in README, name
            help_text = CliRunner().invoke(group, [name, "--help"]).output
            assert "Example:" in help_text and f"{program} {name}" in help_text, name


def test_every_server_setting_is_documented():
    from server.settings import KNOWN

    doc = (ROOT / "docs" / "server.md").read_text(encoding="utf-8")
    for key in KNOWN - {"thresholds"}:
        assert f"| `{key}` |" in doc, key
    assert "| `thresholds.wait_p90_min` |" in doc and "| `thresholds.services.<code>` |" in doc


def test_every_configuration_key_is_documented():
    tables = {
        "services[]": config.Service,
        "priority_classes[]": config.PriorityClass,
        "counters[]": config.Counter,
        "dispatch": config.DispatchRules,
        "budgets": config.BudgetRules,
        "devices[]": config.Device,
    }
    for prefix, cls in tables.items():
        for field in dataclasses.fields(cls):
            assert f"`{prefix}.{field.name}`" in DISPATCH, f"{prefix}.{field.name}"
    for key in ("id", "name", "ward", "timezone", "public_url", "opening_hours", "open_days", "agencies", "admin_pin"):
        assert f"`center.{key}`" in DISPATCH, key


def test_every_refusal_is_documented():
    for cls in errors.DispatchError.__subclasses__():
        assert f"`{cls.__name__}`" in DISPATCH and f"`{cls.code}`" in DISPATCH, cls.__name__


def test_every_benchmark_key_is_explained():
    results = json.loads((ROOT / "bench" / "results.json").read_text())
    for key, value in results.items():
        if isinstance(value, int | float):
            assert f"`{key}`" in PERFORMANCE.split("## Latest figures")[0], key


def test_protocol_doc_lists_every_topic_and_action():
    from contracts import events, topics

    doc = (ROOT / "docs" / "protocol.md").read_text(encoding="utf-8")
    for leaf in (*topics.FROM_DEVICE, "ack", "display", "cmd/<name>"):
        assert f"/<device>/{leaf}`" in doc, leaf
    for name in topics.COMMANDS:
        assert f"`{name}`" in doc, name
    for action in events.ACTIONS:
        assert f"| `{action}` |" in doc, action


def test_protocol_doc_lists_every_reason_code():
    from contracts import answers

    doc = (ROOT / "docs" / "protocol.md").read_text(encoding="utf-8")
    for code in answers.REASONS:
        assert f"| `{code}` |" in doc, code


def test_the_screens_the_readme_shows_are_there():
    shown = re.findall(r"\]\((docs/screens/[\w.-]+\.png)\)", README)
    assert {"docs/screens/hall-new-call.png", "docs/screens/ticket.png", "docs/screens/dashboard.png"} <= set(shown)
    for path in shown:
        assert (ROOT / path).stat().st_size > 5_000, path  # a picture, not an empty file


def test_every_scrolling_table_is_a_named_region_a_keyboard_reaches():
    """axe's scrollable-region-focusable, for pages a test might not fill with enough rows to scroll."""
    for page in (ROOT / "server" / "templates").glob("*.html"):
        for div in re.findall(r'<div class="scroll"[^>]*>', page.read_text(encoding="utf-8")):
            assert 'tabindex="0"' in div and 'role="region"' in div and "aria-label=" in div, (page.name, div)
