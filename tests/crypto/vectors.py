"""Reading pyca's ``cryptography_vectors`` files (NIST CAVP/ACVP and RFC vectors)."""

from __future__ import annotations

from pathlib import Path

import cryptography_vectors

ROOT = Path(cryptography_vectors.__file__).parent


def records(*parts: str, start: str) -> list[dict[str, str]]:
    """``KEY = VALUE`` records of a vector file, one per occurrence of the ``start`` key.

    ``[section]`` lines are kept in each record as ``"section"``; comments are skipped.
    """
    found: list[dict[str, str]] = []
    section = ""
    for raw in (ROOT.joinpath(*parts)).read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
            continue
        key, sep, value = line.partition("=")
        if not sep:
            if found:
                found[-1][key.strip()] = ""
            continue
        key = key.strip()
        if key == start:
            found.append({"section": section})
        if found:
            found[-1][key] = value.strip()
    return found
