"""Headless Chromium (Debian's chromium + chromium-driver) driven by Selenium against pytest-django's
live server. Nothing is downloaded: the browser and the driver are the system's. Without them the
tests skip, unless REQUIRE_SERVICES is set (CI), where that is a failure."""

import os
import shutil
from pathlib import Path

import pytest

from tests.support.services import service_missing

CHROMIUM = os.environ.get("CHROMIUM_BINARY", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"
CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--window-size=1440,1000",
)


@pytest.fixture
def browser(tmp_path, settings):
    """A fresh headless Chromium with its own profile; closed after the test."""
    for path in (CHROMIUM, CHROMEDRIVER):
        if not (os.access(path, os.X_OK) or shutil.which(path)):
            service_missing(f"{path} is not installed (apt-get install chromium chromium-driver)")
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        service_missing("selenium is not installed (requirements-dev.txt)")

    # the live server speaks plain HTTP: cookies marked Secure would not come back
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path / 'chromium-profile'}")
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.implicitly_wait(0)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def screenshot(request):
    """Save the browser's view as test-artifacts/browser/<test>-<name>.png; returns the path."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def _screenshot(driver, name: str) -> Path:
        path = ARTIFACTS / f"{request.node.name}-{name}.png"
        driver.save_screenshot(str(path))
        return path

    return _screenshot
