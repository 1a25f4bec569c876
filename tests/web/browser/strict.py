"""A stricter browser page for the first-hour tests (issue 18): any console message of type
error (CSP violations are reported so), any uncaught page error, fails the test; and
screenshots of a page at both widths the issue names (1400×900 and 390×844)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tests.web.browser.conftest import screenshot

WIDE = {"width": 1400, "height": 900}
PHONE = {"width": 390, "height": 844}


@contextmanager
def strict_page(browser: Any, base_url: str, viewport: dict[str, int] = WIDE) -> Iterator[tuple[Any, list[str]]]:
    """A fresh context and page, and the list of errors the browser reported (checked at the end)."""
    context = browser.new_context(base_url=base_url, viewport=viewport)
    context.set_default_timeout(10_000)
    tab = context.new_page()
    errors: list[str] = []

    def on_console(message: Any) -> None:
        if message.type == "error" or "Content Security Policy" in message.text:
            errors.append(f"{tab.url}: console {message.type}: {message.text}")

    tab.on("console", on_console)
    tab.on("pageerror", lambda exc: errors.append(f"{tab.url}: page error: {exc}"))
    try:
        yield tab, errors
    finally:
        context.close()
    assert not errors, "the browser reported errors:\n" + "\n".join(errors)


def both_widths(page: Any, name: str) -> None:
    """test-artifacts/screenshots/<name>-1400.png and <name>-390.png; back to the wide view."""
    for size in (WIDE, PHONE):
        page.set_viewport_size(size)
        screenshot(page, f"{name}-{size['width']}")
    page.set_viewport_size(WIDE)


def sideways_overflow(page: Any) -> int:
    """How many pixels the page scrolls sideways (0 when it does not)."""
    return int(page.evaluate("document.documentElement.scrollWidth - window.innerWidth"))
