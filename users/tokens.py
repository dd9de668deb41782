"""JWT issuing and the per-user revocation marker (the `gen` claim).

Every token carries the user's `token_generation` at issue time. Revoking bumps the counter, so
every older token, access tokens included, stops authenticating at once; the check costs nothing
extra because authentication loads the user row anyway.
"""

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

TOKEN_GENERATION_CLAIM = "gen"


def token_pair_for_user(user) -> dict[str, str]:
    refresh = RefreshToken.for_user(user)
    refresh[TOKEN_GENERATION_CLAIM] = user.token_generation
    return {"access": str(refresh.access_token), "refresh": str(refresh)}


def token_generation_is_current(*, token, user) -> bool:
    return token.get(TOKEN_GENERATION_CLAIM) == user.token_generation


def tokens_blacklist_outstanding(*, user_ids) -> int:
    """Blacklist the unexpired refresh tokens of these users not blacklisted yet (so ops see them
    as blacklisted in the admin); returns how many."""
    outstanding = OutstandingToken.objects.filter(
        user_id__in=list(user_ids), expires_at__gt=timezone.now(), blacklistedtoken__isnull=True
    ).values_list("pk", flat=True)
    created = BlacklistedToken.objects.bulk_create(
        [BlacklistedToken(token_id=pk) for pk in outstanding], ignore_conflicts=True
    )
    return len(created)


def tokens_revoke(*, user_ids) -> int:
    """Revoke every token of these users at once, without an audit entry (the caller writes it):
    the generation moves on in the database (an UPDATE, so a concurrent save cannot undo it) and
    the refresh tokens are blacklisted. Returns how many refresh tokens were blacklisted."""
    user_ids = list(user_ids)
    with transaction.atomic():
        # the model by its setting: users.models imports this module (User.save revokes tokens)
        get_user_model().objects.filter(pk__in=user_ids).update(token_generation=F("token_generation") + 1)
        return tokens_blacklist_outstanding(user_ids=user_ids)
