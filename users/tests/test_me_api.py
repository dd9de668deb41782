import pytest

from users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

ME_URL = "/api/users/me/"


def test_me_returns_own_profile(client_for, student):
    response = client_for(student).get(ME_URL)

    assert response.status_code == 200
    body = response.json()
    assert body["id"] == student.id
    assert body["username"] == student.username
    assert body["user_code"] == student.user_code
    assert "password" not in body


def test_me_is_available_to_non_managers(client_for):
    teacher = UserFactory(user_type="teacher")

    assert client_for(teacher).get(ME_URL).json()["user_type"] == "teacher"


def test_me_requires_authentication(api_client):
    assert api_client.get(ME_URL).status_code == 401


def test_me_patch_updates_personal_fields(client_for, student):
    response = client_for(student).patch(
        ME_URL, {"first_name": "Newname", "phone_no": "+44 1234", "dob": "2001-02-03"}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["first_name"] == "Newname"
    student.refresh_from_db()
    assert (student.first_name, student.phone_no, str(student.dob)) == ("Newname", "+44 1234", "2001-02-03")


def test_me_patch_records_the_user_as_updater(client_for, student):
    client_for(student).patch(ME_URL, {"first_name": "Newname"}, format="json")

    student.refresh_from_db()
    assert student.updated_by == student


@pytest.mark.parametrize(
    "field, value",
    [("user_type", "admin"), ("is_staff", True), ("is_superuser", True), ("is_active", False)],
)
def test_me_patch_ignores_privilege_fields(client_for, student, field, value):
    before = getattr(student, field)

    response = client_for(student).patch(ME_URL, {field: value, "first_name": "Changed"}, format="json")

    assert response.status_code == 200
    student.refresh_from_db()
    assert getattr(student, field) == before
    assert student.first_name == "Changed"


@pytest.mark.parametrize("field", ["username", "class_teacher", "session", "course"])
def test_me_patch_ignores_fields_only_managers_set(client_for, student, field):
    value = UserFactory(user_type="teacher").pk if field == "class_teacher" else "changed"
    before = getattr(student, field)

    client_for(student).patch(ME_URL, {field: value}, format="json")

    student.refresh_from_db()
    assert getattr(student, field) == before


def test_me_patch_with_invalid_email_is_400_naming_it(client_for, student):
    response = client_for(student).patch(ME_URL, {"email": "not-an-email"}, format="json")

    assert response.status_code == 400
    assert "email" in response.json()


def test_me_patch_requires_authentication(api_client):
    assert api_client.patch(ME_URL, {"first_name": "x"}, format="json").status_code == 401
