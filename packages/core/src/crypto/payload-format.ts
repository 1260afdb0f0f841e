// The plaintext inside a sealed record (its byte layout is specified in
// crypto/format.ts, layers 1 and 3). Internal.
import type { LockedSecrets, OpenedSecrets, SessionSecrets } from './bound-secrets';

export type { SessionSecrets } from './bound-secrets';

/** A live session. Times are epoch milliseconds. */
export interface LivePayload {
  readonly k: 'live';
  /**
   * Ticket-bound (the default): in a ticket-bound record (format 2, default
   * cipher) the secrets opened with the ticket (`OpenedSecrets`) or, read
   * without it, still sealed (`LockedSecrets`); in a two-layer record the
   * secrets sealed under a key derived from the ticket (`sealUnderTicket`
   * bytes). Either way server keys alone cannot read them. Otherwise the
   * secrets themselves (inside the storage-key layer only).
   */
  readonly inner: Uint8Array | SessionSecrets | OpenedSecrets | LockedSecrets;
  /** Signing key id of the token (ours, or the external issuer's). */
  readonly kid: string;
  /** Set for deposited sessions: the trusted issuer that vouched for the token. We never re-sign these. */
  readonly ext?: string;
  readonly tokenExp: number;
  /** Refresh lineage. */
  readonly fam: string;
  readonly created: number;
  readonly seen: number;
  readonly idle: number;
  readonly abs: number;
  readonly label?: string;
}

/** What remains of a session after refresh: points at its successor. */
export interface TombPayload {
  readonly k: 'tomb';
  readonly fam: string;
  readonly abs: number;
  /** Session id of the successor. */
  readonly next: string;
  /** The successor ticket, sealed under the old ticket (base64url), so only the old ticket's holder can read it. */
  readonly nextTicket: string;
  readonly nextExpiresAt: number;
  /** Until when presenting the old ticket to `refresh` hands back the same successor. */
  readonly grace: number;
}

export type SessionPayload = LivePayload | TombPayload;

// Outer plaintext, format 2: `0x02 ‖ metadata length (u32 BE) ‖ metadata
// JSON ‖ inner bytes`. The ticket-sealed secrets of a live ticket-bound
// payload travel as raw bytes after the JSON (format 1 carried them as
// base64url inside it: a third larger, and a decode on every resolve); the
// tail is empty for tombstones and for payloads that are not ticket-bound.
const FORMAT = 2;
const FRAME = 5;
const MAX_META_BYTES = 1 << 20;

export function encodePayload(payload: SessionPayload): Uint8Array {
  let meta: object = payload;
  let tail: Uint8Array | undefined;
  if (payload.k === 'live' && payload.inner instanceof Uint8Array) {
    const { inner, ...rest } = payload;
    meta = rest;
    tail = inner;
  }
  const json = JSON.stringify(meta);
  const metaBytes = Buffer.byteLength(json);
  const tailBytes = tail === undefined ? 0 : tail.byteLength;
  // Transient (sealed at once, then dropped): from Node's allocation pool.
  const out = Buffer.allocUnsafe(FRAME + metaBytes + tailBytes);
  out[0] = FORMAT;
  out.writeUInt32BE(metaBytes, 1);
  out.write(json, FRAME, 'utf8');
  if (tail !== undefined) out.set(tail, FRAME + metaBytes);
  return out;
}

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isStr = (v: unknown): v is string => typeof v === 'string';

/** Whether a decoded value has the shape of {@link SessionSecrets}. */
export function isSecrets(v: unknown): v is SessionSecrets {
  if (typeof v !== 'object' || v === null) return false;
  const o = v as Record<string, unknown>;
  return (
    isStr(o.sub) &&
    isStr(o.token) &&
    (o.refreshToken === undefined || isStr(o.refreshToken)) &&
    (o.idToken === undefined || isStr(o.idToken)) &&
    typeof o.claims === 'object' &&
    o.claims !== null &&
    !Array.isArray(o.claims)
  );
}

