"""`ato forget`: erase one account from every store (README "Personal data"; the nightly's
retention is `ato nightly --steps retention`)."""

from __future__ import annotations

import argparse
from typing import Any

from ato.cli.output import Refused, add_json, emit, progress, say, wants_json
from ato.settings import load_settings


def _forget(args: argparse.Namespace) -> int:
    from ato.privacy.forget import forget, pending

    settings = load_settings()
    if args.pending:
        left = pending(settings)
        if wants_json(args):
            emit({"pending": left})
        else:
            say(f"{len(left)} unfinished erasures" + "".join(f"\n  {s}" for s in left))
        return 0
    if not args.account:
        raise Refused("--account is required (or --pending)")
    try:
        done = forget(settings, args.account, args.reason, purge=args.purge, redis_url=args.redis_url,
                      progress=progress())
    except ValueError as e:
        raise Refused(str(e)) from e
    if wants_json(args):
        emit(done.as_dict())
    else:
        say(f"erased (subject {done.subject[:16]}...): {sum(done.tables.values())} rows, "
            f"{sum(done.files.values())} lines or snapshot rows in {done.files_rewritten} files"
            + ("; removed files purged" if done.purged else
               f"; removed files stay {settings.retention.vacuum_hours} h for time travel, then the nightly "
               "retention VACUUMs them (--purge: at once)"))
    return 0


def add_commands(sub: Any) -> None:
    f = sub.add_parser(
        "forget", help="erase one account from the lake, spool, audit files, snapshots and Redis",
        description="Deletes every row and line that names the account from the stores listed in "
                    "ato/privacy/stores.py and writes an erasure record (a keyed hash of the id, never the id) "
                    "to <lake>/_erasure/erasures.jsonl. Safe to re-run; a run that stopped part-way is finished "
                    "by running it again. Run it when no nightly is writing the lake.")
    f.add_argument("--account", help="the account id to erase")
    f.add_argument("--reason", default="erasure request", help="why (kept in the erasure record)")
    f.add_argument("--purge", action="store_true",
                   help="VACUUM the touched tables now, without the retention.vacuum_hours grace period "
                        "(no time travel to before the erasure)")
    f.add_argument("--redis-url", help="also erase from this Redis (default: serving.redis_url when "
                                       "serving.store is redis)")
    f.add_argument("--pending", action="store_true", help="list erasures that started and did not finish")
    add_json(f)
    f.set_defaults(fn=_forget)
