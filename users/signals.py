from django.db.models.signals import post_save
from django.dispatch import receiver

from pubsub.conf import user_sync_routes
from pubsub.outbox import outbox_enqueue_coalesced
from users.models import User
from users.sync_payload import LOCAL_ONLY_FIELDS, USER_CREATED, USER_UPDATED, user_message_body


@receiver(post_save, sender=User, dispatch_uid="users.enqueue_user_sync")
def enqueue_user_sync(sender, instance, created, raw=False, update_fields=None, using="default", **kwargs):
    """Write the user.created / user.updated outbox row in the save's own transaction."""
    if raw or getattr(instance, "_skip_sync_message", False):
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
