"""Revoking, blacklisting and flushing users' tokens, with their audit entries (the tokens
themselves, and the generation that revokes them, are users.tokens')."""

from django.db import transaction
from django.utils import timezone
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from common.audit import audit_bulk
from common.batching import delete_in_batches
from users.models import User
from users.tokens import tokens_revoke


def tokens_revoke_for_user(*, user: User, actor: User | None = None) -> int:
    """Revoke every token of `user` at once: access tokens through the generation, refresh tokens
    through the blacklist too (so ops see them as blacklisted). Returns how many refresh tokens
    were blacklisted."""
    before = user.token_generation
    blacklisted = tokens_revoke(user_ids=[user.pk])
    user.refresh_from_db(fields=["token_generation"])
    _tokens_revocation_audit(user=user, actor=actor, before=before, blacklisted=blacklisted)
    return blacklisted


def _tokens_revocation_audit(*, user: User, actor: User | None, before: int, blacklisted: int) -> None:
    audit_bulk(
        model=User,
        actor=actor,
        action_name="revoke_tokens",
        entries=[
            (
                user.pk,
                str(user),
                {
                    "token_generation": [str(before), str(user.token_generation)],
                    "refresh_tokens_blacklisted": ["0", str(blacklisted)],
                },
            )
        ],
    )


def user_save_with_revocation_audit(*, user: User, update_fields: list[str], actor: User | None) -> None:
    """Save a change that revokes the user's tokens (User.save revokes them: a new password, a
    deactivation) and record who revoked them, as tokens_revoke_for_user does."""
    before = user.token_generation
    with transaction.atomic():
        user.save(update_fields=update_fields)
        if user.tokens_revoked_on_save is not None:
            _tokens_revocation_audit(user=user, actor=actor, before=before, blacklisted=user.tokens_revoked_on_save)


def tokens_flush_expired(*, batch_size: int, limit: int | None = None) -> int:
    """Delete the refresh tokens past their expiry, blacklisted or not (their blacklist rows go
    with them), in batches, at most about `limit` when given. Returns how many were deleted."""
    return delete_in_batches(
        OutstandingToken.objects.filter(expires_at__lt=timezone.now()), batch_size=batch_size, limit=limit
    )


def tokens_blacklist(*, queryset, actor: User | None = None) -> int:
    """Blacklist the outstanding refresh tokens `queryset` selects that aren't yet: one INSERT,
    audited per token. Returns how many were newly blacklisted."""
    tokens = list(queryset.filter(blacklistedtoken__isnull=True).values_list("pk", "jti"))
    created = BlacklistedToken.objects.bulk_create(
        [BlacklistedToken(token_id=pk) for pk, _ in tokens], ignore_conflicts=True
    )
    audit_bulk(
        model=OutstandingToken,
        actor=actor,
        action_name="blacklist",
        entries=[(pk, f"refresh token {jti}", {"blacklisted": ["False", "True"]}) for pk, jti in tokens],
    )
    return len(created)
