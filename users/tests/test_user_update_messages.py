"""A PATCH sends other deployments a message only when it changes the user.

Each request commits on its own (a transactional test): inside one test transaction the outbox would
fold every save into the row the user's creation wrote."""

import pytest

from pubsub.models import QueuePublishHistory
from users.models import User
from users.sync_payload import USER_UPDATED
from users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def detail_url(user):
    return f"/api/users/{user.pk}/"


def test_a_patch_with_unchanged_values_sends_no_message_and_saves_nothing(staff_client):
    user = UserFactory(first_name="Ada", last_name="Lovelace", session="2024")
    stored = User.objects.values("updated_at", "updated_by").get(pk=user.pk)
    outbox_before = QueuePublishHistory.objects.count()

    response = staff_client.patch(
        detail_url(user), {"first_name": "Ada", "last_name": "Lovelace", "session": "2024"}, format="json"
    )

    assert response.status_code == 200
    assert QueuePublishHistory.objects.count() == outbox_before
    assert User.objects.values("updated_at", "updated_by").get(pk=user.pk) == stored


def test_a_patch_that_changes_a_value_sends_exactly_one_message(staff_client):
    user = UserFactory(first_name="Ada", last_name="Lovelace")
    outbox_before = set(QueuePublishHistory.objects.values_list("pk", flat=True))

    response = staff_client.patch(detail_url(user), {"first_name": "Augusta", "last_name": "Lovelace"}, format="json")

    assert response.status_code == 200
    [row] = QueuePublishHistory.objects.exclude(pk__in=outbox_before)
    assert row.message_type == USER_UPDATED
    assert row.message_body_json["user"]["first_name"] == "Augusta"
    user.refresh_from_db()
    assert user.first_name == "Augusta"
    assert user.updated_by.username == response.wsgi_request.user.username


def test_a_patch_of_ones_own_profile_with_unchanged_values_sends_no_message(client_for):
    user = UserFactory(first_name="Ada")
    client = client_for(user)
    outbox_before = QueuePublishHistory.objects.count()

    response = client.patch("/api/users/me/", {"first_name": "Ada", "email": user.email}, format="json")

    assert response.status_code == 200
    assert QueuePublishHistory.objects.count() == outbox_before
