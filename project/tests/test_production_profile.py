"""The production profile: DEBUG off refuses the dev secret, passes `check --deploy`, and the
database check refuses the development credentials."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _manage(*args, **env):
    full_env = {k: v for k, v in os.environ.items() if k not in ("DEBUG", "SECRET_KEY")}
    full_env.update({"DJANGO_SETTINGS_MODULE": "project.settings", **env})
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=full_env, capture_output=True, text=True, timeout=120
    )


def test_debug_off_refuses_the_insecure_default_secret_key():
    result = _manage("check", DEBUG="0")
    assert result.returncode != 0
    assert "SECRET_KEY is the insecure development default" in result.stderr


# what deploy/env.example asks for: no factory accounts on the shared engines
PRODUCTION_ENV = {
    "DEBUG": "0",
    "SECRET_KEY": "k" * 20 + "-Zq8" * 12,
    "RABBITMQ_URL": "amqps://opsconsole:broker-Pass-1@mq.internal:5671/opsconsole",
    "DATABASE_URL": "mysql://opsconsole:db-Pass-1@db.internal:3306/opsconsole",
    "METRICS_TOKEN": "scrape-" + "Qv7" * 10,
}


def test_check_deploy_is_clean_in_the_production_profile():
    result = _manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_flags_the_brokers_guest_account():
    env = PRODUCTION_ENV | {"RABBITMQ_URL": "amqp://guest:guest@127.0.0.1:5672/%2F"}
    result = _manage("check", "--deploy", "--fail-level", "WARNING", **env)
    assert result.returncode != 0
    assert "ops_admin.W001" in result.stderr + result.stdout


def test_check_deploy_flags_a_database_user_without_password():
    env = PRODUCTION_ENV | {"DATABASE_URL": "mysql://root@127.0.0.1:3306/opsconsole"}
    result = _manage("check", "--deploy", "--fail-level", "WARNING", **env)
    assert result.returncode != 0
    assert "ops_admin.W002" in result.stderr + result.stdout


def test_check_deploy_flags_metrics_open_to_anyone():
    env = PRODUCTION_ENV | {"METRICS_TOKEN": ""}
    result = _manage("check", "--deploy", "--fail-level", "WARNING", **env)
    assert result.returncode != 0
    assert "ops_admin.W003" in result.stderr + result.stdout


def test_debug_on_accepts_the_development_secret_key():
    result = _manage("check", DEBUG="1")
    assert result.returncode == 0, result.stderr


@pytest.mark.django_db
def test_the_deploy_check_refuses_the_development_superuser_password(django_user_model):
    from django.core.management import call_command
    from django.core.management.base import SystemCheckError

    django_user_model.objects.create_superuser(username="admin", password="admin", email="admin@localhost")

    with pytest.raises(SystemCheckError, match="users.E001"):
        call_command("check", "--deploy", "--database", "default", "--fail-level", "ERROR")


@pytest.mark.django_db
def test_the_deploy_check_accepts_the_admin_account_once_its_password_is_changed(django_user_model):
    from django.core.management import call_command

    django_user_model.objects.create_superuser(username="admin", password="a-long-Unique-passphrase-9", email="a@x.io")

    call_command("check", "--database", "default", "--tag", "database", "--deploy", "--fail-level", "ERROR")
