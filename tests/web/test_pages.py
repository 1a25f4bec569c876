"""What every page shares: full page or partial, no inline script or style (CSP), labels."""

from __future__ import annotations

import re

import pytest

PAGES = ["/", "/new/", "/keys/payments/", "/keys/signer/", "/keys/payments/delete/",
         "/approvals/", "/approvals/?show=mine", "/audit/", "/tokens/", "/playground/"]  # fmt: skip
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I)
INLINE_HANDLER = re.compile(r"\son[a-z]+\s*=", re.I)
STYLE_ATTRIBUTE = re.compile(r"\sstyle\s*=", re.I)


@pytest.mark.parametrize("url", PAGES)
def test_pages_run_under_a_csp_without_unsafe_inline(as_root, aes_key, signing_key, url):
    response = as_root.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    assert not INLINE_SCRIPT.search(html)
    assert not INLINE_HANDLER.search(html)
    assert not STYLE_ATTRIBUTE.search(html)
    assert '<script src="/static/vendor/htmx.min.js" defer></script>' in html


@pytest.mark.parametrize("url", PAGES)
def test_every_input_has_a_label(as_root, aes_key, signing_key, url):
    html = as_root.get(url).content.decode()
    ids = re.findall(r'<(?:input|select|textarea)(?![^>]*type="(?:hidden|submit)")[^>]*\sid="([^"]+)"', html)
    labelled = set(re.findall(r'<label[^>]*\sfor="([^"]+)"', html))
    unlabelled = [i for i in ids if i not in labelled and not i.startswith("id_permissions_")]
    assert not unlabelled


def test_the_vendored_htmx_is_version_2():
    from pathlib import Path

    htmx = Path(__file__).resolve().parents[2] / "static" / "vendor" / "htmx.min.js"
    assert 'version:"2.' in htmx.read_text()
