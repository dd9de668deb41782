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


ENV_EXAMPLE = UNITS_DIR.parent / "env.example"
# the units that read or write the users import files: the admin's preview and confirm (web),
# the import job and the purge of stale files (scheduler)
USER_IMPORT_UNITS = ["ops-console-web.service", "ops-console-scheduler.service"]


def _env_example() -> dict[str, str]:
    lines = [line.strip() for line in ENV_EXAMPLE.read_text().splitlines()]
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))


def test_env_example_names_an_absolute_users_import_directory():
    assert Path(_env_example()["USER_IMPORT_ROOT"]).is_absolute()


@pytest.mark.parametrize("unit_name", USER_IMPORT_UNITS)
def test_the_users_import_directory_is_writable_under_the_unit(unit_name):
    """ProtectSystem=strict makes everything else read-only: the import directory must be one of
    the unit's ReadWritePaths (or below one)."""
    service = _service(UNITS_DIR / unit_name)
    writable = [Path(path.lstrip("-")) for path in service.get("ReadWritePaths", "").split()]
    import_root = Path(_env_example()["USER_IMPORT_ROOT"])

    assert service["ProtectSystem"] == "strict"
    assert any(import_root == path or path in import_root.parents for path in writable), writable


def test_import_previews_and_confirmed_files_share_the_users_import_directory(settings):
    """A confirm may land on another web host than its preview, and the job runs on the
    scheduler's host: neither may depend on a host's own temporary folder."""
    from django.contrib import admin

    from users.models import User, UserImportJob

    user_admin = admin.site._registry[User]
    preview = user_admin.get_tmp_storage_class()(**user_admin.get_tmp_storage_class_kwargs())
    preview.save(b"username\n")
    try:
        preview_path = Path(preview._storage.path(preview.get_full_path())).resolve()
    finally:
        preview.remove()
    job_root = Path(UserImportJob._meta.get_field("file").storage.location).resolve()

    assert job_root == Path(settings.USER_IMPORT_ROOT).resolve()
    assert job_root in preview_path.parents
