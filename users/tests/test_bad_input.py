import pytest
from rest_framework.test import APIClient

from users.models import User
from users.tests.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

USERS_URL = "/api/users/"
ME_URL = "/api/users/me/"
LOGIN_URL = "/api/auth/login/"
HUGE = "x" * 100_000
DEEPLY_NESTED = "[" * 100_000 + "]" * 100_000


def new_user_data(**overrides):
    return {"username": "newcomer", "password": DEFAULT_PASSWORD, **overrides}


# --- malformed bodies ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "/api/auth/login/",
        "/api/auth/refresh/",
        "/api/auth/password-reset/",
        "/api/auth/password-reset/confirm/",
    ],
)
def test_malformed_json_to_public_endpoints_is_400_with_json_body(url):
    response = APIClient().post(url, data="{not json", content_type="application/json")

    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert "detail" in response.json()


@pytest.mark.parametrize(
    "method, url",
    [
        ("post", USERS_URL),
        ("patch", ME_URL),
        ("post", "/api/users/me/password/"),
        ("post", "/api/auth/logout/"),
    ],
)
def test_malformed_json_to_authenticated_endpoints_is_400_with_json_body(staff_client, method, url):
    response = getattr(staff_client, method)(url, data='{"username": ', content_type="application/json")

    assert response.status_code == 400
    assert "detail" in response.json()


@pytest.mark.parametrize("url", [LOGIN_URL, "/api/auth/refresh/", "/api/auth/password-reset/"])
def test_deeply_nested_json_to_public_endpoints_is_400(url):
    response = APIClient().post(url, data=DEEPLY_NESTED, content_type="application/json")

    assert response.status_code == 400
    assert "detail" in response.json()


@pytest.mark.parametrize("method, url", [("post", USERS_URL), ("patch", ME_URL), ("post", "/api/auth/logout/")])
def test_deeply_nested_json_to_authenticated_endpoints_is_400(staff_client, method, url):
    response = getattr(staff_client, method)(url, data=DEEPLY_NESTED, content_type="application/json")

    assert response.status_code == 400
    assert "detail" in response.json()


def test_invalid_utf8_body_is_400():
    response = APIClient().post(LOGIN_URL, data=b"\xff\xfe{}", content_type="application/json")

    assert response.status_code == 400
    assert "detail" in response.json()


def test_nan_in_json_is_400(staff_client):
    body = '{"username": "n", "first_name": NaN}'

    response = staff_client.post(USERS_URL, data=body, content_type="application/json")

    assert response.status_code == 400


@pytest.mark.parametrize("body", ["[]", '"a string"', "42", "null", '[{"username": "x"}]'])
def test_non_object_json_to_login_is_400(body):
    response = APIClient().post(LOGIN_URL, data=body, content_type="application/json")

    assert response.status_code == 400
    assert isinstance(response.json(), dict)


@pytest.mark.parametrize("body", ["[]", '"a string"', "42", "null"])
def test_non_object_json_to_user_create_is_400(staff_client, body):
    response = staff_client.post(USERS_URL, data=body, content_type="application/json")

    assert response.status_code == 400
    assert isinstance(response.json(), dict)


@pytest.mark.parametrize("body", ["[]", '"a string"', "42", "null"])
def test_non_object_json_to_me_patch_is_400(staff_client, body):
    response = staff_client.patch(ME_URL, data=body, content_type="application/json")

    assert response.status_code == 400
    assert isinstance(response.json(), dict)


@pytest.mark.parametrize(
    "url",
    ["/api/auth/refresh/", "/api/auth/password-reset/", "/api/auth/password-reset/confirm/"],
)
@pytest.mark.parametrize("body", ["[]", "null"])
def test_non_object_json_to_token_and_reset_endpoints_is_400(url, body):
    response = APIClient().post(url, data=body, content_type="application/json")

    assert response.status_code == 400
    assert isinstance(response.json(), dict)


def test_form_encoded_body_is_415():
    response = APIClient().post(LOGIN_URL, {"username": "a", "password": "b"})

    assert response.status_code == 415
    assert "detail" in response.json()


