"""What a user message carries to other deployments: an allow-list, never a plaintext password."""

from django.conf import settings
from django.utils import timezone

from users.models import ACADEMIC_FIELDS, NAME_FIELDS, PERSONAL_FIELDS

USER_CREATED = "user.created"
USER_UPDATED = "user.updated"
# a resync's "make it so": the user's whole state, applied whether the receiver has the user or not
USER_SNAPSHOT = "user.snapshot"
USER_MESSAGE_TYPES = (USER_CREATED, USER_UPDATED, USER_SNAPSHOT)

# fields copied as they are; the password travels as its hash so users can log in over there
SYNCED_FIELDS = (
    "username",
    "user_code",
    "email",
    *NAME_FIELDS,
    "user_type",
    *PERSONAL_FIELDS,
    *ACADEMIC_FIELDS,
    "profile_img",
    "is_active",
    "is_deleted",
    "deleted_at",
    "date_joined",
    "registered_on",
    "updated_at",
    "password",
)
# only applied by a receiver that opts in (USER_SYNC_ACCEPT_PRIVILEGES)
PRIVILEGE_FIELDS = ("is_staff", "is_superuser")
# every key a receiver reads from "user"; anything else in it is ignored (and not kept with a conflict)
KNOWN_USER_KEYS = frozenset(SYNCED_FIELDS + PRIVILEGE_FIELDS + ("class_teacher_username",))
# saves that touch only these are not a change other deployments need to hear about
LOCAL_ONLY_FIELDS = frozenset({"last_login", "token_generation"})


def user_message_body(*, user, message_type: str) -> dict:
    data = {field: getattr(user, field) for field in SYNCED_FIELDS + PRIVILEGE_FIELDS}
    data["class_teacher_username"] = user.class_teacher.username if user.class_teacher_id else None
    return {
        "type": message_type,
        "source": settings.DEPLOYMENT_NAME,
        "source_id": user.pk,
        "occurred_at": timezone.now(),
        "user": data,
    }
