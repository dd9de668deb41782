"""The user-sync outbox signal: every save of a user writes its message for other deployments,
unless it is made inside `sync_messages_suppressed()`."""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.db.models.signals import post_save
from django.dispatch import receiver

from pubsub.conf import user_sync_routes
from pubsub.outbox import outbox_enqueue_coalesced
from users.models import User
from users.sync_payload import LOCAL_ONLY_FIELDS, USER_CREATED, USER_UPDATED, user_message_body

# set only by sync_messages_suppressed(); a context variable, so it holds for this thread's (or
# task's) work inside the block and nothing else
_messages_suppressed: ContextVar[bool] = ContextVar("user_sync_messages_suppressed", default=False)


@contextmanager
def sync_messages_suppressed() -> Iterator[None]:
    """Saves of users inside the block send no message: the sync consumer applies changes that
    came from another deployment, and sending them back out would echo them."""
    token = _messages_suppressed.set(True)
    try:
        yield
    finally:
        _messages_suppressed.reset(token)


@receiver(post_save, sender=User, dispatch_uid="users.enqueue_user_sync")
def enqueue_user_sync(sender, instance, created, raw=False, update_fields=None, using="default", **kwargs):
    """Write the user.created / user.updated outbox row in the save's own transaction."""
    if raw or _messages_suppressed.get():
        return
    if update_fields is not None and set(update_fields) <= LOCAL_ONLY_FIELDS:
        return
    for route in user_sync_routes():
        outbox_enqueue_coalesced(
            key=f"user:{instance.pk}",
            route=route,
            build_body=lambda message_type: user_message_body(user=instance, message_type=message_type),
            message_type=USER_CREATED if created else USER_UPDATED,
            using=using,
        )