# --- wrong types ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "field, value",
    [
        ("dob", "notadate"),
        ("dob", "2001-02-30"),
        ("user_type", 5),
        ("user_type", "wizard"),
        ("username", ["a", "list"]),
        ("username", {"an": "object"}),
        ("email", "not-an-email"),
        ("is_active", "sometimes"),
        ("gender", "unknown"),
        ("class_teacher", "abc"),
        ("class_teacher", 999_999_999),
        ("class_teacher", 10**30),
        ("class_teacher", -1),
        ("class_teacher", True),
        ("username", "not allowed!"),
        ("first_name", ["x"]),
    ],
)
def test_create_with_wrong_type_is_400_naming_the_field(staff_client, field, value):
    response = staff_client.post(USERS_URL, new_user_data(**{field: value}), format="json")

    assert response.status_code == 400
    assert field in response.json()
    assert not User.objects.filter(username="newcomer").exists()


def test_fractional_class_teacher_id_is_400_not_rounded(staff_client):
    teacher = UserFactory(user_type="teacher")

    response = staff_client.post(USERS_URL, new_user_data(class_teacher=teacher.pk + 0.5), format="json")

    assert response.status_code == 400
    assert "class_teacher" in response.json()


@pytest.mark.parametrize("url", [USERS_URL, LOGIN_URL])
def test_lone_surrogate_in_a_string_is_400_naming_the_field(staff_client, url):
    body = '{"username": "a\\ud800", "password": "x"}'

    response = staff_client.post(url, data=body, content_type="application/json")

    assert response.status_code == 400
    assert "username" in response.json()


def test_infinite_class_teacher_id_is_400(staff_client):
    body = '{"username": "newcomer", "class_teacher": 1e400}'

    response = staff_client.post(USERS_URL, data=body, content_type="application/json")

    assert response.status_code == 400
    assert "class_teacher" in response.json()


def test_class_teacher_id_as_a_string_is_accepted(staff_client):
    teacher = UserFactory(user_type="teacher")

    response = staff_client.post(USERS_URL, new_user_data(class_teacher=str(teacher.pk)), format="json")

    assert response.status_code == 201
    assert User.objects.get(username="newcomer").class_teacher == teacher


@pytest.mark.parametrize(
    "field, value", [("dob", "notadate"), ("email", 42.5), ("first_name", {"a": 1}), ("phone_no", ["1"])]
)
def test_me_patch_with_wrong_type_is_400_naming_the_field(staff_client, field, value):
    response = staff_client.patch(ME_URL, {field: value}, format="json")

    assert response.status_code == 400
    assert field in response.json()


@pytest.mark.parametrize("field, value", [("username", ["a"]), ("password", {"a": 1}), ("username", None)])
def test_login_with_wrong_type_is_400_naming_the_field(field, value):
    data = {"username": "someone", "password": "something", field: value}

    response = APIClient().post(LOGIN_URL, data, format="json")

    assert response.status_code == 400
    assert field in response.json()


def test_login_with_null_byte_is_400_naming_the_field():
    response = APIClient().post(LOGIN_URL, {"username": "a\x00b", "password": "x"}, format="json")

    assert response.status_code == 400
    assert "username" in response.json()


@pytest.mark.parametrize("value", [["a"], {"x": 1}])
def test_refresh_with_wrong_type_is_400_naming_the_field(value):
    response = APIClient().post("/api/auth/refresh/", {"refresh": value}, format="json")

    assert response.status_code == 400
    assert "refresh" in response.json()


def test_refresh_with_a_number_is_401():
    assert APIClient().post("/api/auth/refresh/", {"refresh": 12345}, format="json").status_code == 401


def test_reset_request_with_wrong_type_is_400_naming_the_field():
    response = APIClient().post("/api/auth/password-reset/", {"email": ["a@example.com"]}, format="json")

    assert response.status_code == 400
    assert "email" in response.json()


