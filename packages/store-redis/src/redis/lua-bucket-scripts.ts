// Scripts that walk whole buckets: subject listing and deletion, scan, and
// the key-set write. See lua-prelude.ts for conventions.
import { PRELUDE } from './lua-prelude';

// The subject operations come in two shapes with one body. On a cluster
// (or in clusterMode) each call names its buckets' index keys in KEYS, one
// bucket per script. On a standalone server one script walks every bucket:
// the bucket tags are part of its text, so the call sends one key and a few
// arguments rather than 256 index keys, and the script finds the buckets
// that hold the subject with one EXISTS per 16 of them instead of a TYPE per
// bucket (what a standalone server alone allows, as for insertWithLimit).

/**
 * Lua: the bucket tags as the table TAGS. They go into a script's text, so
 * each is checked to be plain base-36 first.
 */
function tagTable(tags: readonly string[]): string {
  for (const tag of tags) if (!/^[a-z0-9]+$/.test(tag)) throw new Error('bad bucket tag');
  return `local TAGS = { '${tags.join("', '")}' }\n`;
}

/** Lua: `keys` for the per-bucket shape, the index keys named in KEYS (false on a key of another type). */
const KEYS_GIVEN = 'local keys = present(KEYS)\n';

/**
 * Lua: `keys` for the standalone shape: the subject's index key in every
 * bucket that has one, built from the tags and ARGV[3] (the prefix); false
 * when one holds another type. EXISTS counts each group of 16; in a group
 * that has any, a TYPE per key until that many are found, so a key of
 * another type is still seen (EXISTS counts it too).
 */
function keysFound(tags: readonly string[]): string {
  return `${tagTable(tags)}local function found()
  local out = {}
  local pre, post = ARGV[3] .. '{', '}:sub:' .. ARGV[2]
  for g = 1, #TAGS, 16 do
    local names = {}
    for i = g, math.min(g + 15, #TAGS) do names[#names + 1] = pre .. TAGS[i] .. post end
    local n = redis.call('EXISTS', unpack(names))
    for _, k in ipairs(names) do
      if n == 0 then break end
      local t = redis.call('TYPE', k).ok
      if t == 'zset' then
        out[#out + 1] = k
        n = n - 1
      elseif t ~= 'none' then
        return false
      end
    end
  end
  return out
end
local keys = found()
`;
}

function listSubject(keys: string): string {
  return `${PRELUDE}
local now = tonumber(ARGV[1])
local subj = ARGV[2]
local cut = #subj + 4
${keys}if not keys then return bad() end
local out = { 0 }
for _, key in ipairs(keys) do
  local base = string.sub(key, 1, #key - cut)
  if not zsets({ base .. 'seat:' .. subj }) then return bad() end
  -- An index key never expires before its latest member (a write that adds
  -- one raises the expiry): lowered again only where this walk removed members.
  local changed = prune(base, subj, now) > 0
  for _, id in ipairs(redis.call('ZRANGE', key, 0, -1)) do
    local v = read(base .. 's:' .. id)
    local cur = rec(v)
    if cur == nil or (cur and cur.subj ~= subj) then
      redis.call('ZREM', key, id)
      redis.call('ZREM', base .. 'seat:' .. subj, id)
      changed = true
    elseif cur == false then
      out[1] = out[1] + 1
    elseif cur.kind == 1 and cur.exp > now then
      out[#out + 1] = id
      out[#out + 1] = v
    end
  end
  if changed then tidysub(base, subj, now) end
end
return out
`;
}

function deleteSubject(keys: string): string {
  return `${PRELUDE}
local now = tonumber(ARGV[1])
local subj = ARGV[2]
local cut = #subj + 4
${keys}if not keys then return bad() end
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
  redis.call('DEL', key, base .. 'seat:' .. subj)
end
return count
`;
}

/**
 * KEYS: the subject's index key in one or more buckets. ARGV: now, subject.
 * Prunes dead members and ghosts (record gone or now another subject's), from the index and its seats.
 * → { malformed count, id1, value1, id2, value2, ... } for live records.
 */
export const LIST_SUBJECT = listSubject(KEYS_GIVEN);

/**
 * {@link LIST_SUBJECT} over every bucket of a standalone server, the bucket
 * tags in the script. KEYS: the subject's index key in bucket 0 (read like
 * the others). ARGV: now, subject, prefix. Same reply.
 */
export function listSubjectAllScript(tags: readonly string[]): string {
  return listSubject(keysFound(tags));
}

/**
 * KEYS: the subject's index key in one or more buckets. ARGV: now, subject.
 * Deletes every record of the subject (pending successors too) and the index.
 * → the number of live records deleted.
 */
export const DELETE_SUBJECT = deleteSubject(KEYS_GIVEN);

/**
 * {@link DELETE_SUBJECT} over every bucket of a standalone server, the
 * bucket tags in the script. KEYS: the subject's index key in bucket 0.
 * ARGV: now, subject, prefix. Same reply.
 */
