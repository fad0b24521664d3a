"""The speed layer's windows in Redis: one Lua script per key and call, run inside the lookup's
pipeline, that prunes the key by server time, reads its 5 min / 1 h / 24 h windows at the login's
moment with ZCOUNTs (never fetching a window) and records the login once per event id. The same
counts as `ato.online.decide.windows` (exact up to the cap, the same coarse buckets past it).
Logins that are only recorded (`/v1/events`) go in one call per batch (`BATCH`, the same Lua
functions), so a batch costs Redis one script call and the client one argument, not four per login.

Keys of one speed key (kind code a/i/p/d and value; `{...}` is a cluster hash tag):
- `ato:w:{<k>:<v>}:t` zset of the held exact events, member = event id (prefixed with its length
  and followed by its account for IP, /24 and device keys: any character is fine), score = time µs;
- `...:f` the failed ones among them (same members);
- `...:c` zset account -> time of its latest exact event; `...:x` the accounts whose latest is the
  key's newest time, scored by their previous one (distinct accounts with ties at the login's time);
- `...:s` hash: `n` newest exact time, `ob` open bucket, `base` totals before the oldest bucket;
- past the cap, `...:b` zset of coarse buckets, member `<start>:<attempts>:<failures>:<accounts>`
  (running totals), score = start; `...:o` set of the open bucket's accounts;
- `ato:w:{a:<account>}:r:<day>` hash of the account's successful logins that day: `d:<device>`,
  `i:<ip>`, `c:<country>`, `a:<asn>` (at most `recent_values` each, counted in `#d` ...), `last`
  (the latest one's signals as JSON) and `lt` (its time µs).
Every key has a TTL (the longest window + `late_s`; the day hashes 4 days).

Distinct accounts: ZCOUNT of `c` over the window when the login is at or after the key's newest
event (plus `x` when exactly at it); a login before it (out of order) counts them from the day's
members instead, bounded by the cap.
"""

from __future__ import annotations

import hashlib

