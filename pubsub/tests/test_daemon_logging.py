"""Where a daemon logs: its own file, one per instance when several run on a host."""

import logging

import pytest

from pubsub.daemon import configure_daemon_logging


@pytest.fixture
def root_handlers():
    root = logging.getLogger()
    before = list(root.handlers)
    yield root
    for handler in root.handlers[len(before) :]:
        root.removeHandler(handler)
        handler.close()


def _files(root) -> set[str]:
    return {h.baseFilename for h in root.handlers if getattr(h, "baseFilename", None)}


def test_a_daemon_without_a_log_file_setting_gets_logs_name_log(settings, tmp_path, root_handlers):
    settings.LOG_FILE = ""
    settings.LOG_DIR = tmp_path

    configure_daemon_logging("producer_service")

    assert str(tmp_path / "producer_service.log") in _files(root_handlers)


def test_an_instance_with_its_own_log_file_adds_no_shared_file(settings, tmp_path, root_handlers):
    settings.LOG_FILE = "producer_service-2.log"
    settings.LOG_DIR = tmp_path
    before = _files(root_handlers)

    configure_daemon_logging("producer_service")

    assert _files(root_handlers) == before
