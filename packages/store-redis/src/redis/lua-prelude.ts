// Lua shared by every script. The scripts (lua-record-scripts.ts, lua-bucket-scripts.ts)
// are behind every multi-step operation. Each runs atomically in Redis and
// touches only keys of one bucket (one hash tag, one cluster slot), except
// where a standalone store passes several buckets at once.
// Key names follow key-layout.ts: <base>s:<id>, <base>all, <base>sub:<subject>,
// <base>tx:<tx>, where <base> is `<prefix>{<tag>}:`. Values follow
// codec.ts. Numbers go to Redis as strings (ARGV or %.0f) because Lua
// prints large numbers in exponent form.
//
// Scripts signal malformed data with the error reply CLOAKROOM_BAD; the
// TypeScript side maps it (and WRONGTYPE) to StoreDataInvalid.

/** Helpers prepended to every script: record decoding, index upkeep, CAS. */
export const PRELUDE = `
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

-- CAS-replace the live record at key; 1 written (and the header it replaced), 0 not
-- (missing, dead, pending, other version).
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
  return 1, cur
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
