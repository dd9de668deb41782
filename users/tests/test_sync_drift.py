"""Drift detection: a sender's digest compared with what this deployment holds for it opens a
"Sync drift" row per differing id range and closes it once a digest matches; the sender side
publishes digests and starts the resyncs receivers ask for."""

import io
import json
import uuid

import pika
import pytest
from django.core.management import CommandError, call_command

from pubsub.models import QueuePublishHistory
from users.models import SyncDrift, SyncedUserLink, User, UserResyncJob
from users.services.drift import sync_digest_compare, sync_drift_request_resync
from users.sync_control import SYNC_DIGEST, SYNC_RESYNC_REQUESTED, DigestMessage
from users.sync_digest import held_users_digest, sent_users_digest
from users.sync_rules import APPLIED
from users.tests.factories import UserFactory
from users.tests.sync_messages import SOURCE, apply_in_a_batch, remote_message
from users.tests.test_sync_consumer import run_once

pytestmark = pytest.mark.django_db

RANGE = 10


@pytest.fixture
def mirrored():
    """Users 1..25 of SOURCE, as its messages made them here."""
    for source_id in range(1, 26):
        message = remote_message(source_id=source_id, version=source_id, username=f"north-{source_id}")
        assert apply_in_a_batch(message) == APPLIED
    return {link.source_id: link.user for link in SyncedUserLink.objects.filter(source=SOURCE)}


def digest_of_now(*, queue="to-b") -> DigestMessage:
    """What SOURCE would send, were its users what this deployment holds now."""
    return DigestMessage(
        uuid.uuid4(), SOURCE, RANGE, "to-north", held_users_digest(source=SOURCE, range_size=RANGE), queue
    )


def open_drift():
    return {
        (row.range_start, row.range_end, row.source_count, row.local_count)
        for row in SyncDrift.objects.filter(closed_at__isnull=True)
    }


def test_digest_of_what_is_held_finds_no_drift(mirrored):
    assert sync_digest_compare(digest=digest_of_now()) == (0, 0)
    assert not SyncDrift.objects.exists()


def test_hand_edit_opens_drift_of_its_range_only(mirrored):
    digest = digest_of_now()
    User.objects.filter(pk=mirrored[13].pk).update(first_name="Edited by hand")

    assert sync_digest_compare(digest=digest) == (1, 0)

    assert open_drift() == {(10, 19, 10, 10)}
    drift = SyncDrift.objects.get()
    assert (drift.source, drift.queue, drift.reply_queue) == (SOURCE, "to-b", "to-north")


def test_user_deleted_here_and_user_missing_there_open_drift(mirrored):
    digest = digest_of_now()
    mirrored[3].delete()
    apply_in_a_batch(remote_message(source_id=42, version=99, username="north-42"))

    sync_digest_compare(digest=digest)

    assert open_drift() == {(0, 9, 9, 8), (40, 49, 0, 1)}


def test_matching_digest_closes_open_drift(mirrored):
    User.objects.filter(pk=mirrored[13].pk).update(first_name="Edited by hand")
    stale = DigestMessage(uuid.uuid4(), SOURCE, RANGE, "to-north", [], "to-b")
    sync_digest_compare(digest=stale)
    assert len(open_drift()) == 3

    assert sync_digest_compare(digest=digest_of_now()) == (0, 3)

    assert open_drift() == set()
    assert SyncDrift.objects.filter(closed_at__isnull=False).count() == 3


def test_still_drifted_range_keeps_one_row_and_its_start(mirrored):
    digest = digest_of_now()
    User.objects.filter(pk=mirrored[13].pk).update(first_name="Edited by hand")
    sync_digest_compare(digest=digest)
    detected_at = SyncDrift.objects.get().detected_at

    sync_digest_compare(digest=digest)

    assert SyncDrift.objects.get().detected_at == detected_at


def test_sender_digest_counts_every_user_by_range():
    users = UserFactory.create_batch(3)

    digest = sent_users_digest(range_size=1_000_000)

    assert [(item.start, item.count) for item in digest] == [(0, User.objects.count())]
    assert len({item.hash for item in sent_users_digest(range_size=1)}) == len(users)


def publish(rabbit, body: dict, message_type: str):
    rabbit.declare()
    channel = rabbit.channel()
    channel.confirm_delivery()
    channel.basic_publish(
        rabbit.route.exchange,
        rabbit.route.queue,
        json.dumps(body).encode(),
        pika.BasicProperties(message_id=str(uuid.uuid4()), type=message_type, headers={"x-outbox-id": 1}),
    )


