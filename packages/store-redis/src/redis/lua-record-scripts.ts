// Scripts that change one record (and its index entries). See lua-prelude.ts
// for the key names, value layout and error convention.
import { PRELUDE, PRELUDE_BASE, PRELUDE_FRESH, PRELUDE_REST } from './lua-prelude';

/**
 * KEYS: record. ARGV: now, expiresAt, id, base, subject, value. → 1 inserted
 * (with a seat taken now), 0 conflict.
 */
export const INSERT = `${PRELUDE_BASE}${PRELUDE_FRESH}
local now = tonumber(ARGV[1])
local exp = tonumber(ARGV[2])
if exp > now then
  -- The usual case, a free id: SET NX GET writes the record only there, and
  -- answers what is in the way otherwise (then the general path below).
  local ms = num(exp - now)
  if not redis.call('SET', KEYS[1], ARGV[6], 'NX', 'PX', ms, 'GET') then
    local err = fresh(ARGV[4], ARGV[3], ARGV[5], ARGV[2], ms, now)
    if not err then return 1 end
    redis.call('DEL', KEYS[1])
    return err
  end
end
${PRELUDE_REST}
local free = claim(KEYS[1], ARGV[4], ARGV[3], ARGV[5], now)
if free == -1 then return bad() end
if free == 0 then return 0 end
put(KEYS[1], ARGV[4], ARGV[3], ARGV[5], ARGV[2], ARGV[6], now, seatnow())
return 1
`;

/**
 * KEYS: record. ARGV: now, expectedVersion, expiresAt, id, base, subject, value.
 * → 1 written, 2 written and it took something away (an earlier expiry or
 * another subject: a revocation for the replication guarantee), 0 not written.
 */
export const REPLACE = `${PRELUDE}
local r, cur = cas(KEYS[1], ARGV[5], ARGV[4], tonumber(ARGV[2]), ARGV[6], ARGV[3], ARGV[7], tonumber(ARGV[1]))
if r == -1 then return bad() end
if r == 1 and (tonumber(ARGV[3]) < cur.exp or cur.subj ~= ARGV[6]) then return 2 end
return r
`;

/**
 * KEYS: old record, next record (one slot, or a standalone server).
 * ARGV: now, expectedVersion, old id, old base, old subject, old expiresAt, old value,
 *       next id, next base, next subject, next expiresAt, next value.
 * → 1 rotated, 0 version check failed, 2 next id occupied. Nothing changes unless 1.
 * Next takes over old's seat (its score and place) and old loses its seat
 * member (a forwarder holds no seat). When old holds no seat (no member: a
 * forwarder, or written before seats), next takes a fresh one, now (last in the order), so no live record
 * escapes the count by being rotated.
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
local _, _, seat = cas(KEYS[1], ARGV[4], ARGV[3], tonumber(ARGV[2]), ARGV[5], ARGV[6], ARGV[7], now, true)
if not seat or tonumber(seat) <= 0 then seat = seatnow() end
put(KEYS[2], ARGV[9], ARGV[8], ARGV[10], ARGV[11], ARGV[12], now, seat)
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
 * Seats are not handed over across slots: old keeps its seat and the promoted
 * next has no seat member (no seat). A cluster store offers no
 * insertWithLimit, so nothing reads them there.
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
 * A value already live (the writer or another reader promoted it since the
 * caller read it) is answered as it is, so a reader racing the writer never
 * takes a finished rotate for a missing successor.
 * KEYS: next record. ARGV: now, tx, id, base. → the live value, or nil.
 */
export const PROMOTE = `${PRELUDE}
local now = tonumber(ARGV[1])
local v = redis.call('GET', KEYS[1])
local cur = rec(v)
if cur == false then return bad() end
if not cur then return false end
if cur.kind == 1 then
  if cur.exp <= now then return false end
  return v
end
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
