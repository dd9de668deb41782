from schemathesis.pytest.plugin import SchemathesisFunction


def pytest_collection_modifyitems(config, items):
    # schemathesis names every operation's test after the test function alone, so all of them share
    # one node id; pytest-xdist schedules by node id and would run one of each, and a report could
    # not say which operation failed: give each id its operation, as a parametrised test has
    for item in items:
        if isinstance(item, SchemathesisFunction) and item.operation_label and item.id.params is None:
            item._id = item.id.with_params(item.operation_label)
