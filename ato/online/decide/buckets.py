"""Coarse buckets: where a speed-layer key past its cap keeps its older events (see `Coarse`)."""

from __future__ import annotations

from array import array
from bisect import bisect_left, bisect_right


class Coarse:
    """Events folded out of a key's exact part, in buckets of `width` µs aligned to the epoch, each
    with its attempts, failures and distinct accounts, kept as running totals (two binary searches
    per window).

    A bucket counts in a window when it overlaps it (`start < t` and `start + width > t - span`),
    so past the cap attempts and failures are upper bounds, over by at most the events of the
    bucket on the window's old edge, and distinct accounts are an upper bound as well (an account
    counts once per bucket, and again if it also has exact events in the window). An event older
    than the newest bucket is counted in the newest bucket."""

    __slots__ = ("base", "cum", "open", "start", "width")

    def __init__(self, width_us: int, distinct: bool) -> None:
        self.width = width_us
        self.start = array("q")
        self.cum = (array("q"), array("q"), array("q"))  # attempts, failures, accounts, cumulative
        self.base = (0, 0, 0)  # the totals before the oldest bucket held
        self.open: set[str | None] | None = set() if distinct else None  # accounts of the newest bucket

    def __len__(self) -> int:
        return len(self.start)

    def add(self, t: int, failed: int, account: str | None) -> None:
        b = t - t % self.width
        s, (ca, cf, cd) = self.start, self.cum
        if s and b <= s[-1]:
            ca[-1] += 1
            cf[-1] += failed
            if self.open is not None and account not in self.open:
                self.open.add(account)
                cd[-1] += 1
            return
        pa, pf, pd = (ca[-1], cf[-1], cd[-1]) if s else self.base
        s.append(b)
        ca.append(pa + 1)
        cf.append(pf + failed)
        if self.open is not None:
            self.open = {account}
            pd += 1
        cd.append(pd)

    def counts(self, t: int, span: int) -> tuple[int, int, int]:
        """(attempts, failures, accounts) of the buckets overlapping [t - span, t)."""
        s = self.start
        hi = bisect_left(s, t)
        lo = bisect_right(s, t - span - self.width, 0, hi)
        if lo >= hi:
            return 0, 0, 0
        ca, cf, cd = self.cum
        ba, bf, bd = (ca[lo - 1], cf[lo - 1], cd[lo - 1]) if lo else self.base
        return ca[hi - 1] - ba, cf[hi - 1] - bf, cd[hi - 1] - bd

    def prune(self, cut: int) -> int:
        """Drop the buckets that ended before `cut`; returns how many."""
        k = bisect_right(self.start, cut - self.width)
        if k:
            ca, cf, cd = self.cum
            self.base = (ca[k - 1], cf[k - 1], cd[k - 1])
            for a in (self.start, ca, cf, cd):
                del a[:k]
            if not self.start and self.open is not None:
                self.open = set()
        return k
