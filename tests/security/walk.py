"""The tools of the walks: a browser per kind with a CSRF token at hand, URL templates filled with
the test objects' keys, the routes as the resolver has them, a snapshot of every table, and
requests whose effects are rolled back so one walk sees one world."""

import contextlib
import re

from django.apps import apps
from django.db import transaction
from django.test import Client
from django.urls import get_resolver, resolve, reverse
from django.urls.resolvers import URLPattern, URLResolver

from tests.security.access_table import LOGIN

# a well-formed CSRF secret: the cookie and the form field carry the same one
CSRF_TOKEN = "Csrf" + "0" * 28


def url_fill(template: str, objects: dict) -> str:
    """The template ("/admin/users/user/{users.user}/change/") with each object's primary key."""
    return re.sub(r"\{([\w.]+)\}", lambda match: str(objects[match[1]].pk), template)


def changelist_path(label: str) -> str:
    return "/admin/{}/{}/".format(*label.split("."))


def action_data(label: str, action: str, objects: dict) -> dict:
    """The changelist form running `action` on the test object of `label`; "post" is the
    confirmation delete_selected asks for, already given."""
    return {"action": action, "_selected_action": [objects[label].pk], "index": 0, "post": "yes"}


def admin_outcome(response):
    """What the table records of an admin response: LOGIN for a redirect to the admin login,
    else the status code."""
    if response.status_code == 302 and response["Location"].startswith(reverse("admin:login")):
        return LOGIN
    return response.status_code


class KindClient(Client):
    """A browser of one kind of user: CSRF checked as in production, a token at hand for the
    requests that should carry one."""

    def __init__(self, user):
        super().__init__(enforce_csrf_checks=True)
        self.user = user
        self.login_again()

    def login_again(self):
        if self.user is not None:
            self.force_login(self.user)
        self.cookies["csrftoken"] = CSRF_TOKEN

    def post_with_token(self, path, data=None, **extra):
        return self.post(path, {**(data or {}), "csrfmiddlewaretoken": CSRF_TOKEN}, **extra)


@contextlib.contextmanager
def rolled_back():
    """Whatever the block writes is undone, so the next request of a walk sees the same rows."""
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


def database_snapshot() -> dict:
    """Every row of every table the project's models own, comparable as a whole."""
    snapshot = {}
    for model in apps.get_models():
        if model._meta.managed and not model._meta.proxy:
            snapshot[model._meta.label] = list(model.objects.order_by("pk").values())
    return snapshot


def snapshot_difference(before: dict, after: dict) -> list[str]:
    return [label for label in before if before[label] != after[label]]


def url_patterns(prefix: str) -> dict:
    """Every route under `prefix` as the resolver spells it ("admin/users/user/<path:object_id>/"),
    with its URLPattern."""

    def walk(patterns, route):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, joined(route, pattern))
            elif isinstance(pattern, URLPattern):
                yield joined(route, pattern), pattern

    def joined(route, pattern):
        # as ResolverMatch.route joins them: a nested regex loses its "^"
        return route + str(pattern.pattern).removeprefix("^")

    return {route: pattern for route, pattern in walk(get_resolver().url_patterns, "") if route.startswith(prefix)}


def route_of(path: str) -> str:
    return resolve(path.partition("?")[0]).route
