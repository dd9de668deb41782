"""user_sync_consumer loses its database connection just as a batch commits: MariaDB applied it,
the consumer cannot know, so it leaves the deliveries unacked; they come back and B's inbox turns
them into no-ops. The effect stays exactly once."""

import pytest

from tests.support.daemons import run_command, wait_until
from tests.support.deployments import MYSQL_COMMIT
from tests.support.tcp_proxy import UPSTREAM
from tests.support.user_sync import assert_applied_exactly_once, inbox_count, users_created_and_updated

pytestmark = [pytest.mark.mariadb, pytest.mark.rabbitmq, pytest.mark.django_db(transaction=True)]

USERS = 60


def test_consumer_connection_lost_as_a_batch_commits_applies_each_message_exactly_once(
    deployment_a, deployment_b, rabbit, broker_proxy, broker_tap, database_proxy, daemons, figures
):
    users, message_ids = users_created_and_updated(deployment=deployment_a, route=rabbit.route, count=USERS)
    # the consumer's only explicit transactions are its batches: the first COMMIT is one of them
    fired = database_proxy.cut_after(UPSTREAM, MYSQL_COMMIT)
    consumer = daemons.start(
        "user_sync_consumer",
        env=deployment_b.env(
            DATABASE_URL=database_proxy.via(deployment_b.database_url),
            RABBITMQ_URL=broker_proxy.via(rabbit.url),
            USER_SYNC_PREFETCH=10,
        ),
    )
    assert fired.wait(30), "the consumer committed no batch through the proxy"

    def applied() -> int:
        return inbox_count(deployment_b, source=deployment_a.name)

    wait_until(
        lambda: applied() == len(message_ids),
        timeout=60,
        watch=[consumer],
        message=lambda: f"{len(message_ids)} messages in B's inbox (have {applied()})",
    )
    assert consumer.stop() == 0, consumer.output()
    run_command("user_sync_consumer", "--once", env=deployment_b.env())

    figures("messages delivered more than once", broker_tap.delivered_more_than_once)
    assert "database unavailable" in consumer.output()
    assert broker_tap.delivered_more_than_once, "the batch committed at the cut was not redelivered"
    assert_applied_exactly_once(deployment_b, source=deployment_a.name, users=users, message_ids=message_ids)
