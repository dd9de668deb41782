import pytest
from django.contrib.auth.models import Permission
from rest_framework.test import APIClient

from users.models import User
from users.tests.factories import DEFAULT_PASSWORD, StaffUserFactory, SuperuserFactory, UserFactory

pytestmark = pytest.mark.django_db

USERS_URL = "/api/users/"
ME_URL = "/api/users/me/"


def detail_url(user):
    return f"{USERS_URL}{user.pk}/"


def usernames(response):
    return [row["username"] for row in response.json()["results"]]


def new_user_data(**overrides):
    return {"username": "newcomer", "email": "newcomer@example.com", "password": DEFAULT_PASSWORD, **overrides}


# --- who may use it ------------------------------------------------------------------------------


def test_list_is_401_for_anonymous(api_client):
    assert api_client.get(USERS_URL).status_code == 401


@pytest.mark.parametrize("user_type", ["student", "teacher"])
def test_list_is_403_for_non_manager(client_for, user_type):
    assert client_for(UserFactory(user_type=user_type)).get(USERS_URL).status_code == 403


def test_list_is_200_for_staff(staff_client):
    assert staff_client.get(USERS_URL).status_code == 200


def test_list_is_200_for_admin_user_type(client_for, admin_type_user):
    assert client_for(admin_type_user).get(USERS_URL).status_code == 200


def test_create_is_403_for_non_manager(client_for, student):
    response = client_for(student).post(USERS_URL, new_user_data(), format="json")

    assert response.status_code == 403
    assert not User.objects.filter(username="newcomer").exists()


def test_retrieve_is_403_for_non_manager(client_for, student):
    other = UserFactory()

    assert client_for(student).get(detail_url(other)).status_code == 403


def test_patch_is_403_for_non_manager(client_for, student):
    other = UserFactory(first_name="Before")

    response = client_for(student).patch(detail_url(other), {"first_name": "After"}, format="json")

    assert response.status_code == 403
    other.refresh_from_db()
    assert other.first_name == "Before"


def test_delete_is_403_for_non_manager(client_for, student):
    other = UserFactory()

    assert client_for(student).delete(detail_url(other)).status_code == 403
    other.refresh_from_db()
    assert not other.is_deleted


# --- list: pagination, filters, search, ordering -------------------------------------------------


def test_list_is_paginated(staff_client):
    UserFactory.create_batch(3)

    body = staff_client.get(USERS_URL, {"page_size": 2}).json()

    assert set(body) == {"count", "next", "previous", "results"}
    assert body["count"] == 4  # three users plus the staff caller
    assert len(body["results"]) == 2
    assert body["next"] is not None
    assert body["previous"] is None


def test_list_second_page_links_back(staff_client):
    UserFactory.create_batch(3)

    body = staff_client.get(USERS_URL, {"page_size": 2, "page": 2}).json()

    assert len(body["results"]) == 2
    assert body["next"] is None
    assert body["previous"] is not None


def test_list_rows_carry_the_user_representation(staff_client, staff_user):
    row = staff_client.get(USERS_URL).json()["results"][0]

    for key in (
        "id",
        "username",
        "user_code",
        "first_name",
        "last_name",
        "email",
        "user_type",
        "is_active",
        "is_staff",
        "is_superuser",
    ):
        assert key in row
    assert "password" not in row
    assert row["user_code"] == staff_user.user_code


def test_list_filters_by_user_type(staff_client):
    teacher = UserFactory(user_type="teacher")
    UserFactory(user_type="student")

    assert usernames(staff_client.get(USERS_URL, {"user_type": "teacher"})) == [teacher.username]


@pytest.mark.parametrize("value", ["false", "False", "0"])
def test_list_filters_by_is_active_false(staff_client, value):
    inactive = UserFactory(is_active=False)

    assert usernames(staff_client.get(USERS_URL, {"is_active": value})) == [inactive.username]


def test_list_filters_by_is_active_true(staff_client, staff_user):
    UserFactory(is_active=False)

    assert usernames(staff_client.get(USERS_URL, {"is_active": "true"})) == [staff_user.username]


