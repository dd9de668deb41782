"""The systemd units in deploy/ start what exists: real management commands, the real ASGI app,
and the environment keys they set are settings the project reads."""

import configparser
import re
from pathlib import Path

import pytest
from django.core.management import get_commands
from django.utils.module_loading import import_string

UNITS_DIR = Path(__file__).resolve().parents[2] / "deploy" / "systemd"
UNITS = sorted(UNITS_DIR.glob("*.service"))
DAEMONS = {"producer_service", "deadletter_consumer", "user_sync_consumer", "dj_tasks_scheduler"}


def _service(unit: Path) -> configparser.SectionProxy:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str
    parser.read_string(unit.read_text().replace("\\\n", " "))
    return parser["Service"]


def test_there_is_a_unit_for_the_web_server_and_every_daemon():
    commands = set()
    for unit in UNITS:
        commands.update(re.findall(r"manage\.py (\w+)", _service(unit)["ExecStart"]))
    assert commands == DAEMONS
    assert any("uvicorn" in _service(unit)["ExecStart"] for unit in UNITS)


@pytest.mark.parametrize("unit", UNITS, ids=lambda unit: unit.name)
def test_each_unit_runs_an_existing_command_and_stops_with_sigterm(unit):
    service = _service(unit)
    for command in re.findall(r"manage\.py (\w+)", service["ExecStart"] + service.get("ExecStartPre", "")):
        assert command in get_commands(), command
    for app in re.findall(r"uvicorn (\S+:\S+)", service["ExecStart"]):
        assert callable(import_string(app.replace(":", ".")))
    assert service["KillSignal"] == "SIGTERM"
    assert service["Restart"] == "always"
    assert service["EnvironmentFile"] == "/etc/ops-console/env"


@pytest.mark.parametrize("unit", UNITS, ids=lambda unit: unit.name)
def test_each_environment_key_a_unit_sets_is_a_setting(unit, settings):
    for assignment in _service(unit).get("Environment", "").split():
        key = assignment.split("=", 1)[0]
        assert hasattr(settings, key), key
