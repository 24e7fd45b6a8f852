"""The gateway serves app bundles to its boards: GET /ota/<version>/<file> from a folder that
`hangcho-tech update` fills (docs/technician.md). Boards fetch them over plain HTTP inside the
center's network and check every file's SHA-256 against the manifest before using it."""

from __future__ import annotations

import re
from pathlib import Path

from flask import Blueprint, abort, send_from_directory

_VERSION = re.compile(r"^[0-9a-f]{12}$")
_FILE = re.compile(r"^(manifest\.json|[a-z0-9_]+\.mpy)$")


def blueprint(folder: Path) -> Blueprint:
    bp = Blueprint("ota", __name__)

    @bp.get("/ota/<version>/<name>")
    def bundle_file(version: str, name: str):
        if not _VERSION.match(version) or not _FILE.match(name):
            abort(404)
        return send_from_directory(folder / version, name, max_age=3600)

    return bp
