"""hvac's own Transit integration tests (hvac 2.4.0's sdist), run against a live Egide.

The test file is taken unchanged from hvac's source distribution; a small shim of its
`tests.utils` and `HvacIntegrationTestCase` points the hvac client at Egide (a superuser's
token: Vault's root token) instead of starting Vault. The suite runs in a subprocess
(its `tests` package is hvac's, not ours). Every hvac test must pass except the ones that
need what Egide does not offer yet (EXPECTED_UNSUPPORTED, listed in docs/transit.md):
those must fail, so that this list is kept honest.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import xml.etree.ElementTree as ET  # noqa: S405 - our own subprocess's report
from pathlib import Path

import pytest

from tests.transit.live import REPO, LiveEgide

HVAC = "hvac==2.4.0"
SUITE = "tests/integration_tests/api/secrets_engines/test_transit.py"
CACHE = REPO / "var" / "test-cache"
# Every test of hvac's suite passes (backup/restore since they map onto kms.services.backups).
EXPECTED_UNSUPPORTED: set[str] = set()
SHIM_UTILS = """
import base64


def base64ify(bytes_or_str):
    data = bytes_or_str.encode("utf8") if isinstance(bytes_or_str, str) else bytes_or_str
    return base64.urlsafe_b64encode(data).decode("ascii")  # as hvac's own tests.utils


def vault_version_lt(supported_version):
    return False  # Egide speaks OpenBao 2.7's Transit


def vault_version_ge(supported_version):
    return True
"""
SHIM_CASE = '''
import os

from hvac import Client


class HvacIntegrationTestCase:
    """hvac's base class, pointed at a live Egide instead of a Vault it starts."""

    client = None

    @classmethod
    def setUpClass(cls):
        pass

    @classmethod
    def tearDownClass(cls):
        pass

    def setUp(self):
        self.client = Client(url=os.environ["EGIDE_URL"], token=os.environ["EGIDE_TOKEN"])

    def tearDown(self):
        self.client.token = os.environ["EGIDE_TOKEN"]
'''


def hvac_sdist() -> Path:
    CACHE.mkdir(parents=True, exist_ok=True)
    found = sorted(CACHE.glob("hvac-2.4.0.tar.gz"))
    if not found:
        command = [sys.executable, "-m", "pip", "download", "--quiet", "--no-binary", ":all:", "--no-deps", HVAC,
                   "-d", str(CACHE)]  # fmt: skip
        subprocess.run(command, check=True, timeout=300)  # noqa: S603 - pip, a fixed package
        found = sorted(CACHE.glob("hvac-2.4.0.tar.gz"))
    return found[0]


def suite_dir(tmp: Path) -> Path:
    root = tmp / "hvac-suite"
    with tarfile.open(hvac_sdist()) as archive:
        member = archive.getmember(f"hvac-2.4.0/{SUITE}")
        source = archive.extractfile(member)
        assert source is not None
        text = source.read()
    target = root / SUITE
    target.parent.mkdir(parents=True)
    target.write_bytes(text)
    for package in ("tests", "tests/integration_tests", "tests/integration_tests/api",
                    "tests/integration_tests/api/secrets_engines"):  # fmt: skip
        (root / package / "__init__.py").touch()
    (root / "tests/utils").mkdir()
    (root / "tests/utils/__init__.py").write_text(SHIM_UTILS)
    (root / "tests/utils/hvac_integration_test_case.py").write_text(SHIM_CASE)
    (root / "pytest.ini").write_text("[pytest]\n")
    return root


@pytest.fixture(scope="module")
def egide(tmp_path_factory):
    server = LiveEgide(tmp_path_factory.mktemp("egide-hvac")).start()
    yield server
    server.stop()


def test_hvac_transit_integration_suite(egide, tmp_path):
    root = suite_dir(tmp_path)
    report = tmp_path / "report.xml"
    env = {**os.environ, "EGIDE_URL": egide.url, "EGIDE_TOKEN": egide.token}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    done = subprocess.run(  # noqa: S603 - pytest on the suite written above
        [sys.executable, "-m", "pytest", "-q", "-p", "no:django", "-p", "no:cacheprovider", "-p", "no:xdist",
         "-c", str(root / "pytest.ini"), "--rootdir", str(root), f"--junitxml={report}", SUITE],
        cwd=root, env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    cases = ET.parse(report).getroot().iter("testcase")  # noqa: S314 - written by our subprocess
    outcome = {}
    for case in cases:
        kinds = {child.tag for child in case}
        outcome[case.get("name")] = "failed" if kinds & {"failure", "error"} else (
            "skipped" if "skipped" in kinds else "passed")  # fmt: skip
    failed = {name for name, kind in outcome.items() if kind == "failed"}
    skipped = {name for name, kind in outcome.items() if kind == "skipped"}
    print(f"hvac {SUITE}: {len(outcome)} tests, {len(outcome) - len(failed) - len(skipped)} passed, "
          f"{len(failed)} failed ({sorted(failed)}), {len(skipped)} skipped")  # fmt: skip
    assert len(outcome) == 47, done.stdout[-3000:] + done.stderr[-3000:]
    assert not skipped, skipped
    assert failed == EXPECTED_UNSUPPORTED, done.stdout[-6000:]
