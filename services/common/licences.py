"""Licence numbers (专卖许可证号), the key every service knows a retail customer by.

One spelling for all of them: a licence typed with full-width characters, another case
or surrounding spaces is the same customer in classification, complaints and evaluation."""

from __future__ import annotations

import unicodedata


def normalise_licence(text: str) -> str:
    """A licence number as it is looked up and stored: Unicode NFKC (full-width letters,
    digits and hyphens become plain ones), surrounding spaces trimmed, upper case."""
    return unicodedata.normalize("NFKC", text or "").strip().upper()
