"""How a command answers: a summary on the console for people, or with `--json` exactly one
JSON document on stdout for programs (the DAGs, scripts). Progress always goes to stderr, so
`ato <cmd> --json | jq` and Airflow's XCom (the last stdout line) see the document alone."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from ato.progress import ConsoleProgress, Progress

JSON_HELP = ("print exactly one JSON document on stdout, on one line (for programs); progress "
             "and messages go to stderr; failures print {\"ok\": false, \"error\": ...}")


class Refused(Exception):
    """A command that says no (bad arguments, a refused promotion, a failed gate): its message
    goes to stderr, `code` is the exit status, and with --json `doc` is printed as well."""

    def __init__(self, message: str, code: int = 2, doc: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.doc = doc or {}


def add_json(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help=JSON_HELP)


def wants_json(args: argparse.Namespace) -> bool:
    return bool(getattr(args, "json", False))


def emit(doc: dict[str, Any]) -> None:
    """The one JSON document of a `--json` run, on one line; `ok` says whether it succeeded."""
    sys.stdout.write(json.dumps({"ok": True, **doc}, default=str, sort_keys=False) + "\n")
    sys.stdout.flush()


def say(msg: str) -> None:
    """A message for people: stderr, so stdout stays clean for a command's output."""
    print(f"ato: {msg}", file=sys.stderr, flush=True)


def progress() -> Progress:
    """Steps and bars on stderr, whether or not --json is given."""
    return ConsoleProgress()


def refused(args: argparse.Namespace, e: Refused) -> int:
    say(str(e))
    if wants_json(args):
        emit({**e.doc, "ok": False, "error": str(e)})
    return e.code
