"""Login lockout with django-axes: the address it keys failures on, what a JWT login needs that a
session login gets from Django's signals, and the operators' unlock.

Axes sees every login through its authentication backend (AUTHENTICATION_BACKENDS) and Django's
user_login_failed signal, and marks the request it was given. The JWT login hands authenticate()
DRF's request, so the mark lands there, not on the HttpRequest the AxesMiddleware reads: the
login serializer answers the lockout itself (`login_lockout_check`). A JWT login sends no
user_logged_in either (that would also start a session per API login), so the reset on success
is asked for explicitly (`login_attempts_reset`).
"""

from datetime import datetime, timedelta

from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_credentials
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.conf import settings
from django.db import transaction
from django.db.models import BooleanField, ExpressionWrapper, Max, OuterRef, Q, Subquery, Sum
from django.db.models.functions import Coalesce
from django.db.models.lookups import IsNull
from django.utils import timezone
from rest_framework.exceptions import Throttled

from common.audit import audit_bulk
from common.batching import delete_in_batches
from common.net import client_ip

USERNAME_MAX_LENGTH = AccessAttempt._meta.get_field("username").max_length


class LoginLockedOut(Throttled):
    default_detail = (
        "Too many failed logins for this account from your address: logging in is blocked for now. "
        "Try again later, or ask an operator to unlock it."
    )
    default_code = "locked_out"


def login_client_ip(request) -> str | None:
    """AXES_CLIENT_IP_CALLABLE: the caller's address as the API-hit log finds it."""
    meta = request.META
    return client_ip(
        remote_addr=meta.get("REMOTE_ADDR") or "",
        forwarded_for=meta.get("HTTP_X_FORWARDED_FOR") or "",
        trusted_proxies=list(settings.IPWARE_TRUSTED_PROXIES),
    )


def login_username(request, credentials: dict | None = None) -> str | None:
    """AXES_USERNAME_CALLABLE: the username tried, as axes finds it, cut to what its tables hold
    (strict MariaDB refuses a longer one, and no real username is that long)."""
    field = settings.AXES_USERNAME_FORM_FIELD
    username = credentials.get(field) if credentials else getattr(request, "data", request.POST).get(field)
    return username[:USERNAME_MAX_LENGTH] if isinstance(username, str) else username


def login_lockout_check(*, request) -> None:
    """After a refused authenticate(request=...): raise LoginLockedOut when axes locked the
    (username, address) pair out, so the caller answers 429 rather than "wrong password"."""
    if request is not None and getattr(request, "axes_locked_out", False):
        cool_off = settings.AXES_COOLOFF_TIME
        # every refused try restarts the cool-off, so it is exactly the wait from now
        raise LoginLockedOut(wait=cool_off.total_seconds() if cool_off else None)


def login_attempts_reset(*, request, username: str) -> int:
    """After a good password: clear the pair's failures, as axes does on user_logged_in."""
    if not (settings.AXES_ENABLED and settings.AXES_RESET_ON_SUCCESS):
        return 0
    AxesProxyHandler.update_request(request)
    return AxesProxyHandler.get_implementation().reset_user_attempts(request, get_credentials(username))


def _cool_off_start(now: datetime | None) -> datetime | None:
    cool_off = settings.AXES_COOLOFF_TIME
    return (now or timezone.now()) - cool_off if cool_off else None


def _recent_attempts(since: datetime | None):
    """The access attempts axes still counts: within the cool-off."""
    return AccessAttempt.objects.filter(attempt_time__gte=since) if since else AccessAttempt.objects.all()


def login_attempts_with_lockout(*, attempts, now: datetime | None = None):
    """The access attempts, each annotated with its (username, address) pair's state as axes
    counts it: `pair_failures` (the failures within the cool-off, added up over the pair's rows,
    one per user agent), `pair_last_failure` (the cool-off runs from it), and `locks_out` (the
    row is within the cool-off and its pair at the failure limit: locked out now)."""
    since = _cool_off_start(now)
    recent = _recent_attempts(since)
    # the username by its index; a missing address is a value of its own (axes matches IS NULL)
    same_address = Q(ip_address=OuterRef("ip_address")) | Q(ip_address__isnull=True) & Q(
        IsNull(OuterRef("ip_address"), True)
    )
    pair = recent.filter(same_address, username=OuterRef("username")).order_by().values("username")
    return attempts.annotate(
        pair_failures=Coalesce(Subquery(pair.annotate(total=Sum("failures_since_start")).values("total")), 0),
        pair_last_failure=Subquery(pair.annotate(last=Max("attempt_time")).values("last")),
    ).annotate(
        locks_out=ExpressionWrapper(
            Q(pair_failures__gte=settings.AXES_FAILURE_LIMIT) & (Q(attempt_time__gte=since) if since else Q()),
            output_field=BooleanField(),
        )
    )


def login_lockouts_count(*, now: datetime | None = None) -> int:
    """(username, address) pairs locked out now: one GROUP BY over the recent attempts."""
    pairs = (
        _recent_attempts(_cool_off_start(now))
        .order_by()
        .values("username", "ip_address")
        .annotate(failures=Sum("failures_since_start"))
        .filter(failures__gte=settings.AXES_FAILURE_LIMIT)
    )
    return pairs.count()


def login_lockout_ends_at(*, last_failure: datetime) -> datetime | None:
    """When a lockout whose latest failure is `last_failure` ends, unless tried again meanwhile:
    None while it lasts until an unlock."""
    return last_failure + settings.AXES_COOLOFF_TIME if settings.AXES_COOLOFF_TIME else None


@transaction.atomic
def login_lockouts_release(*, attempts, actor) -> int:
    """Unlock the (username, address) pairs of the given access attempts: delete every attempt of
    each pair (one per user agent; axes adds them up), one audit entry each. Unlike
    axes.utils.reset, a missing username or address matches only itself, never everyone."""
    pairs = set(attempts.values_list("username", "ip_address"))
    if not pairs:
        return 0
    matching = Q()
    for username, ip_address in pairs:
        matching |= Q(username=username, ip_address=ip_address)
    rows = list(
        AccessAttempt.objects.select_for_update()
        .filter(matching)
        .values_list("pk", "username", "ip_address", "failures_since_start")
    )
    AccessAttempt.objects.filter(pk__in=[row[0] for row in rows]).delete()
    audit_bulk(
        model=AccessAttempt,
        entries=[
            (pk, f"{username} from {ip_address}", {"failures_since_start": [str(failures), "0"]})
            for pk, username, ip_address, failures in rows
        ],
        actor=actor,
        action_name="unlock_logins",
    )
    return len(pairs)


def login_logs_purge_expired() -> int | None:
    """Apply the retention policy to axes' logs (every failed login, every admin login): delete
    the rows older than LOGIN_LOG_RETENTION_DAYS. Returns how many, or None when retention is off."""
    days = settings.LOGIN_LOG_RETENTION_DAYS
    if not days:
        return None
    cutoff = timezone.now() - timedelta(days=days)
    return sum(
        delete_in_batches(model.objects.filter(attempt_time__lt=cutoff), batch_size=settings.HOUSEKEEPING_BATCH_SIZE)
        for model in (AccessFailureLog, AccessLog)
    )
