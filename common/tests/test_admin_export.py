"""spreadsheet_cell_neutralise: text a spreadsheet would run as a formula is made inert."""

import pytest

from common.admin.export import spreadsheet_cell_neutralise


@pytest.mark.parametrize("value", ["=1+1", "+1+1", "-1+1", "@SUM(A1)", "\t=1", "\r=1", "=", "-", "- item"])
def test_text_starting_like_a_formula_gets_a_leading_apostrophe(value):
    assert spreadsheet_cell_neutralise(value) == "'" + value


@pytest.mark.parametrize("value", ["-3", "-3.5", "+2", "-1e5", "-.5"])
def test_plain_numbers_stay_numbers(value):
    assert spreadsheet_cell_neutralise(value) == value


@pytest.mark.parametrize("value", ["/api/users/", "a=b", "", " =1", None, -3, 2.5, True])
def test_anything_else_is_left_alone(value):
    assert spreadsheet_cell_neutralise(value) == value
