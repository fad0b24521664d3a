"""`ato forget`: erase accounts from every store (README "Personal data"; the nightly's
retention is `ato nightly --steps retention`)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ato.cli.output import Refused, add_json, emit, progress, say, wants_json
from ato.settings import load_settings


def _accounts(args: argparse.Namespace) -> list[str]:
    """--account (repeatable) and the ids of --accounts-file (one per line; blank lines and # comments skipped)."""
    ids = list(args.account or [])
    if args.accounts_file:
        try:
            text = Path(args.accounts_file).read_text()
        except OSError as e:
            raise Refused(f"--accounts-file: {e.strerror}: {args.accounts_file}") from e
        ids += [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    return ids


def _forget(args: argparse.Namespace) -> int:
    from ato.privacy.forget import forget_many, pending

    settings = load_settings()
    if args.pending:
        left = pending(settings)
        if wants_json(args):
            emit({"pending": left})
        else:
            say(f"{len(left)} unfinished erasures" + "".join(f"\n  {s}" for s in left))
        return 0
    accounts = _accounts(args)
    if not accounts:
        raise Refused("--account or --accounts-file is required (or --pending)")
    try:
        done = forget_many(settings, accounts, args.reason, purge=args.purge, redis_url=args.redis_url,
                           progress=progress())
    except ValueError as e:
        raise Refused(str(e)) from e
    one = len(accounts) == 1 and not args.accounts_file  # the document of a single erasure, as before batches
    if wants_json(args):
        emit(done[0].as_dict() if one else {"batch": done[0].batch, "erasures": [d.as_dict() for d in done]})
        return 0
    who = f"subject {done[0].subject[:16]}..." if one else f"{len(done)} accounts, batch {done[0].batch[:16]}..."
    files = f" in {done[0].files_rewritten} files" if one else " naming them"
    say(f"erased ({who}): {sum(sum(d.tables.values()) for d in done)} rows, "
        f"{sum(sum(d.files.values()) for d in done)} lines or snapshot rows{files}"
        + ("; removed files purged" if done[0].purged else
           f"; removed files stay {settings.retention.vacuum_hours} h for time travel, then the nightly "
           "retention VACUUMs them (--purge: at once)"))
    return 0


def add_commands(sub: Any) -> None:
    f = sub.add_parser(
        "forget", help="erase accounts from the lake, spool, audit files, snapshots and Redis",
        description="Deletes every row and line that names one of the accounts from the stores listed in "
                    "ato/privacy/stores.py and writes an erasure record per account (a keyed hash of the id, "
                    "never the id) to <lake>/_erasure/erasures.jsonl. A batch (several --account, or "
                    "--accounts-file) reads and rewrites each store once, however many accounts it holds: send a "
                    "day's requests together. Safe to re-run; a run that stopped part-way is finished by running "
                    "it again. Run it when no nightly is writing the lake.")
    f.add_argument("--account", action="append", help="an account id to erase (repeat it for a batch)")
    f.add_argument("--accounts-file", help="a file of account ids to erase in one batch, one per line "
                                           "(blank lines and # comments skipped)")
    f.add_argument("--reason", default="erasure request", help="why (kept in the erasure record)")
    f.add_argument("--purge", action="store_true",
                   help="VACUUM the touched tables now, without the retention.vacuum_hours grace period "
                        "(no time travel to before the erasure)")
    f.add_argument("--redis-url", help="also erase from this Redis (default: serving.redis_url when "
                                       "serving.store is redis)")
    f.add_argument("--pending", action="store_true", help="list erasures that started and did not finish")
    add_json(f)
    f.set_defaults(fn=_forget)