_FUNCTIONS = r"""
local SPANS = {300000000, 3600000000, 86400000000}
local SUFFIXES = {':t', ':f', ':c', ':x', ':b', ':o', ':s'}

local function fmt(v) return string.format('%.0f', v) end
local function num(v) if v then return tonumber(v) end return nil end
local function account_of(m)
  local i = string.find(m, ':', 1, true)
  return string.sub(m, i + 1 + tonumber(string.sub(m, 1, i - 1)))
end
local function cums(m)
  local a, f, d = string.match(m, ':(%d+):(%d+):(%d+)$')
  return tonumber(a), tonumber(f), tonumber(d)
end
local function base(S)
  local b = redis.call('HGET', S, 'base')
  if b then return cums(b) end
  return 0, 0, 0
end
local function names(prefix)
  local k = {}
  for i, s in ipairs(SUFFIXES) do k[i] = prefix .. s end
  return k
end

-- prune a key (K: its T, F, C, X, B, O, S) by server time; true when it has coarse buckets
local function prune(K, cut, width, distinct)
  local T, F, C, X, B, O, S = unpack(K)
  local cutx = '(' .. fmt(cut)
  -- F's members and C's times are events T holds: nothing to prune there when T has none
  if redis.call('ZCOUNT', T, '-inf', cutx) > 0 then
    redis.call('ZREMRANGEBYSCORE', T, '-inf', cutx)
    redis.call('ZREMRANGEBYSCORE', F, '-inf', cutx)
    if distinct then redis.call('ZREMRANGEBYSCORE', C, '-inf', cutx) end
  end
  if distinct then redis.call('ZREMRANGEBYSCORE', X, '-inf', cutx) end
  local coarse = redis.call('EXISTS', B) == 1
  if coarse then
    local edge = fmt(cut - width)
    local gone = redis.call('ZREVRANGEBYSCORE', B, edge, '-inf', 'LIMIT', 0, 1)
    if #gone > 0 then
      redis.call('HSET', S, 'base', gone[1])
      redis.call('ZREMRANGEBYSCORE', B, '-inf', edge)
      if redis.call('EXISTS', B) == 0 then
        redis.call('DEL', O)
        redis.call('HDEL', S, 'ob')
        coarse = false
      end
    end
  end
  return coarse
end

-- the windows at q (events with q - span <= time < q): attempts, failures, accounts per span
local function read(K, q, distinct, coarse, width)
  local T, F, C, X, B, O, S = unpack(K)
  local out = {}
  local n = nil
  if distinct then n = num(redis.call('HGET', S, 'n')) end
  local scan = nil
  if n and q < n then
    scan = redis.call('ZRANGEBYSCORE', T, fmt(q - SPANS[3]), '(' .. fmt(q), 'WITHSCORES')
  end
  local hiq = '(' .. fmt(q)
  for i = 1, 3 do
    local edge = q - SPANS[i]
    local lo = fmt(edge)
    local a = redis.call('ZCOUNT', T, lo, hiq)
    local f = redis.call('ZCOUNT', F, lo, hiq)
    local d = 0
    if scan then
      local seen = {}
      for j = 1, #scan, 2 do
        if tonumber(scan[j + 1]) >= edge then
          local ac = account_of(scan[j])
          if not seen[ac] then seen[ac] = true; d = d + 1 end
        end
      end
    elseif distinct then
      d = redis.call('ZCOUNT', C, lo, hiq)
      if n and q == n then d = d + redis.call('ZCOUNT', X, lo, hiq) end
    end
    if coarse then
      local hb = redis.call('ZREVRANGEBYSCORE', B, hiq, '-inf', 'LIMIT', 0, 1)
      if #hb > 0 then
        local ha, hf, hd = cums(hb[1])
        local lb = redis.call('ZREVRANGEBYSCORE', B, fmt(edge - width), '-inf', 'LIMIT', 0, 1)
        local la, lf, ld
        if #lb > 0 then la, lf, ld = cums(lb[1]) else la, lf, ld = base(S) end
        a, f, d = a + ha - la, f + hf - lf, d + hd - ld
      end
    end
    out[#out + 1] = a
    out[#out + 1] = f
    out[#out + 1] = d
  end
  return out
end

-- fold the oldest exact event into the coarse buckets
local function fold(K, m, te, distinct, width)
  local T, F, C, X, B, O, S = unpack(K)
  local wasf = redis.call('ZREM', F, m) == 1
  local ac = nil
  if distinct then
    ac = account_of(m)
    if num(redis.call('ZSCORE', C, ac)) == te then
      redis.call('ZREM', C, ac)
      redis.call('ZREM', X, ac)
    elseif num(redis.call('ZSCORE', X, ac)) == te then
      redis.call('ZADD', X, '-inf', ac)
    end
  end
  local b = math.floor(te / width) * width
  if b > te then b = b - width elseif b + width <= te then b = b + width end
  local ob = num(redis.call('HGET', S, 'ob'))
  local a, f, d
  if ob and b <= ob then
    local cur = redis.call('ZRANGEBYSCORE', B, fmt(ob), fmt(ob))[1]
    a, f, d = cums(cur)
    redis.call('ZREM', B, cur)
    b = ob
  else
    local last = redis.call('ZREVRANGE', B, 0, 0)[1]
    if last then a, f, d = cums(last) else a, f, d = base(S) end
    redis.call('DEL', O)
    redis.call('HSET', S, 'ob', fmt(b))
  end
  a = a + 1
  if wasf then f = f + 1 end
  if distinct and redis.call('SADD', O, ac) == 1 then d = d + 1 end
  redis.call('ZADD', B, fmt(b), fmt(b) .. ':' .. fmt(a) .. ':' .. fmt(f) .. ':' .. fmt(d))
end

-- record the event, once per member; true when it was new
local function record(K, member, e, failed, distinct, acct, cut, cap, width)
  local T, F, C, X, B, O, S = unpack(K)
  if member == '' or e < cut or redis.call('ZADD', T, 'NX', fmt(e), member) == 0 then return false end
  if failed then redis.call('ZADD', F, fmt(e), member) end
  if distinct then
    local prev = num(redis.call('ZSCORE', C, acct))
    local n = num(redis.call('HGET', S, 'n'))
    local p = '-inf'
    if prev then p = fmt(prev) end
    if n == nil or e > n then
      redis.call('HSET', S, 'n', fmt(e))
      redis.call('DEL', X)
      redis.call('ZADD', X, p, acct)
      redis.call('ZADD', C, fmt(e), acct)
    elseif e == n then
      if prev ~= e then
        redis.call('ZADD', X, p, acct)
        redis.call('ZADD', C, fmt(e), acct)
      end
    elseif prev == n then
      local px = num(redis.call('ZSCORE', X, acct))
      if px == nil or e > px then redis.call('ZADD', X, fmt(e), acct) end
    elseif prev == nil or e > prev then
      redis.call('ZADD', C, fmt(e), acct)
    end
  end
  local over = redis.call('ZCARD', T) - cap
  if over > 0 then
    local old = redis.call('ZPOPMIN', T, over)
    for j = 1, #old, 2 do fold(K, old[j], tonumber(old[j + 1]), distinct, width) end
  end
  return true
end

-- every key of a recorded login lives the longest window + late_s past its last write
-- (an account key never has the distinct-account sets C, X, O)
local function expire(K, ttl, distinct)
  for i, k in ipairs(K) do
    if distinct or (i ~= 3 and i ~= 4 and i ~= 6) then redis.call('PEXPIRE', k, ttl) end
  end
end

-- a successful login in its account's day hash: its device, IP, country, ASN (at most rcap of
-- each kind) and, when it is the day's latest, its signals
local function recent(R, e, last, rcap, rttl, fields)
  for _, fld in ipairs(fields) do
    if redis.call('HEXISTS', R, fld) == 0 then
      local nk = '#' .. string.sub(fld, 1, 1)
      if (tonumber(redis.call('HGET', R, nk)) or 0) < rcap then
        redis.call('HSET', R, fld, '1')
        redis.call('HINCRBY', R, nk, 1)
      end
    end
  end
  local lt = num(redis.call('HGET', R, 'lt'))
  if lt == nil or e >= lt then redis.call('HSET', R, 'lt', fmt(e), 'last', last) end
  redis.call('EXPIRE', R, rttl)
end
"""

