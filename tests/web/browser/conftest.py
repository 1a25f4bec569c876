"""Real-browser tests: Playwright (Python, sync API) driving Debian's /usr/bin/chromium
against pytest-django's `live_server`.

Without /usr/bin/chromium (or without playwright) these tests are skipped with the reason,
unless REQUIRE_BROWSER=1, when they fail instead. Playwright is never asked to download a
browser. The pages are served with the site's Content-Security-Policy (no 'unsafe-inline',
no 'unsafe-eval': kms.middleware), and any violation the browser reports fails the test.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

# Playwright's sync API runs an event loop in this thread; Django refuses ORM calls from a
# thread with a running loop unless told that this is deliberate.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--no-first-run",
]  # fmt: skip
SCREENSHOTS = Path(__file__).resolve().parents[3] / "test-artifacts" / "screenshots"


def _unavailable(reason: str) -> None:
    if os.environ.get("REQUIRE_BROWSER") == "1":
        pytest.fail(f"REQUIRE_BROWSER=1 but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        _unavailable(f"{CHROMIUM} is missing (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("playwright is not installed (pip install -e '.[dev]')")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield launched
        launched.close()


@contextmanager
def open_page(browser: Any, base_url: str, **options: Any) -> Iterator[Any]:
    """A fresh browser context and page; fails if the browser reported a CSP violation."""
    context = browser.new_context(base_url=base_url, viewport={"width": 1280, "height": 900}, **options)
    context.set_default_timeout(10_000)
    tab = context.new_page()
    violations: list[str] = []
    tab.on("console", lambda m: "Content Security Policy" in m.text and violations.append(m.text))
    try:
        yield tab
    finally:
        context.close()
    assert not violations, f"the browser reported CSP violations: {violations}"


@pytest.fixture
def page(browser: Any, live_server: Any) -> Iterator[Any]:
    with open_page(browser, live_server.url) as tab:
        yield tab


@pytest.fixture
def page_without_js(browser: Any, live_server: Any) -> Iterator[Any]:
    with open_page(browser, live_server.url, java_script_enabled=False) as tab:
        yield tab


def screenshot(page: Any, name: str) -> None:
    """Save the whole page as test-artifacts/screenshots/<name>.png (gitignored).

    caret="initial": Playwright's default hides the text caret by writing a style attribute
    on every input, which htmx later copies while swapping and the CSP then blocks.
    """
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True, caret="initial")


def log_in(page: Any, username: str, password: str) -> None:
    page.goto("/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/")


def log_out(page: Any) -> None:
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url("**/login/")