@pytest.mark.parametrize("field", ["session", "semester", "stream", "course"])
def test_list_filters_by_class_field(staff_client, field):
    match = UserFactory(**{field: "wanted"})
    UserFactory(**{field: "other"})

    assert usernames(staff_client.get(USERS_URL, {field: "wanted"})) == [match.username]


def test_list_searches_names_and_email(staff_client):
    match = UserFactory(first_name="Zebedee")
    UserFactory(first_name="Alice")

    assert usernames(staff_client.get(USERS_URL, {"search": "zebed"})) == [match.username]


def test_list_searches_user_code(staff_client):
    match = UserFactory()
    UserFactory()

    assert usernames(staff_client.get(USERS_URL, {"search": match.user_code})) == [match.username]


def test_list_orders_by_requested_field(staff_client, staff_user):
    UserFactory(username="aaa")
    UserFactory(username="zzz")

    names = usernames(staff_client.get(USERS_URL, {"ordering": "-username"}))

    assert names == sorted(["aaa", "zzz", staff_user.username], reverse=True)


def test_list_defaults_to_id_order(staff_client, staff_user):
    later = UserFactory(username="aaa")

    assert usernames(staff_client.get(USERS_URL)) == [staff_user.username, later.username]


def test_list_ignores_ordering_by_a_field_not_offered(staff_client, staff_user):
    UserFactory(username="aaa")

    response = staff_client.get(USERS_URL, {"ordering": "password"})

    assert response.status_code == 200
    assert usernames(response)[0] == staff_user.username


@pytest.mark.parametrize(
    "params, field",
    [({"user_type": "wizard"}, "user_type"), ({"is_active": "maybe"}, "is_active")],
)
def test_list_with_invalid_filter_value_is_400(staff_client, params, field):
    response = staff_client.get(USERS_URL, params)

    assert response.status_code == 400
    assert field in response.json()


def test_list_page_out_of_range_is_404(staff_client):
    assert staff_client.get(USERS_URL, {"page": 99}).status_code == 404


# --- create --------------------------------------------------------------------------------------


def test_create_returns_201_with_a_user_code(staff_client):
    response = staff_client.post(USERS_URL, new_user_data(user_type="teacher"), format="json")

    assert response.status_code == 201
    body = response.json()
    assert body["user_code"].startswith("UC")
    assert body["user_type"] == "teacher"
    assert "password" not in body
    assert User.objects.get(pk=body["id"]).user_code == body["user_code"]


def test_create_stores_a_usable_hashed_password(staff_client):
    staff_client.post(USERS_URL, new_user_data(), format="json")

    user = User.objects.get(username="newcomer")
    assert user.password != DEFAULT_PASSWORD
    assert user.check_password(DEFAULT_PASSWORD)


def test_created_user_can_log_in(staff_client, api_client):
    staff_client.post(USERS_URL, new_user_data(), format="json")

    response = api_client.post(
        "/api/auth/login/", {"username": "newcomer", "password": DEFAULT_PASSWORD}, format="json"
    )

    assert response.status_code == 200


def test_create_records_who_registered_the_user(staff_client, staff_user):
    staff_client.post(USERS_URL, new_user_data(), format="json")

    assert User.objects.get(username="newcomer").registered_by == staff_user


def test_create_by_admin_user_type_is_201(client_for, admin_type_user):
    response = client_for(admin_type_user).post(USERS_URL, new_user_data(), format="json")

    assert response.status_code == 201


@pytest.mark.parametrize("weak", ["short", "12345678901", "password123", "newcomer1"])
def test_create_with_weak_password_is_400_naming_password(staff_client, weak):
    response = staff_client.post(USERS_URL, new_user_data(password=weak), format="json")

    assert response.status_code == 400
    assert "password" in response.json()
    assert not User.objects.filter(username="newcomer").exists()


def test_create_with_duplicate_username_is_400(staff_client, student):
    response = staff_client.post(USERS_URL, new_user_data(username=student.username), format="json")

    assert response.status_code == 400
    assert "username" in response.json()


def test_username_of_a_soft_deleted_user_stays_taken(staff_client, student):
    staff_client.delete(detail_url(student))

    response = staff_client.post(USERS_URL, new_user_data(username=student.username), format="json")

    assert response.status_code == 400
    assert "username" in response.json()


