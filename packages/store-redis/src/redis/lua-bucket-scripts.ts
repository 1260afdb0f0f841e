// Scripts that walk whole buckets: subject listing and deletion, scan, and
// the key-set write. See lua-prelude.ts for conventions.
import { PRELUDE } from './lua-prelude';

/**
 * KEYS: the subject's index key in one or more buckets. ARGV: now, subject.
 * Prunes dead members and ghosts (record gone or now another subject's).
 * → { malformed count, id1, value1, id2, value2, ... } for live records.
 */
export const LIST_SUBJECT = `${PRELUDE}
local now = tonumber(ARGV[1])
local subj = ARGV[2]
local cut = #subj + 4
local keys = present(KEYS)
if not keys then return bad() end
local out = { 0 }
for _, key in ipairs(keys) do
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
local keys = present(KEYS)
if not keys then return bad() end
local count = 0
for _, key in ipairs(keys) do
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

/**
 * KEYS: key-set key. ARGV: expected version ('' = create only), new value.
 * Values are core's key-set entries ("CRKS", format 1, version float64 at
 * byte 5, length uint32, document, SHA-256): the script checks the frame and
 * reads the version; the reader checks the digest. → 1 written / 0 not.
 */
export const KEY_SET_WRITE = `${PRELUDE}
local v = redis.call('GET', KEYS[1])
local cur = nil
if v then
  if #v < 49 or string.sub(v, 1, 5) ~= 'CRKS\\1' then return bad() end
  local n = struct.unpack('>I4', v, 14)
  if #v ~= 49 + n then return bad() end
  cur = struct.unpack('>d', v, 6)
end
if ARGV[1] == '' then
  if cur then return 0 end
elseif not cur or cur ~= tonumber(ARGV[1]) then
  return 0
end
redis.call('SET', KEYS[1], ARGV[2])
return 1
`;

/**
 * KEYS: the scan-cursor key. ARGV: a fresh random key. The key every store
 * instance under this prefix signs scan cursors with: the stored one, or
 * the fresh one when none is stored yet (first caller wins). No expiry.
 */
export const CURSOR_KEY = `
local v = redis.call('GET', KEYS[1])
if v then return v end
redis.call('SET', KEYS[1], ARGV[1])
return ARGV[1]
`;
