"""The console's pages, scripts and styles: files of gateway/console/static/, versioned
in the repository and served as they are (no build step, nothing from elsewhere)."""

from __future__ import annotations

import pathlib
import re

from gateway.console.http import problem, reply
from services.common.http_endpoints import HttpReply

STATIC = pathlib.Path(__file__).parent / "static"
TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}
_FILE_NAME = re.compile(r"[a-z0-9][a-z0-9-]*\.(html|js|css|svg)")


def static_reply(method: str, path: str) -> HttpReply:
    """``path`` below /console/: "" is the page, "static/<file>" a file of the folder."""
    if method != "GET":
        return problem(405, f"{method} is not served here", code="METHOD_NOT_ALLOWED")
    name = "index.html" if path == "" else path.removeprefix("static/")
    if (path and not path.startswith("static/")) or not _FILE_NAME.fullmatch(name):
        return problem(404, "no such console file", code="NOT_FOUND")
    file = STATIC / name
    if not file.is_file():
        return problem(404, "no such console file", code="NOT_FOUND")
    return reply(200, file.read_bytes(), TYPES[file.suffix])
