"""One key's speed-layer windows (an account, IP, /24 prefix or device), kept incrementally:
attempts, failures and distinct accounts in the last 5 min / 1 h / 24 h before a moment, exactly
as `ato.features.speed` counts them (events with `t - window <= time < t`, integer µs).

Events are held in time order. Each window keeps the index range it covered at the key's last
query (`cursor`) and running counts over it (distinct accounts as counts per account); a later
query moves both ends forward, so every event enters and leaves each window once: amortised
O(1) per request however hot the key. An earlier query (an out-of-order login) is answered from
the difference to the current ranges, or by counting, whichever touches fewer events, and moves
nothing; an event older than the key's newest is inserted in place and added to the windows
covering it. Pruning (by server time) and folding take events off the front.

Past `cap` events a key folds its oldest into coarse buckets (`ato.online.decide.buckets`), and
its counts become upper bounds.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left, bisect_right

from ato.features.windows import WINDOWS_S
from ato.online.decide.buckets import Coarse

US = 1_000_000
SPANS: tuple[int, ...] = tuple(s * US for s in WINDOWS_S.values())
NEVER = -(2**62)  # the cursor of a key never queried: every event is still ahead of it
_W = range(len(SPANS))
_A, _F = 3, 6  # in KeyWindow.st: [lo of each window, attempts of each, failures of each]


class KeyWindow:
    """The three windows of one key. `distinct`: also count distinct accounts (not for the account
    key itself). `counts(t)` gives, per window in WINDOWS_S order, attempts, failures and (with
    `distinct`) accounts, including any coarse buckets."""

    __slots__ = ("ac", "cnt", "coarse", "cursor", "fl", "head", "hi", "solo", "st", "ts")

    def __init__(self, distinct: bool) -> None:
        self.ts = array("q")  # event times (µs), ascending; [head:] is held
        self.fl = bytearray()  # failed 0/1, aligned with ts
        self.ac: list[str | None] | None = [] if distinct else None  # account of each event
        self.head = self.hi = 0  # events [lo of w, hi) are window w's at the cursor; [hi:] are ahead of it
        self.st = [0] * 9  # per window: lo (index), then attempts, then failures (one list: small keys are many)
        self.cnt: list[dict[str | None, int]] | None = None  # per window: account -> events; None while one account
        self.solo: str | None = None  # the one account seen so far (counts per account built on the second)
        self.cursor = NEVER
        self.coarse: Coarse | None = None

    @property
    def size(self) -> int:
        """Entries held: exact events and coarse buckets."""
        return len(self.ts) - self.head + (len(self.coarse) if self.coarse is not None else 0)

    @property
    def newest(self) -> int:
        if len(self.ts) > self.head:
            return self.ts[-1]
        c = self.coarse
        return c.start[-1] + c.width if c is not None and len(c) else NEVER

    def counts(self, t: int) -> list[int]:
        if t >= self.cursor:
            self._advance(t)
            st, out = self.st, []
            for w in _W:
                out += [st[_A + w], st[_F + w]]
                if self.ac is not None:
                    out.append(len(self.cnt[w]) if self.cnt is not None else int(st[_A + w] > 0))
        else:
            out = self._before_cursor(t)
        c = self.coarse
        if c is not None and len(c):
            k = 3 if self.ac is not None else 2
            for w in _W:
                for i, v in enumerate(c.counts(t, SPANS[w])[:k]):
                    out[w * k + i] += v
        return out

    def add(self, t: int, failed: int, account: str | None, cap: int, width_us: int) -> int:
        """Record one event (µs, 0/1, its account); past `cap` events fold the oldest into buckets.
        Returns the change in entries held (events and buckets)."""
        ts, n = self.ts, len(self.ts)
        if self.ac is not None and self.cnt is None and account != self.solo:
            if self.solo is None and n == self.head:
                self.solo = account
            else:
                self._split()
        if n == self.head or t >= ts[-1]:
            p = n
            ts.append(t)
            self.fl.append(failed)
            if self.ac is not None:
                self.ac.append(account)
        else:  # out of order: in place, after its equals
            p = bisect_right(ts, t, self.head, n)
            ts.insert(p, t)
            self.fl.insert(p, failed)
            if self.ac is not None:
                self.ac.insert(p, account)
        if t < self.cursor:  # behind the cursor: it belongs to the windows that cover it now
            for w in _W:
                if t < self.cursor - SPANS[w]:
                    self.st[w] += 1
                else:
                    self._join(w, p)
            self.hi += 1
        added = 1
        while len(ts) - self.head > cap:
            ft, ff, fa = self._pop_front()
            if self.coarse is None:
                self.coarse = Coarse(width_us, self.ac is not None)
            buckets = len(self.coarse)
            self.coarse.add(ft, ff, fa)
            added += len(self.coarse) - buckets - 1
        return added

    def prune(self, cut: int) -> int:
        """Forget events before `cut` (server time), and buckets that ended before it; returns how
        many entries went."""
        ts, gone = self.ts, 0
        while self.head < len(ts) and ts[self.head] < cut:
            self._pop_front()
            gone += 1
        if self.coarse is not None:
            gone += self.coarse.prune(cut)
        return gone

    # -- the per-event steps (kept as methods: tests count them) --------------------------------

    def _advance(self, t: int) -> None:
        ts, n, hi = self.ts, len(self.ts), self.hi
        while hi < n and ts[hi] < t:
            self._enter(hi)
            hi += 1
        self.hi = hi
        st = self.st
        for w in _W:
            edge, j = t - SPANS[w], st[w]
            while j < hi and ts[j] < edge:
                self._leave(w, j)
                j += 1
            st[w] = j
        self.cursor = t

    def _enter(self, i: int) -> None:
        st = self.st
        st[3] += 1
        st[4] += 1
        st[5] += 1
        if self.fl[i]:
            st[6] += 1
            st[7] += 1
            st[8] += 1
        if self.cnt is not None:
            a = self.ac[i]  # type: ignore[index]
            for c in self.cnt:
                c[a] = c.get(a, 0) + 1

    def _join(self, w: int, i: int) -> None:
        self.st[_A + w] += 1
        self.st[_F + w] += self.fl[i]
        if self.cnt is not None:
            c, a = self.cnt[w], self.ac[i]  # type: ignore[index]
            c[a] = c.get(a, 0) + 1

    def _leave(self, w: int, i: int) -> None:
        self.st[_A + w] -= 1
        self.st[_F + w] -= self.fl[i]
        if self.cnt is not None:
            c, a = self.cnt[w], self.ac[i]  # type: ignore[index]
            k = c[a] - 1
            if k:
                c[a] = k
            else:
                del c[a]

    def _split(self) -> None:
        """A second account: from now on count events per account (all so far were `solo`'s)."""
        self.cnt = [{self.solo: a} if a else {} for a in self.st[_A:_F]]

    def _pop_front(self) -> tuple[int, int, str | None]:
        i = self.head
        t, f = self.ts[i], self.fl[i]
        a = self.ac[i] if self.ac is not None else None
        st = self.st
        if self.hi > i:  # inside the windows whose range still starts at it
            for w in _W:
                if st[w] == i:
                    self._leave(w, i)
                    st[w] = i + 1
        else:  # still ahead of the cursor
            self.hi = st[0] = st[1] = st[2] = i + 1
        self.head = i + 1
        self._compact()
        return t, f, a

    def _compact(self) -> None:
        h = self.head
        if h < 64 and h < len(self.ts):
            return
        if 2 * h < len(self.ts):
            return
        del self.ts[:h]
        del self.fl[:h]
        if self.ac is not None:
            del self.ac[:h]
        self.hi -= h
        st = self.st
        st[0] -= h
        st[1] -= h
        st[2] -= h
        self.head = 0

    def _before_cursor(self, t: int) -> list[int]:
        """Counts at a moment before the cursor, moving nothing."""
        ts, head, hi = self.ts, self.head, self.hi
        hi_t = bisect_left(ts, t, head, hi)
        out = []
        st = self.st
        for w in _W:
            lo_w = st[w]
            lo_t = bisect_left(ts, t - SPANS[w], head, lo_w)
            if hi_t <= lo_w or (hi - hi_t) + (lo_w - lo_t) > hi_t - lo_t:
                out += self._tally(lo_t, hi_t)
            else:  # the window now, less what is at or after t, plus what left it since t
                a = st[_A + w] - (hi - hi_t) + (lo_w - lo_t)
                f = st[_F + w] - sum(self.fl[hi_t:hi]) + sum(self.fl[lo_t:lo_w])
                out += [a, f]
                if self.ac is not None:
                    out.append(self._moved(w, a, lo_t, lo_w, hi_t, hi))
        return out

    def _tally(self, lo: int, hi: int) -> list[int]:
        out = [hi - lo, sum(self.fl[lo:hi])]
        if self.ac is not None:
            out.append(len(set(self.ac[lo:hi])))
        return out

    def _moved(self, w: int, attempts: int, lo_t: int, lo_w: int, hi_t: int, hi: int) -> int:
        """Distinct accounts of window w once [hi_t, hi) is taken out and [lo_t, lo_w) put back."""
        if self.cnt is None:
            return int(attempts > 0)
        ac, c = self.ac, self.cnt[w]
        delta: dict[str | None, int] = {}
        for a in ac[hi_t:hi]:  # type: ignore[index]
            delta[a] = delta.get(a, 0) - 1
        for a in ac[lo_t:lo_w]:  # type: ignore[index]
            delta[a] = delta.get(a, 0) + 1
        d = len(c)
        for a, k in delta.items():
            before = c.get(a, 0)
            d += int(before + k > 0) - int(before > 0)
        return d
