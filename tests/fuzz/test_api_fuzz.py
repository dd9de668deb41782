"""Schemathesis against the schema /api/schema/ serves, in-process through the WSGI application and
the test database: every operation, anonymously and as staff. No 5xx, and every response (status,
content type, headers, body) is one the schema documents.

Each operation gets schemathesis' coverage cases (boundary values, wrong types, NUL bytes, missing
fields, unexpected methods) plus FUZZ_MAX_EXAMPLES generated ones: a few in `make test`, 300 in
`make fuzz`. FUZZ_SEED fixes the generation seed, to replay a run.
"""

import copy
import json
import os
import tempfile
from pathlib import Path

import pytest
import schemathesis
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, settings
from hypothesis.configuration import set_hypothesis_home_dir
from rest_framework.utils.encoders import JSONEncoder
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from common.logcontext import request_id_unbind
from project.wsgi import application
from users.tests.factories import UserFactory, UserManagerFactory
from users.tokens import token_pair_for_user

# Hypothesis caches what it learns under .hypothesis/ in the working directory: not in the work tree
set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "opsconsole-hypothesis")

MAX_EXAMPLES = int(os.environ.get("FUZZ_MAX_EXAMPLES", "25"))
SEED = os.environ.get("FUZZ_SEED")
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]

# autocommit, as in production: a case whose request leaves the transaction unusable must not
# fail every case after it
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _request_id_unbound_afterwards():
    """Schemathesis' WSGI client leaves the last response unclosed, so Django's request_finished
    (which unbinds the request id from the log context) does not fire: unbind it here, or the
    tests after these would log as that request."""
    yield
    request_id_unbind()


def served_schema() -> dict:
    """What /api/schema/ serves, from the generator its view uses: collection has no database, and
    `schemathesis.pytest.from_fixture` does not run under pytest 9 (it sets Function._nodeid).
    test_fuzzed_schema_is_the_served_schema keeps the two the same."""
    return json.loads(json.dumps(SchemaGenerator().get_schema(request=None, public=True), cls=JSONEncoder))


def operations_needing_credentials(raw_schema: dict) -> list[str]:
    return [
        operation["operationId"]
        for path in raw_schema["paths"].values()
        for operation in path.values()
        if operation.get("security") and {} not in operation["security"]
    ]


def load_schema(raw_schema: dict, **options):
    if SEED:
        options["seed"] = int(SEED)
    config = SchemathesisConfig.from_dict({"generation": {"max-examples": MAX_EXAMPLES}, **options})
    loaded = schemathesis.openapi.from_dict(copy.deepcopy(raw_schema), config=config)
    loaded.app = application
    return loaded


RAW_SCHEMA = served_schema()
staff_schema = load_schema(RAW_SCHEMA)
# Without credentials these operations answer 401 before reading any input: the generated cases
# check that, the coverage phase's hundreds of input variants would only repeat it.
anonymous_schema = load_schema(
    RAW_SCHEMA,
    operations=[
        {
            "include-operation-id": operations_needing_credentials(RAW_SCHEMA),
            "phases": {"coverage": {"enabled": False}},
        }
    ],
)

FUZZ_SETTINGS = settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    # no example database: every run starts fresh, as CI does
    database=None,
    # the fixtures are reused across the cases of one operation on purpose (staff_token, aim_at_a_user)
    suppress_health_check=list(HealthCheck),
)


@pytest.fixture
def staff_token():
    """A callable giving a token that is good now for a staff member who manages users (the users
    model permissions), so the cases reach past the permission check. Cases log out everywhere,
    change the password or deactivate the caller: a token minted per case carries the current
    revocation generation, and a caller that lost its staff rights is replaced."""
    caller = None

    def token() -> str:
        nonlocal caller
        if caller is not None:
            caller.refresh_from_db()
        if caller is None or not (caller.is_active and caller.is_staff) or caller.is_deleted:
            caller = UserManagerFactory()
        return token_pair_for_user(caller)["access"]

    return token


@pytest.fixture
def aim_at_a_user():
    """Point half the generated user ids at a user that exists: random ids almost never name one,
    so retrieve, change and delete would only ever answer 404. A deleted target is replaced."""
    target = None

    def aim(case) -> None:
        nonlocal target
        generated = (case.path_parameters or {}).get("id")
        if not isinstance(generated, int) or generated % 2:
            return
        if target is not None:
            target.refresh_from_db()
        if target is None or target.is_deleted:
            target = UserFactory()
        case.path_parameters["id"] = target.pk

    return aim


def test_fuzzed_schema_is_the_served_schema(client):
    served = client.get("/api/schema/", {"format": "json"}).json()

    assert served == RAW_SCHEMA


@anonymous_schema.parametrize()
@FUZZ_SETTINGS
def test_anonymous_requests_get_documented_responses(case):
    case.call_and_validate(checks=CHECKS)


@staff_schema.parametrize()
@FUZZ_SETTINGS
def test_staff_requests_get_documented_responses(case, staff_token, aim_at_a_user):
    aim_at_a_user(case)
    case.call_and_validate(headers={"Authorization": f"Bearer {staff_token()}"}, checks=CHECKS)
