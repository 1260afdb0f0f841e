// Lua shared by every script. The scripts (lua-record-scripts.ts, lua-bucket-scripts.ts)
// are behind every multi-step operation. Each runs atomically in Redis and
// touches only keys of one bucket (one hash tag, one cluster slot), except
// where a standalone store passes several buckets at once.
// Key names follow key-layout.ts: <base>s:<id>, <base>all, <base>sub:<subject>,
// <base>seat:<subject>, <base>tx:<tx>, where <base> is `<prefix>{<tag>}:`. Values follow
// codec.ts. Numbers go to Redis as strings (ARGV or %.0f) because Lua
// prints large numbers in exponent form.
//
// Seats (SessionStore.insertWithLimit): <base>seat:<subject> gives each record
// of the subject in the bucket the moment its seat was taken (Redis TIME, in
// microseconds: one clock for the whole fleet). Only seated records have a
// member: rotate's old record (a forwarder) loses its own, and a record written
// before seats existed (or by an older release), or by a cross-slot rotate (see
// rotate.ts), never had one: it holds no seat, since it may be a forwarder; the
// rotate script gives its successor a fresh one. Readers also skip members
// scored <= 0 (-1 marked a forwarder in unreleased builds). The seat key is pruned and expires with the
// subject index (tidysub), and every script that drops a member from a subject
// index drops it from the seats too.
//
// Scripts signal malformed data with the error reply CLOAKROOM_BAD; the
// TypeScript side maps it (and WRONGTYPE) to StoreDataInvalid.

/** Helpers of every script that `fresh` needs too. */
export const PRELUDE_BASE = `
local function num(x) return string.format('%.0f', x) end
local function bad() return redis.error_reply('CLOAKROOM_BAD malformed value under the store prefix') end

-- Now on the Redis server, in microseconds: the score of a seat taken now.
local function seatnow()
  local t = redis.call('TIME')
  return t[1] .. string.format('%06d', tonumber(t[2]))
end

-- Drop the members of a subject index dead at now, from the index and its seats.
-- → how many were dropped.
local function prune(base, subj, now)
  local key = base .. 'sub:' .. subj
  local dead = redis.call('ZRANGEBYSCORE', key, '-inf', num(now))
  for i = 1, #dead, 500 do
    local j = math.min(i + 499, #dead)
    redis.call('ZREM', key, unpack(dead, i, j))
    redis.call('ZREM', base .. 'seat:' .. subj, unpack(dead, i, j))
  end
  return #dead
end
`;

/**
 * `fresh`: a plain insert of a free id. INSERT runs it before PRELUDE_REST
 * is even defined (each helper is a closure made on every call).
 */
export const PRELUDE_FRESH = `
-- ZADD a new member to index keys, in order: the ZADDs are the type checks.
-- adds = { key, score, ... }. Nothing changes when one fails (a key of another
-- type): the members added before it are removed again. A member already there
-- (a ghost: its record is gone) keeps its score until every ZADD passed.
-- → nil, or the error reply to return.
local function zadds(adds, id)
  local moved = {}
  for i = 1, #adds, 2 do
    local r = redis.pcall('ZADD', adds[i], 'NX', adds[i + 1], id)
    if type(r) == 'table' then
      for j = 1, i - 2, 2 do
        if not moved[j] then redis.call('ZREM', adds[j], id) end
      end
      if string.find(r.err, 'WRONGTYPE', 1, true) then return bad() end
      return r
    end
    if r == 0 then moved[i] = true end
  end
  for i in pairs(moved) do redis.call('ZADD', adds[i], adds[i + 1], id) end
end

-- Make an index key live at least ms more, never shortening it. A key this
-- script created (fresh) has no expiry yet. GT leaves a key without one
-- alone (it reads it as never expiring), and the store never leaves one so:
-- NX then gives it the expiry of the latest member of top (the key itself,
-- or the subject index a seat key follows), as tidy would.
local function extend(key, ms, fresh, top, now)
  if fresh then
    redis.call('PEXPIRE', key, ms)
  elseif redis.call('PEXPIRE', key, ms, 'GT') == 0 and redis.call('PEXPIRE', key, ms, 'NX') == 1 then
    local t = redis.call('ZRANGE', top, -1, -1, 'WITHSCORES')
    redis.call('PEXPIRE', key, num(math.max(tonumber(ms), tonumber(t[2]) - now)))
  end
end

-- Index a new live record (live ms more) and give it a seat, doing only what
-- the new member changes: dead members are pruned from index keys that
-- existed, and each key's expiry is raised to the record's when later. Unlike
-- tidy, an expiry is never lowered: a key outlives its last member only after
-- a record that lived longer was removed early. Nothing is written when an
-- index key has another type. → nil, or the error reply to return.
local function fresh(base, id, subj, expStr, ms, now)
  local all, sub, seats = base .. 'all', base .. 'sub:' .. subj, base .. 'seat:' .. subj
  local n = redis.call('EXISTS', sub, seats)
  local hasSub, hasSeats = n == 2, n == 2
  if n == 1 then hasSub = redis.call('EXISTS', sub) == 1; hasSeats = not hasSub end
  local err = zadds({ all, expStr, sub, expStr, seats, seatnow() }, id)
  if err then return err end
  redis.call('ZREMRANGEBYSCORE', all, '-inf', num(now))
  extend(all, ms, false, all, now)
  if hasSub then prune(base, subj, now) end
  extend(sub, ms, not hasSub, sub, now)
  extend(seats, ms, not hasSeats, sub, now)
end
`;

