"""A message whose statement the database refuses (the driver calls it an OperationalError, as it
does an outage) is rejected on its own while the database answers: no crash loop, nothing else lost."""

import pytest
from django.db import OperationalError

from users.models import User
from users.sync_consumer import UserSyncConsumer
from users.tests.test_sync_consumer import Sender, dead_letters, user_body

pytestmark = [pytest.mark.django_db, pytest.mark.rabbitmq]


class _RefusedForOneUsername(UserSyncConsumer):
    """The real consumer, with the server refusing whatever batch holds one username."""

    def handle_batch(self, deliveries):
        if any(b"remote.refused" in delivery.body for delivery in deliveries):
            raise OperationalError(1366, "Incorrect string value for column 'first_name'")
        return super().handle_batch(deliveries)


def test_a_refused_statement_rejects_only_its_message_and_the_rest_apply(rabbit):
    sender = Sender(rabbit)
    sender.send(user_body("remote.before"))
    sender.send(user_body("remote.refused"))
    sender.send(user_body("remote.after"))

    consumer = _RefusedForOneUsername(once=True)
    consumer.run()

    assert set(User.objects.values_list("username", flat=True)) == {"remote.before", "remote.after"}
    assert consumer.failed == 1
    assert dead_letters(rabbit, 1) == 1