def test_create_ignores_a_client_chosen_user_code(staff_client):
    response = staff_client.post(USERS_URL, new_user_data(user_code="HACKED"), format="json")

    assert response.status_code == 201
    assert response.json()["user_code"] != "HACKED"
    assert User.objects.get(username="newcomer").user_code.startswith("UC")


def test_create_without_username_is_400_naming_it(staff_client):
    data = new_user_data()
    del data["username"]

    response = staff_client.post(USERS_URL, data, format="json")

    assert response.status_code == 400
    assert "username" in response.json()


def test_create_by_non_superuser_ignores_privilege_flags(staff_client):
    response = staff_client.post(USERS_URL, new_user_data(is_staff=True, is_superuser=True), format="json")

    assert response.status_code == 201
    user = User.objects.get(username="newcomer")
    assert not user.is_staff
    assert not user.is_superuser


def test_create_by_superuser_sets_privilege_flags(superuser_client):
    response = superuser_client.post(USERS_URL, new_user_data(is_staff=True, is_superuser=True), format="json")

    assert response.status_code == 201
    user = User.objects.get(username="newcomer")
    assert user.is_staff
    assert user.is_superuser


# --- retrieve and update -------------------------------------------------------------------------


def test_retrieve_returns_the_user(staff_client, student):
    response = staff_client.get(detail_url(student))

    assert response.status_code == 200
    assert response.json()["username"] == student.username
    assert response.json()["user_code"] == student.user_code


def test_retrieve_unknown_user_is_404(staff_client):
    assert staff_client.get(f"{USERS_URL}999999/").status_code == 404


def test_patch_updates_fields(staff_client, student):
    response = staff_client.patch(detail_url(student), {"first_name": "Renamed", "course": "physics"}, format="json")

    assert response.status_code == 200
    student.refresh_from_db()
    assert (student.first_name, student.course) == ("Renamed", "physics")


def test_patch_to_a_taken_username_is_400(staff_client, student):
    other = UserFactory()

    response = staff_client.patch(detail_url(student), {"username": other.username}, format="json")

    assert response.status_code == 400
    assert "username" in response.json()


def test_patch_cannot_change_the_user_code(staff_client, student):
    code = student.user_code

    staff_client.patch(detail_url(student), {"user_code": "UC9999"}, format="json")

    student.refresh_from_db()
    assert student.user_code == code


def test_patch_can_deactivate_a_user(staff_client, student, client_for):
    victim = client_for(student)

    response = staff_client.patch(detail_url(student), {"is_active": False}, format="json")

    assert response.status_code == 200
    assert victim.get(ME_URL).status_code == 401


def test_patch_records_who_updated(staff_client, staff_user, student):
    staff_client.patch(detail_url(student), {"first_name": "Renamed"}, format="json")

    student.refresh_from_db()
    assert student.updated_by == staff_user


def test_patch_cannot_set_password(staff_client, student):
    response = staff_client.patch(detail_url(student), {"password": "An0ther-Strong-One"}, format="json")

    assert response.status_code == 400
    assert "password" in response.json()
    student.refresh_from_db()
    assert student.check_password(DEFAULT_PASSWORD)


def test_patch_by_non_superuser_ignores_privilege_flags(staff_client, student):
    response = staff_client.patch(detail_url(student), {"is_staff": True, "is_superuser": True}, format="json")

    assert response.status_code == 200
    student.refresh_from_db()
    assert not student.is_staff
    assert not student.is_superuser


def test_patch_by_admin_user_type_cannot_make_itself_staff(client_for, admin_type_user):
    response = client_for(admin_type_user).patch(detail_url(admin_type_user), {"is_staff": True}, format="json")

    assert response.status_code == 200
    admin_type_user.refresh_from_db()
    assert not admin_type_user.is_staff


def test_patch_by_superuser_sets_privilege_flags(superuser_client, student):
    response = superuser_client.patch(detail_url(student), {"is_staff": True, "is_superuser": True}, format="json")

    assert response.status_code == 200
    student.refresh_from_db()
    assert student.is_staff
    assert student.is_superuser