/** The other helpers: record decoding, index upkeep, CAS. */
export const PRELUDE_REST = `
-- nil when absent, false when malformed, else the decoded header.
local function rec(v)
  if not v then return nil end
  if #v < 20 or string.byte(v, 1) ~= 199 then return false end
  local kind = string.byte(v, 2)
  if kind ~= 1 and kind ~= 2 then return false end
  local exp, ver, n = struct.unpack('>ddH', v, 3)
  if n == 0 or #v < 20 + n then return false end
  return { kind = kind, exp = exp, ver = ver, subj = string.sub(v, 21, 20 + n), after = 21 + n }
end

-- Scripts are not rolled back on error: check every index key a script
-- will write is a sorted set (or absent) before its first write.
local function zsets(keys)
  for _, k in ipairs(keys) do
    local t = redis.call('TYPE', k).ok
    if t ~= 'zset' and t ~= 'none' then return false end
  end
  return true
end

-- Of keys that must be sorted sets or absent: the ones present, or false
-- when one holds another type. One TYPE per key, no EXISTS after it.
local function present(keys)
  local out = {}
  for _, k in ipairs(keys) do
    local t = redis.call('TYPE', k).ok
    if t == 'zset' then
      out[#out + 1] = k
    elseif t ~= 'none' then
      return false
    end
  end
  return out
end

-- GET that reads a wrong-typed key as malformed ('' decodes to false) instead of failing the script.
local function read(k)
  local v = redis.pcall('GET', k)
  if type(v) == 'table' then return '' end
  return v
end

-- The index keys of a bucket a write may touch: all, and the subject index and seats of a (and b).
local function idx(base, a, b)
  local keys = { base .. 'all', base .. 'sub:' .. a, base .. 'seat:' .. a }
  if b then
    keys[4] = base .. 'sub:' .. b
    keys[5] = base .. 'seat:' .. b
  end
  return keys
end

-- Drop members dead at now and make the index key expire with its last member.
local function tidy(key, now)
  redis.call('ZREMRANGEBYSCORE', key, '-inf', num(now))
  local top = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
  if top[2] then redis.call('PEXPIRE', key, num(math.max(1, tonumber(top[2]) - now))) end
end

-- tidy for a subject index: its seats follow it (pruned with it, same expiry, gone with it).
local function tidysub(base, subj, now)
  prune(base, subj, now)
  local key = base .. 'sub:' .. subj
  local top = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
  if top[2] then
    local ms = num(math.max(1, tonumber(top[2]) - now))
    redis.call('PEXPIRE', key, ms)
    redis.call('PEXPIRE', base .. 'seat:' .. subj, ms)
  else
    redis.call('DEL', base .. 'seat:' .. subj)
  end
end

local function index(base, id, subj, score, now)
  redis.call('ZADD', base .. 'all', score, id)
  tidy(base .. 'all', now)
  redis.call('ZADD', base .. 'sub:' .. subj, score, id)
  tidysub(base, subj, now)
end

local function unindex(base, id, subj)
  redis.call('ZREM', base .. 'all', id)
  if subj then
    redis.call('ZREM', base .. 'sub:' .. subj, id)
    redis.call('ZREM', base .. 'seat:' .. subj, id)
  end
end

-- Write a live record value (or drop it when already dead) and index it.
-- seat: the record's seat score to write, or nil to leave its seat member as it is.
local function put(key, base, id, subj, expStr, value, now, seat)
  local exp = tonumber(expStr)
  if exp <= now then
    redis.call('DEL', key)
    unindex(base, id, subj)
    return
  end
  redis.call('SET', key, value, 'PX', num(exp - now))
  -- Before index: tidysub then gives a new seat key its expiry.
  if seat then redis.call('ZADD', base .. 'seat:' .. subj, seat, id) end
  index(base, id, subj, expStr, now)
end

-- CAS-replace the live record at key; 1 written (and the header it replaced, and
-- the record's seat score: nil when it has no seat member), 0 not (missing, dead,
-- pending, other version). The record keeps its seat (moving it when the subject
-- changes), or loses it when unseat is set.
local function cas(key, base, id, expected, subj, expStr, value, now, unseat)
  local cur = rec(redis.call('GET', key))
  if cur == false then return -1 end
  if not cur or cur.kind ~= 1 or cur.exp <= now or cur.ver ~= expected then return 0 end
  if not zsets(idx(base, subj, cur.subj)) then return -1 end
  local seat = redis.call('ZSCORE', base .. 'seat:' .. cur.subj, id)
  local keep = nil
  if cur.subj ~= subj then
    redis.call('ZREM', base .. 'sub:' .. cur.subj, id)
    redis.call('ZREM', base .. 'seat:' .. cur.subj, id)
    tidysub(base, cur.subj, now)
    keep = seat
  end
  if unseat then
    keep = nil
    redis.call('ZREM', base .. 'seat:' .. subj, id)
  end
  put(key, base, id, subj, expStr, value, now, keep)
  return 1, cur, seat
end

-- Make room for a new record at key: 1 free (expired leftovers removed), 0 occupied.
local function claim(key, base, id, subj, now)
  local cur = rec(redis.call('GET', key))
  if cur == false then return -1 end
  if not zsets(idx(base, subj, cur and cur.subj)) then return -1 end
  if cur then
    if cur.kind == 2 or cur.exp > now then return 0 end
    redis.call('DEL', key)
    unindex(base, id, cur.subj)
  end
  return 1
end

-- Bytewise a <= b, as Redis orders members of equal score (Lua's < uses the locale).
local function le(a, b)
  local n = math.min(#a, #b)
  for i = 1, n do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then return x < y end
  end
  return #a <= #b
end
`;

/** Helpers prepended to every script: record decoding, index upkeep, CAS. */
export const PRELUDE = `${PRELUDE_BASE}${PRELUDE_REST}`;
