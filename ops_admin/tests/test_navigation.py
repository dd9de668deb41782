"""Titles and the side menu grouped by job."""

import pytest
from django.contrib import admin
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_site_titles_are_the_products():
    assert "Django" not in admin.site.site_header
    assert "Django" not in admin.site.site_title
    assert "Django" not in admin.site.index_title


@pytest.mark.parametrize("url_name", ["admin:login", "admin:index", "admin:users_user_changelist"])
def test_no_page_says_django_administration(client_as, url_name):
    content = client_as("superuser").get(reverse(url_name)).content.decode()

    assert "Django administration" not in content
    assert "Django site admin" not in content


def test_side_menu_reads_by_job(client_as):
    content = client_as("superuser").get(reverse("admin:users_user_changelist")).content.decode()

    positions = [
        content.find(f">{name}<") if f">{name}<" in content else content.find(name)
        for name in ("Messages", "Security", "Audit", "Workers", "Users")
    ]
    assert all(position >= 0 for position in positions)
    assert positions == sorted(positions)
