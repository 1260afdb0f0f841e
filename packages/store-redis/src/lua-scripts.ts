// The Lua scripts behind every multi-step operation. Each runs atomically
// in Redis and touches only keys of one bucket (one hash tag, one cluster
// slot), except where the standalone store passes several buckets at once.
// Key names follow key-layout.ts: <base>s:<id>, <base>all, <base>sub:<subject>,
// <base>tx:<tx>, where <base> is `<prefix>{<tag>}:`. Values follow
// record-codec.ts. Numbers go to Redis as strings (ARGV or %.0f) because Lua
// prints large numbers in exponent form.
//
// Scripts signal malformed data with the error reply CLOAKROOM_BAD; the
// TypeScript side maps it (and WRONGTYPE) to StoreDataInvalid.

const PRELUDE = `
local function num(x) return string.format('%.0f', x) end
local function bad() return redis.error_reply('CLOAKROOM_BAD malformed value under the store prefix') end

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

-- GET that reads a wrong-typed key as malformed ('' decodes to false) instead of failing the script.
local function read(k)
  local v = redis.pcall('GET', k)
  if type(v) == 'table' then return '' end
  return v
end

local function idx(base, a, b)
  local keys = { base .. 'all', base .. 'sub:' .. a }
  if b then keys[3] = base .. 'sub:' .. b end
  return keys
end

-- Drop members dead at now and make the index key expire with its last member.
local function tidy(key, now)
  redis.call('ZREMRANGEBYSCORE', key, '-inf', num(now))
  local top = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
  if top[2] then redis.call('PEXPIRE', key, num(math.max(1, tonumber(top[2]) - now))) end
end

local function index(base, id, subj, score, now)
  redis.call('ZADD', base .. 'all', score, id)
  tidy(base .. 'all', now)
  redis.call('ZADD', base .. 'sub:' .. subj, score, id)
  tidy(base .. 'sub:' .. subj, now)
end

local function unindex(base, id, subj)
  redis.call('ZREM', base .. 'all', id)
  if subj then redis.call('ZREM', base .. 'sub:' .. subj, id) end
end

-- Write a live record value (or drop it when already dead) and index it.
local function put(key, base, id, subj, expStr, value, now)
  local exp = tonumber(expStr)
  if exp <= now then
    redis.call('DEL', key)
    unindex(base, id, subj)
    return
  end
  redis.call('SET', key, value, 'PX', num(exp - now))
  index(base, id, subj, expStr, now)
end

-- CAS-replace the live record at key; 1 written, 0 not (missing, dead, pending, other version).
local function cas(key, base, id, expected, subj, expStr, value, now)
  local cur = rec(redis.call('GET', key))
  if cur == false then return -1 end
  if not cur or cur.kind ~= 1 or cur.exp <= now or cur.ver ~= expected then return 0 end
  if not zsets(idx(base, subj, cur.subj)) then return -1 end
  if cur.subj ~= subj then
    redis.call('ZREM', base .. 'sub:' .. cur.subj, id)
    tidy(base .. 'sub:' .. cur.subj, now)
  end
  put(key, base, id, subj, expStr, value, now)
  return 1
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

/** KEYS: record. ARGV: now, expiresAt, id, base, subject, value. → 1 inserted, 0 conflict. */
export const INSERT = `${PRELUDE}
local now = tonumber(ARGV[1])
local free = claim(KEYS[1], ARGV[4], ARGV[3], ARGV[5], now)
if free == -1 then return bad() end
if free == 0 then return 0 end
put(KEYS[1], ARGV[4], ARGV[3], ARGV[5], ARGV[2], ARGV[6], now)
return 1
`;

/** KEYS: record. ARGV: now, expectedVersion, expiresAt, id, base, subject, value. → 1 / 0. */
export const REPLACE = `${PRELUDE}
local r = cas(KEYS[1], ARGV[5], ARGV[4], tonumber(ARGV[2]), ARGV[6], ARGV[3], ARGV[7], tonumber(ARGV[1]))
if r == -1 then return bad() end
return r
`;

/**
 * KEYS: old record, next record (one slot, or a standalone server).
 * ARGV: now, expectedVersion, old id, old base, old subject, old expiresAt, old value,
 *       next id, next base, next subject, next expiresAt, next value.
 * → 1 rotated, 0 version check failed, 2 next id occupied. Nothing changes unless 1.
 */
export const ROTATE = `${PRELUDE}
local now = tonumber(ARGV[1])
local cur = rec(redis.call('GET', KEYS[1]))
if cur == false then return bad() end
if not cur or cur.kind ~= 1 or cur.exp <= now or cur.ver ~= tonumber(ARGV[2]) then return 0 end
local nxt = rec(redis.call('GET', KEYS[2]))
if nxt == false then return bad() end
if nxt and (nxt.kind == 2 or nxt.exp > now) then return 2 end
if not zsets(idx(ARGV[4], ARGV[5], cur.subj)) or not zsets(idx(ARGV[9], ARGV[10], nxt and nxt.subj)) then
  return bad()