# --- huge input ----------------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["username", "first_name", "last_name", "email", "phone_no", "session", "password"])
def test_create_with_huge_string_is_400_naming_the_field(staff_client, field):
    response = staff_client.post(USERS_URL, new_user_data(**{field: HUGE}), format="json")

    assert response.status_code == 400
    assert field in response.json()


def test_me_patch_with_huge_string_is_400_naming_the_field(staff_client):
    response = staff_client.patch(ME_URL, {"first_name": HUGE}, format="json")

    assert response.status_code == 400
    assert "first_name" in response.json()


def test_login_with_huge_username_is_401(db):
    response = APIClient().post(LOGIN_URL, {"username": HUGE, "password": HUGE}, format="json")

    assert response.status_code == 401


@pytest.mark.parametrize("field", ["uid", "token", "new_password"])
def test_reset_confirm_with_huge_string_is_400_naming_the_field(field):
    data = {"uid": "MQ", "token": "x", "new_password": "Fresh-Quartz-Meadow-42", field: HUGE}

    response = APIClient().post("/api/auth/password-reset/confirm/", data, format="json")

    assert response.status_code == 400
    assert field in response.json()


def test_reset_request_with_huge_email_is_400():
    response = APIClient().post("/api/auth/password-reset/", {"email": f"{HUGE}@example.com"}, format="json")

    assert response.status_code == 400
    assert "email" in response.json()


@pytest.mark.parametrize("token", [HUGE, "a.b.c", "Bearer", "eyJhbGciOiJub25lIn0.e30."])
def test_refresh_with_garbage_of_any_size_is_401(token):
    assert APIClient().post("/api/auth/refresh/", {"refresh": token}, format="json").status_code == 401


def test_huge_bearer_token_is_401(bearer):
    assert bearer(HUGE).get(ME_URL).status_code == 401


@pytest.mark.parametrize(
    "params",
    [
        {"session": HUGE},
        {"ordering": HUGE},
        {"search": " ".join(["ab"] * 85)},
        {"page_size": "lots"},
        {"page_size": "-1"},
        {"ordering": "-"},
    ],
)
def test_list_with_odd_query_parameters_does_not_fail(staff_client, params):
    assert staff_client.get(USERS_URL, params).status_code == 200


@pytest.mark.parametrize("search", [HUGE, "y" * 257, "a\x00b"])
def test_list_with_unusable_search_is_400_naming_it(staff_client, search):
    response = staff_client.get(USERS_URL, {"search": search})

    assert response.status_code == 400
    assert "search" in response.json()


def test_list_accepts_a_search_at_the_length_limit(staff_client):
    assert staff_client.get(USERS_URL, {"search": "y" * 256}).status_code == 200


@pytest.mark.parametrize("params", [{"session": "a\x00b"}, {"user_type": HUGE}])
def test_list_with_unusable_filter_value_is_400_naming_it(staff_client, params):
    response = staff_client.get(USERS_URL, params)

    assert response.status_code == 400
    assert set(params) <= set(response.json())


@pytest.mark.parametrize("page", ["abc", "0", "-1", "99999999999999999999"])
def test_list_with_bad_page_is_404(staff_client, page):
    assert staff_client.get(USERS_URL, {"page": page}).status_code == 404


@pytest.mark.parametrize("pk", ["abc", "99999999999999999999999", "-1", "1.5"])
def test_detail_with_bad_id_is_404(staff_client, pk):
    assert staff_client.get(f"{USERS_URL}{pk}/").status_code == 404


@pytest.mark.parametrize("pk", ["abc", "99999999999999999999999"])
def test_patch_with_bad_id_is_404(staff_client, pk):
    assert staff_client.patch(f"{USERS_URL}{pk}/", {"first_name": "x"}, format="json").status_code == 404


@pytest.mark.parametrize("header", ["Bearer", "Bearer a b", "Basic dXNlcjpwYXNz", "Bearer \x00"])
def test_malformed_authorization_header_is_401(header):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)

    assert client.get(ME_URL).status_code == 401