# One key of one login (KEYS: the key's seven names, then the account's day hash when the login
# is a success to record; ARGV: q or '', member or '', time, failed, distinct, account, cut, cap,
# bucket width, ttl ms, then for the day hash: the signals JSON, recent_values, its ttl s, fields).
# Prunes, reads the windows at q (when given), records the login; returns the 9 counts (or none).
SCRIPT = _FUNCTIONS + r"""
local K = {KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7]}
local q, member, e = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3])
local failed, distinct, acct = ARGV[4] == '1', ARGV[5] == '1', ARGV[6]
local cut, cap, width, ttl = tonumber(ARGV[7]), tonumber(ARGV[8]), tonumber(ARGV[9]), ARGV[10]
local coarse = prune(K, cut, width, distinct)
local out = {}
if q then out = read(K, q, distinct, coarse, width) end
if record(K, member, e, failed, distinct, acct, cut, cap, width) then
  expire(K, ttl, distinct)
  if KEYS[8] then
    local fields = {}
    for j = 14, #ARGV do fields[#fields + 1] = ARGV[j] end
    recent(KEYS[8], e, ARGV[11], tonumber(ARGV[12]), ARGV[13], fields)
  end
end
return out
"""
SHA = hashlib.sha1(SCRIPT.encode()).hexdigest()

# Many logins recorded at once (`/v1/events`), in one call: ARGV = cut, cap, bucket width, ttl ms,
# recent_values, the day hashes' ttl s, then one JSON array with per key of each login
# [key prefix, member, time, failed, distinct, account, day hash or '', signals JSON, fields...]
# (strings only: JSON numbers would lose microseconds). Each key is pruned and its expiry set once
# per call, however many of the logins share it; the counts equal one SCRIPT call per key in order.
# The keys are named inside the script, so this call needs a single Redis node (no cluster).
BATCH = _FUNCTIONS + r"""
local cut, cap, width, ttl = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4]
local rcap, rttl = tonumber(ARGV[5]), ARGV[6]
local seen, order = {}, {}
for _, c in ipairs(cjson.decode(ARGV[7])) do
  local p, distinct = c[1], c[5] == '1'
  local k = seen[p]
  if not k then
    k = {K = names(p), distinct = distinct, written = false}
    prune(k.K, cut, width, distinct)
    seen[p] = k
    order[#order + 1] = p
  end
  local e = tonumber(c[3])
  if record(k.K, c[2], e, c[4] == '1', distinct, c[6], cut, cap, width) then
    k.written = true
    if c[7] ~= '' then recent(c[7], e, c[8], rcap, rttl, {unpack(c, 9)}) end
  end
end
for _, p in ipairs(order) do
  local k = seen[p]
  if k.written then expire(k.K, ttl, k.distinct) end
end
return #order
"""
BATCH_SHA = hashlib.sha1(BATCH.encode()).hexdigest()
SUFFIXES = (":t", ":f", ":c", ":x", ":b", ":o", ":s")


def key_prefix(code: str, value: str) -> str:
    return f"ato:w:{{{code}:{value}}}"


def recent_key(account: str, day_s: int) -> str:
    """The hash of an account's successful logins of one day (same hash tag as its windows)."""
    return f"{key_prefix('a', account)}:r:{day_s}"


def member(code: str, event_id: str, account: str) -> str:
    """An event's member in its key's sorted sets: the id alone for the account key, else the id's
    byte length, ':', the id and the account (so any character in either is fine)."""
    return event_id if code == "a" else f"{len(event_id.encode())}:{event_id}{account}"