def test_consumer_records_drift_from_a_digest_message(mirrored, rabbit):
    digest = digest_of_now()
    mirrored[21].delete()
    body = {
        "type": SYNC_DIGEST,
        "source": SOURCE,
        "range_size": RANGE,
        "reply_queue": "to-north",
        "ranges": [item.as_json() for item in digest.ranges],
    }
    publish(rabbit, body, SYNC_DIGEST)

    consumer = run_once()

    assert (consumer.processed, consumer.failed) == (1, 0)
    assert open_drift() == {(20, 29, 6, 5)}
    assert SyncDrift.objects.get().queue == rabbit.route.queue


@pytest.mark.parametrize(
    "body",
    [
        {"type": SYNC_DIGEST, "source": SOURCE, "range_size": 0, "reply_queue": "q", "ranges": []},
        {"type": SYNC_DIGEST, "source": SOURCE, "range_size": 10, "reply_queue": "q", "ranges": [{"start": 3}]},
        {"type": SYNC_RESYNC_REQUESTED, "source": "b", "target": "a", "queue": "q", "ranges": [[9, 2]]},
        {"type": SYNC_RESYNC_REQUESTED, "source": "b", "target": "a", "ranges": []},
    ],
)
def test_malformed_drift_messages_are_rejected_to_the_dead_letter_queue(rabbit, body):
    publish(rabbit, body, body["type"])

    consumer = run_once()

    assert consumer.failed == 1
    assert not SyncDrift.objects.exists()
    assert not UserResyncJob.objects.exists()


def test_consumer_starts_the_resync_a_receiver_asks_for(rabbit, settings):
    UserFactory.create_batch(2)
    body = {
        "type": SYNC_RESYNC_REQUESTED,
        "source": "campus-south",
        "target": settings.DEPLOYMENT_NAME,
        "queue": settings.USER_SYNC_QUEUES[0],
        "ranges": [[0, 999]],
    }
    publish(rabbit, body, SYNC_RESYNC_REQUESTED)

    run_once()

    job = UserResyncJob.objects.get()
    assert (job.scope, job.ids, job.requested_for, job.queue) == (
        UserResyncJob.Scope.RANGES,
        [[0, 999]],
        "campus-south",
        settings.USER_SYNC_QUEUES[0],
    )


@pytest.mark.parametrize("change", [{"target": "someone-else"}, {"queue": "not-ours"}])
def test_resync_requests_for_another_deployment_or_queue_start_nothing(rabbit, settings, change):
    body = {
        "type": SYNC_RESYNC_REQUESTED,
        "source": "campus-south",
        "target": settings.DEPLOYMENT_NAME,
        "queue": settings.USER_SYNC_QUEUES[0],
        "ranges": [[0, 999]],
    } | change
    publish(rabbit, body, SYNC_RESYNC_REQUESTED)

    assert run_once().failed == 0
    assert not UserResyncJob.objects.exists()


def test_request_resync_sends_the_ranges_to_the_source_queue(mirrored, settings):
    User.objects.filter(pk=mirrored[13].pk).update(first_name="x")
    User.objects.filter(pk=mirrored[2].pk).update(first_name="y")
    sync_digest_compare(digest=DigestMessage(uuid.uuid4(), SOURCE, RANGE, "to-north", [], "to-b"))
    drifts = list(SyncDrift.objects.filter(range_start__in=[0, 10]))

    assert sync_drift_request_resync(drifts=drifts, requested_by=None) == 2

    row = QueuePublishHistory.objects.get(message_type=SYNC_RESYNC_REQUESTED)
    assert row.queue_name == "to-north"
    assert row.message_body_json == {
        "type": SYNC_RESYNC_REQUESTED,
        "source": settings.DEPLOYMENT_NAME,
        "target": SOURCE,
        "queue": "to-b",
        "ranges": [[0, 9], [10, 19]],
    }
    assert SyncDrift.objects.filter(resync_requested_at__isnull=False).count() == 2


def test_digest_publish_command_enqueues_the_digest(settings):
    UserFactory.create_batch(2)
    out = io.StringIO()

    call_command("sync_digest_publish", "--queue", settings.USER_SYNC_QUEUES[0], stdout=out)

    row = QueuePublishHistory.objects.get(message_type=SYNC_DIGEST)
    body = row.message_body_json
    assert (body["source"], body["range_size"], body["reply_queue"]) == (
        settings.DEPLOYMENT_NAME,
        settings.USER_SYNC_DIGEST_RANGE_SIZE,
        settings.USER_SYNC_REPLY_QUEUE,
    )
    assert sum(item["count"] for item in body["ranges"]) == User.objects.count()
    assert f"digest of {User.objects.count()} users" in out.getvalue()


def test_digest_publish_command_refuses_a_queue_it_does_not_send_to():
    with pytest.raises(CommandError, match="is not one of this deployment's user sync queues"):
        call_command("sync_digest_publish", "--queue", "nowhere", stdout=io.StringIO())