export function deleteSubjectAllScript(tags: readonly string[]): string {
  return deleteSubject(keysFound(tags));
}

/**
 * SessionStore.insertWithLimit on a standalone server: one script over every
 * bucket, so counting, evicting and inserting are one atomic step. The bucket
 * tags are part of the script text (they are fixed, see key-layout.ts), so a
 * call sends one key and a few arguments rather than 256 index keys; the
 * script builds the subject's seat key of every bucket itself, which only
 * a standalone server allows (the store offers this nowhere else), and
 * finds the ones that exist with one EXISTS per 16 buckets.
 * KEYS: the record. ARGV: now, expiresAt, id, base, subject, value, max,
 * evict ('oldest' | 'refuse'), prefix.
 * Counts the live seated records of the subject: it walks the seat keys'
 * positive scores only, so forwarders and records written before seats (no
 * seat member) are never read, counted nor evicted, and the cost follows
 * the number of seated records. Below max it inserts; at or above it,
 * 'refuse' changes nothing and 'oldest' deletes the earliest-seated records
 * until one seat is free, then inserts with a seat taken now, or just after
 * the subject's latest seat when the server clock is behind it.
 * → { 1, evicted id, ... } (oldest first), { 0 } live record at the id
 * (nothing changed), { 2 } refused (nothing changed).
 */
export function insertLimitScript(tags: readonly string[]): string {
  return `${PRELUDE}
${tagTable(tags)}local now = tonumber(ARGV[1])
local id, base, subj = ARGV[3], ARGV[4], ARGV[5]
local max = tonumber(ARGV[7])
-- Reads and type checks first: a conflict or malformed data changes nothing.
local cur = rec(redis.call('GET', KEYS[1]))
if cur == false then return bad() end
if cur and (cur.kind == 2 or cur.exp > now) then return { 0 } end
if not zsets(idx(base, subj, cur and cur.subj)) then return bad() end
local seated, ghosts, bases = {}, {}, {}
-- The latest seat of the subject: a new seat never sorts before it.
local top = 0
-- The buckets whose seat key exists: one EXISTS per 16 buckets, then one
-- command per bucket only in groups that have one (a subject rarely spans many).
local live = {}
local pre, post = ARGV[9] .. '{', '}:seat:' .. subj
for g = 1, #TAGS, 16 do
  local last = math.min(g + 15, #TAGS)
  local names = {}
  for i = g, last do names[#names + 1] = pre .. TAGS[i] .. post end
  if redis.call('EXISTS', unpack(names)) > 0 then
    for i = g, last do live[#live + 1] = pre .. TAGS[i] .. '}:' end
  end
end
for _, b in ipairs(live) do
  -- Taken seats only (score > 0). A key of another type answers an error, not a crash.
  local members = redis.pcall('ZRANGEBYSCORE', b .. 'seat:' .. subj, '(0', '+inf', 'WITHSCORES')
  if members.err then return bad() end
  if #members > 0 then
    if not zsets({ b .. 'sub:' .. subj, b .. 'all' }) then return bad() end
    bases[#bases + 1] = b
    for k = 1, #members, 2 do
      local m, s = members[k], tonumber(members[k + 1])
      if s > top then top = s end
      local c = rec(read(b .. 's:' .. m))
      if c == false then return bad() end
      if c == nil or c.subj ~= subj then
        ghosts[#ghosts + 1] = { b, m }
      elseif c.kind == 1 and c.exp > now then
        -- { order, expiresAt, id, base }
        seated[#seated + 1] = { s, c.exp, m, b }
      end
    end
  end
end
local over = #seated - max + 1
if over > 0 and ARGV[8] ~= 'oldest' then return { 2 } end
-- Writes.
for _, b in ipairs(bases) do prune(b, subj, now) end
for _, g in ipairs(ghosts) do
  redis.call('ZREM', g[1] .. 'sub:' .. subj, g[2])
  redis.call('ZREM', g[1] .. 'seat:' .. subj, g[2])
end
local out = { 1 }
if over > 0 then
  table.sort(seated, function(x, y)
    if x[1] ~= y[1] then return x[1] < y[1] end
    if x[2] ~= y[2] then return x[2] < y[2] end
    return x[3] ~= y[3] and le(x[3], y[3])
  end)
  for i = 1, over do
    local v = seated[i]
    redis.call('DEL', v[4] .. 's:' .. v[3])
    unindex(v[4], v[3], subj)
    out[#out + 1] = v[3]
  end
end
if cur then
  redis.call('DEL', KEYS[1])
  unindex(base, id, cur.subj)
end
local seat = seatnow()
if tonumber(seat) <= top then seat = num(top + 1) end
put(KEYS[1], base, id, subj, ARGV[2], ARGV[6], now, seat)
return out
`;
}

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