/**
 * Parse and validate; `undefined` when the bytes are not a payload this
 * version wrote. The bytes come out of an authenticated open, so they are
 * read with a plain (non-fatal) UTF-8 decode; the shape checks stay, cheap
 * and a guard against our own bugs.
 */
export function decodePayload(bytes: Uint8Array): SessionPayload | undefined {
  return decodeFrame(bytes, false);
}

/** Live metadata without its secrets: the operator copy of a ticket-bound record (layer 3). */
export type LiveMetadata = Omit<LivePayload, 'inner'>;

/**
 * The two plaintexts of a ticket-bound record (crypto/format.ts, layer 3):
 * the body, one frame whose JSON is the live payload with its secrets as
 * `inner` (one parse on resolve), and the operator copy, the same frame
 * without `inner`. Throws `TypeError` if the secrets cannot be serialized.
 */
export function encodeBound(
  payload: LivePayload,
  secrets: SessionSecrets,
): { body: Uint8Array; meta: Uint8Array } {
  const { inner: _, ...meta } = payload;
  const metaJson = JSON.stringify(meta);
  // The body's JSON is the metadata's with `inner` appended as its last
  // member: the same bytes as JSON.stringify({ ...meta, inner: secrets }),
  // with the metadata serialised once. JSON.stringify of a metadata object
  // always ends in `}` after at least one member (`k` and the others are
  // required); the secrets serialise on their own, and throw as before for
  // anything that cannot be.
  const secretsJson = JSON.stringify(secrets);
  if (typeof secretsJson !== 'string') throw new TypeError('session secrets are not serializable');
  return {
    body: frame(`${metaJson.slice(0, -1)},"inner":${secretsJson}}`),
    meta: frame(metaJson),
  };
}

function frame(json: string): Uint8Array {
  const n = Buffer.byteLength(json);
  // Transient (sealed at once, then dropped): from Node's allocation pool.
  const out = Buffer.allocUnsafe(FRAME + n);
  out[0] = FORMAT;
  out.writeUInt32BE(n, 1);
  out.write(json, FRAME, 'utf8');
  return out;
}

/**
 * The operator copy of a ticket-bound record's metadata; `undefined` when
 * the bytes are not one (a tail, a tombstone, a bad shape).
 */
export function decodeMetadata(bytes: Uint8Array): LiveMetadata | undefined {
  const p = decodeFrame(bytes, true);
  return p?.k === 'live' ? p : undefined;
}

function decodeFrame(bytes: Uint8Array, metaOnly: boolean): SessionPayload | undefined {
  if (bytes.byteLength < FRAME || bytes[0] !== FORMAT) return undefined;
  const buf =
    bytes instanceof Buffer ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const metaBytes = buf.readUInt32BE(1);
  if (metaBytes > MAX_META_BYTES || FRAME + metaBytes > bytes.byteLength) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(buf.toString('utf8', FRAME, FRAME + metaBytes));
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const p = value as Record<string, unknown>;
  if (!isStr(p.fam) || !isNum(p.abs)) return undefined;
  const tail = bytes.byteLength - FRAME - metaBytes;
  if (p.k === 'live') {
    if (metaOnly) {
      if (tail !== 0 || p.inner !== undefined) return undefined;
    } else if (tail > 0) {
      if (p.inner !== undefined) return undefined;
      p.inner = bytes.subarray(FRAME + metaBytes);
    } else if (!isSecrets(p.inner)) {
      return undefined;
    }
    if (
      !isStr(p.kid) ||
      !isNum(p.tokenExp) ||
      !isNum(p.created) ||
      !isNum(p.seen) ||
      !isNum(p.idle) ||
      (p.label !== undefined && !isStr(p.label)) ||
      (p.ext !== undefined && !isStr(p.ext))
    ) {
      return undefined;
    }
    return p as unknown as LivePayload;
  }
  if (p.k === 'tomb') {
    if (
      tail !== 0 ||
      !isStr(p.next) ||
      !isStr(p.nextTicket) ||
      !isNum(p.nextExpiresAt) ||
      !isNum(p.grace)
    ) {
      return undefined;
    }
    return p as unknown as TombPayload;
  }
  return undefined;
}
