"""Each daemon is declared once (common.daemons): its command, its log file, its place on the
dashboard and its worker all come from that entry."""

import logging
from io import StringIO

import pytest
from django.core.management import call_command, get_commands, load_command_class
from django.utils.module_loading import import_string

from common.daemons import DAEMONS, daemon_names
from common.logcontext import log_file_name_for
from ops_admin import dashboard
from pubsub.daemon import Daemon


@pytest.mark.parametrize("spec", DAEMONS, ids=lambda spec: spec.name)
def test_each_registered_daemon_has_its_command_and_worker(spec):
    command = load_command_class(get_commands()[spec.name], spec.name)

    assert command.help.startswith(spec.summary)
    if spec.worker:
        worker = import_string(spec.worker)
        assert issubclass(worker, Daemon)
        assert worker.name == spec.name


@pytest.mark.parametrize("name", daemon_names())
def test_a_registered_daemon_started_by_manage_py_logs_to_its_own_file(name):
    assert log_file_name_for(["/srv/app/manage.py", name]) == f"{name}.log"


def test_the_dashboard_lists_the_registered_daemons():
    assert dashboard.DAEMON_NAMES == daemon_names()


def test_a_worker_lacking_its_unit_of_work_cannot_be_built():
    class Incomplete(Daemon):
        name = "incomplete"

    with pytest.raises(TypeError, match="step"):
        Incomplete()


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("rabbit")
def test_a_daemon_run_once_in_process_adds_no_log_file_of_its_own(settings):
    # an admin button or a test running a worker --once logs where its caller does
    settings.LOG_FILE = ""
    root = logging.getLogger()
    files_before = {getattr(h, "baseFilename", None) for h in root.handlers}
    out = StringIO()

    call_command("producer_service", "--once", stdout=out)

    assert {getattr(h, "baseFilename", None) for h in root.handlers} == files_before
    assert out.getvalue().startswith("producer_service: published 0, failed 0")
