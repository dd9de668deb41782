"""Which database errors are an outage (back off, retry the same work) and which are a refusal of
this input (a poison message: reject it alone)."""

import pytest
from django.db import InterfaceError, OperationalError

from pubsub.daemon import database_outage


@pytest.mark.parametrize("code", [2002, 2003, 2006, 2013, 1040, 1053, 1205, 1213, 1290, 1927, 4031])
def test_unreachable_busy_or_failing_over_databases_are_outages(code):
    assert database_outage(OperationalError(code, "..."))


@pytest.mark.parametrize("code", [1366, 1292, 1048, 1264])
def test_a_statement_the_server_refuses_is_not_an_outage(code):
    assert not database_outage(OperationalError(code, "..."))


def test_an_operational_error_without_a_code_counts_as_an_outage():
    assert database_outage(OperationalError("database is locked"))


def test_interface_errors_are_outages_and_other_errors_are_not():
    assert database_outage(InterfaceError(0, ""))
    assert not database_outage(ValueError("bad input"))
