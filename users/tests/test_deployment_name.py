"""A deployment left on the default DEPLOYMENT_NAME would take other deployments' messages for its
own: the sync consumer refuses to start, and the messages it skips as its own are counted."""

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command
from prometheus_client.parser import text_string_to_metric_families

from users.models import User
from users.sync_consumer import UserSyncConsumer
from users.tests.test_sync_consumer import PASSWORD, Sender, run_once, user_body

pytestmark = pytest.mark.django_db


@pytest.fixture
def sender(rabbit):
    return Sender(rabbit)


def test_consumer_refuses_to_start_with_the_default_deployment_name(settings):
    settings.DEPLOYMENT_NAME = settings.DEPLOYMENT_NAME_DEFAULT
    with pytest.raises(ImproperlyConfigured, match="set DEPLOYMENT_NAME"):
        UserSyncConsumer(once=True)


def test_consumer_command_says_what_to_set_when_the_name_is_the_default(settings):
    settings.DEPLOYMENT_NAME = settings.DEPLOYMENT_NAME_DEFAULT
    with pytest.raises(CommandError, match="DEPLOYMENT_NAME is the default 'ops-console'"):
        call_command("user_sync_consumer", "--once")


def own_skipped_total(client) -> float:
    families = text_string_to_metric_families(client.get("/metrics").content.decode())
    return next(
        sample.value
        for family in families
        for sample in family.samples
        if sample.name == "opsconsole_sync_own_messages_skipped_total"
    )


def test_skipped_own_messages_are_counted_in_metrics(settings, rabbit, sender, client):
    User.objects.create_user(username="local-alice", password=PASSWORD)
    assert own_skipped_total(client) == 0
    sender.send(user_body("local-alice") | {"source": settings.DEPLOYMENT_NAME})
    sender.send(user_body("local-bob") | {"source": settings.DEPLOYMENT_NAME})

    run_once()

    assert own_skipped_total(client) == 2
