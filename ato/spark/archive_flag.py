"""Where the class archive of Spark's classes is (`ato.spark.class_archive` builds it) and the JVM
option that maps it: every JVM we launch asks here, with nothing of Spark imported."""

from __future__ import annotations

import sys
from pathlib import Path
from urllib.parse import urlparse

from ato.settings import Settings

DEFAULT = Path(sys.prefix) / "share" / "ato" / "spark-classes.jsa"


def archive_path(settings: Settings) -> Path | None:
    """The archive settings name ("auto": the virtualenv's), None when turned off."""
    given = settings.spark.class_archive.strip()
    if given.lower() in ("", "off", "false", "no"):
        return None
    return DEFAULT if given.lower() == "auto" else Path(given)


def java_flag(settings: Settings) -> str:
    """The JVM option that maps the archive, or "" when there is none to map."""
    path = archive_path(settings)
    return f"-XX:SharedArchiveFile={path}" if path is not None and path.is_file() else ""


def loopback(master: str) -> bool:
    """Does `master` run its executors on this host (local mode or a standalone master on loopback),
    where the archive's path exists? Elsewhere executors are left without it."""
    if master.startswith("local"):
        return True
    host = urlparse(master).hostname or ""
    return master.startswith("spark://") and host in ("127.0.0.1", "localhost")