end
if nxt then
  redis.call('DEL', KEYS[2])
  unindex(ARGV[9], ARGV[8], nxt.subj)
end
cas(KEYS[1], ARGV[4], ARGV[3], tonumber(ARGV[2]), ARGV[5], ARGV[6], ARGV[7], now)
put(KEYS[2], ARGV[9], ARGV[8], ARGV[10], ARGV[11], ARGV[12], now)
return 1
`;

/**
 * Phase 1 of a cross-slot rotate: reserve the next id with a pending value.
 * KEYS: next record. ARGV: now, id, base, subject, pending value, pendingTtlMs.
 * → 1 reserved, 0 occupied.
 */
export const PREPARE = `${PRELUDE}
local now = tonumber(ARGV[1])
local free = claim(KEYS[1], ARGV[3], ARGV[2], ARGV[4], now)
if free == -1 then return bad() end
if free == 0 then return 0 end
local deadline = now + tonumber(ARGV[6])
redis.call('SET', KEYS[1], ARGV[5], 'PX', ARGV[6])
-- Indexed while pending so deleteBySubject also removes an in-flight successor.
index(ARGV[3], ARGV[2], ARGV[4], num(deadline), now)
return 1
`;

/**
 * Phase 2 (the commit point): CAS the old record and record the decision.
 * KEYS: old record. ARGV: now, expectedVersion, id, base, subject, expiresAt, value,
 * tx, decisionTtlMs. → 1 committed, 0 version check failed.
 */
export const DECIDE = `${PRELUDE}
local r = cas(KEYS[1], ARGV[4], ARGV[3], tonumber(ARGV[2]), ARGV[5], ARGV[6], ARGV[7], tonumber(ARGV[1]))
if r == -1 then return bad() end
if r == 1 then redis.call('SET', ARGV[4] .. 'tx:' .. ARGV[8], '1', 'PX', ARGV[9]) end
return r
`;

/**
 * Phase 3 of a cross-slot rotate, also run by a reader that finds a pending
 * value whose decision exists: turn the pending value into the live record.
 * KEYS: next record. ARGV: now, tx, id, base. → the live value, or nil.
 */
export const PROMOTE = `${PRELUDE}
local now = tonumber(ARGV[1])
local v = redis.call('GET', KEYS[1])
local cur = rec(v)
if cur == false then return bad() end
if not cur or cur.kind ~= 2 then return false end
local p = cur.after
local t = string.byte(v, p)
if not t or #v < p + t + 2 or string.sub(v, p + 1, p + t) ~= ARGV[2] then return false end
if not zsets(idx(ARGV[4], cur.subj)) then return bad() end
p = p + 1 + t
local m = struct.unpack('>H', v, p)
p = p + 2 + m
local live = string.char(199, 1) .. string.sub(v, 3, cur.after - 1) .. string.sub(v, p)
put(KEYS[1], ARGV[4], ARGV[3], cur.subj, num(cur.exp), live, now)
if cur.exp <= now then return false end
return live
`;

/** Undo phase 1 after a failed version check. KEYS: next record. ARGV: tx, id, base. */
export const ABORT = `${PRELUDE}
local v = redis.call('GET', KEYS[1])
local cur = rec(v)
if not cur or cur.kind ~= 2 then return 0 end
local t = string.byte(v, cur.after)
if not t or string.sub(v, cur.after + 1, cur.after + t) ~= ARGV[1] then return 0 end
if not zsets(idx(ARGV[3], cur.subj)) then return bad() end
redis.call('DEL', KEYS[1])
unindex(ARGV[3], ARGV[2], cur.subj)
return 1
`;

/**
 * KEYS: record. ARGV: now, id, base. Removes whatever is at the key (garbage
 * included, so an operator can clean up). → 1 when it was a live (or pending) record.
 */
export const DELETE = `${PRELUDE}
local now = tonumber(ARGV[1])
local v = redis.call('GET', KEYS[1])
if not v then return 0 end
local cur = rec(v)
if not zsets(idx(ARGV[3], cur and cur.subj or '')) then return bad() end
redis.call('DEL', KEYS[1])
if cur then unindex(ARGV[3], ARGV[2], cur.subj) else unindex(ARGV[3], ARGV[2], nil) end
if cur and (cur.kind == 2 or cur.exp > now) then return 1 end
return 0
`;

/**
 * KEYS: the subject's index key in one or more buckets. ARGV: now, subject.
 * Prunes dead members and ghosts (record gone or now another subject's).
 * → { malformed count, id1, value1, id2, value2, ... } for live records.
 */
export const LIST_SUBJECT = `${PRELUDE}
local now = tonumber(ARGV[1])
local subj = ARGV[2]
local cut = #subj + 4
if not zsets(KEYS) then return bad() end
local out = { 0 }
for i = 1, #KEYS do
  local key = KEYS[i]
  if redis.call('EXISTS', key) == 1 then
    local base = string.sub(key, 1, #key - cut)
    redis.call('ZREMRANGEBYSCORE', key, '-inf', num(now))
    for _, id in ipairs(redis.call('ZRANGE', key, 0, -1)) do
      local v = read(base .. 's:' .. id)
      local cur = rec(v)
      if cur == nil then
        redis.call('ZREM', key, id)
      elseif cur == false then
        out[1] = out[1] + 1
      elseif cur.subj ~= subj then
        redis.call('ZREM', key, id)
      elseif cur.kind == 1 and cur.exp > now then
        out[#out + 1] = id
        out[#out + 1] = v
      end
    end
    tidy(key, now)
  end
end
return out
`;

/**
 * KEYS: the subject's index key in one or more buckets. ARGV: now, subject.
 * Deletes every record of the subject (pending successors too) and the index.
 * → the number of live records deleted.
 */
export const DELETE_SUBJECT = `${PRELUDE}
local now = tonumber(ARGV[1])
local subj = ARGV[2]
local cut = #subj + 4
if not zsets(KEYS) then return bad() end
local count = 0
for i = 1, #KEYS do
  local key = KEYS[i]
  if redis.call('EXISTS', key) == 1 then
    local base = string.sub(key, 1, #key - cut)
    for _, id in ipairs(redis.call('ZRANGE', key, 0, -1)) do
      local rk = base .. 's:' .. id
      local cur = rec(read(rk))
      if cur and cur.subj == subj then
        redis.call('DEL', rk)
        redis.call('ZREM', base .. 'all', id)
        if cur.kind == 1 and cur.exp > now then count = count + 1 end
      end
    end
    redis.call('DEL', key)
  end
end
return count
`;

/**
 * KEYS: the expiry-ordered index of consecutive buckets, starting with the
 * cursor's. ARGV: now, limit, start score ('' = bucket start), start id.
 * Walks members in (score, id) order after the start position, so a record
 * that stays live and unchanged is returned exactly once.
 * → { malformed count, buckets finished, last score, last id, id1, value1, ... }.
 */
export const SCAN = `${PRELUDE}
local now = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
if not zsets(KEYS) then return bad() end
local out = { 0, 0, '', '' }
local found = 0
for i = 1, #KEYS do
  local key = KEYS[i]
  local base = string.sub(key, 1, #key - 3)
  redis.call('ZREMRANGEBYSCORE', key, '-inf', num(now))
  local pos = 0
  if i == 1 and ARGV[3] ~= '' then
    local s0, m0 = tonumber(ARGV[3]), ARGV[4]
    local lo, hi = 0, redis.call('ZCARD', key)
    while lo < hi do
      local mid = math.floor((lo + hi) / 2)
      local e = redis.call('ZRANGE', key, mid, mid, 'WITHSCORES')
      local s = tonumber(e[2])
      if s < s0 or (s == s0 and le(e[1], m0)) then lo = mid + 1 else hi = mid end
    end
    pos = lo
  end
  local finished = false
  while found < limit do
    local want = limit - found
    local batch = redis.call('ZRANGE', key, pos, pos + want - 1, 'WITHSCORES')
    local got = #batch / 2
    for j = 1, #batch, 2 do
      local id = batch[j]
      local v = read(base .. 's:' .. id)
      local cur = rec(v)
      if cur == false then
        out[1] = out[1] + 1
      elseif cur and cur.kind == 1 and cur.exp > now then
        found = found + 1
        out[#out + 1] = id
        out[#out + 1] = v
      end
      out[3] = batch[j + 1]
      out[4] = id
    end
    pos = pos + got
    if got < want then
      finished = true
      break
    end
  end
  if not finished then return out end
  out[2] = i
  out[3] = ''
  out[4] = ''
end
return out
`;

/** KEYS: key-set key. ARGV: expected version ('' = create only), new value. → 1 / 0. */
export const KEY_SET_WRITE = `${PRELUDE}
local v = redis.call('GET', KEYS[1])
local cur = nil
if v then
  if #v < 10 or string.byte(v, 1) ~= 199 or string.byte(v, 2) ~= 3 then return bad() end
  cur = struct.unpack('>d', v, 3)
end
if ARGV[1] == '' then
  if cur then return 0 end
elseif not cur or cur ~= tonumber(ARGV[1]) then
  return 0
end
redis.call('SET', KEYS[1], ARGV[2])
return 1
`;