def test_non_superuser_cannot_patch_a_superuser(staff_client):
    target = SuperuserFactory(first_name="Before")

    response = staff_client.patch(detail_url(target), {"first_name": "After"}, format="json")

    assert response.status_code == 403
    target.refresh_from_db()
    assert target.first_name == "Before"


def test_non_superuser_cannot_delete_a_superuser(staff_client):
    target = SuperuserFactory()

    assert staff_client.delete(detail_url(target)).status_code == 403
    target.refresh_from_db()
    assert not target.is_deleted


def test_non_superuser_can_still_read_a_superuser(staff_client):
    assert staff_client.get(detail_url(SuperuserFactory())).status_code == 200


def test_superuser_can_patch_another_superuser(superuser_client):
    target = SuperuserFactory()

    response = superuser_client.patch(detail_url(target), {"first_name": "After"}, format="json")

    assert response.status_code == 200


def test_put_is_not_allowed(staff_client, student):
    response = staff_client.put(detail_url(student), {"username": student.username}, format="json")

    assert response.status_code == 405


# --- soft delete ---------------------------------------------------------------------------------


def test_delete_answers_204(staff_client, student):
    assert staff_client.delete(detail_url(student)).status_code == 204


def test_delete_keeps_the_row_marked_deleted(staff_client, staff_user, student):
    staff_client.delete(detail_url(student))

    student.refresh_from_db()
    assert student.is_deleted
    assert student.deleted_at is not None
    assert student.deleted_by == staff_user
    assert not student.is_active


def test_delete_revokes_the_users_access_token(staff_client, client_for, student):
    victim = client_for(student)

    staff_client.delete(detail_url(student))

    assert victim.get(ME_URL).status_code == 401


def test_delete_revokes_the_users_refresh_token(staff_client, client_for, student):
    victim = client_for(student)

    staff_client.delete(detail_url(student))

    response = APIClient().post("/api/auth/refresh/", {"refresh": victim.tokens["refresh"]}, format="json")
    assert response.status_code == 401


def test_deleted_user_disappears_from_the_list(staff_client, student):
    staff_client.delete(detail_url(student))

    assert student.username not in usernames(staff_client.get(USERS_URL))


def test_retrieve_of_a_deleted_user_is_404(staff_client, student):
    staff_client.delete(detail_url(student))

    assert staff_client.get(detail_url(student)).status_code == 404


def test_delete_of_a_deleted_user_is_404(staff_client, student):
    staff_client.delete(detail_url(student))

    assert staff_client.delete(detail_url(student)).status_code == 404


def test_deleting_oneself_is_400(staff_client, staff_user):
    response = staff_client.delete(detail_url(staff_user))

    assert response.status_code == 400
    staff_user.refresh_from_db()
    assert not staff_user.is_deleted


def test_deleted_user_cannot_be_chosen_as_class_teacher(staff_client, student):
    teacher = UserFactory(user_type="teacher")
    staff_client.delete(detail_url(teacher))

    response = staff_client.patch(detail_url(student), {"class_teacher": teacher.pk}, format="json")

    assert response.status_code == 400
    assert "class_teacher" in response.json()


def test_staff_can_delete_another_staff_member(staff_client):
    other_staff = StaffUserFactory()

    assert staff_client.delete(detail_url(other_staff)).status_code == 204


def test_staff_without_the_users_permissions_cannot_use_the_users_api(client_for):
    client = client_for(StaffUserFactory())

    assert client.get(USERS_URL).status_code == 403
    assert client.post(USERS_URL, new_user_data(), format="json").status_code == 403


def test_staff_who_may_only_view_users_read_but_cannot_change_them(client_for, student):
    viewer = StaffUserFactory()
    viewer.user_permissions.add(Permission.objects.get(content_type__app_label="users", codename="view_user"))
    client = client_for(viewer)

    assert client.get(USERS_URL).status_code == 200
    assert client.patch(f"{USERS_URL}{student.pk}/", {"first_name": "X"}, format="json").status_code == 403
    assert client.delete(f"{USERS_URL}{student.pk}/").status_code == 403
    assert client.post(USERS_URL, new_user_data(), format="json").status_code == 403
