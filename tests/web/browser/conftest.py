"""Real-browser tests: Playwright (Python, sync API) driving Debian's /usr/bin/chromium
against pytest-django's `live_server`.

Without /usr/bin/chromium (or without playwright) these tests are skipped with the reason,
unless REQUIRE_BROWSER=1, when they fail instead. Playwright is never asked to download a
browser. The pages are served with the site's Content-Security-Policy (no 'unsafe-inline',
no 'unsafe-eval': kms.middleware), and any violation the browser reports fails the test.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from django.core.servers import basehttp
from django.db import connection

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


_serving = threading.Lock()  # held while the live server answers a request (in-memory SQLite only)


@pytest.fixture(scope="session", autouse=True)
def one_request_at_a_time_on_in_memory_sqlite() -> Iterator[None]:
    """On the in-memory SQLite test database, Django hands the test's one connection to every
    live-server thread; a key's page loads its panels at once (htmx), and two requests
    interleaving their transactions on that one connection hung the run now and then (or
    chained an audit seq twice). There, serve one request at a time (after its request line
    is read, so a kept-alive idle connection blocks no one). PostgreSQL keeps its threads,
    each with its own connection, as in production."""
    if not (connection.vendor == "sqlite" and connection.is_in_memory_db()):
        yield
        return
    original = basehttp.ServerHandler.run

    def run(self: Any, application: Any) -> Any:
        with _serving:
            return original(self, application)

    basehttp.ServerHandler.run = run  # type: ignore[method-assign]
    try:
        yield
    finally:
        basehttp.ServerHandler.run = original  # type: ignore[method-assign]


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
        # A request the page sent last may still be answering (its client gone): the test's
        # database is flushed only once it has (on in-memory SQLite the flush shares its
        # connection, and failed with "database table is locked").
        with _serving:
            pass
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


def settled(page: Any) -> None:
    """A key's page has loaded its lazy panels (each `[data-lazy]` placeholder swapped out):
    what a user sees before they act. A panel that never loads fails here, by name."""
    page.wait_for_function("() => !document.querySelector('[data-lazy]')", timeout=15_000)


def log_out(page: Any) -> None:
    settled(page)  # leaving a key's page while its panels load raced the logout's navigation in CI
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url("**/login/", timeout=20_000)
