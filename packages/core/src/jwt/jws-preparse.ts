// Checks a compact JWS must pass before any JSON or crypto parsing (SEC-23,
// SEC-24), and the rejection helper that keeps claims out of `cause`.
// Internal: not re-exported. Same rules as `verifyToken` in jwt.ts.

import { fromBase64Url, fromUtf8, isCanonicalBase64Url, isPlainObject } from '../lib/encoding';
import { TokenRejected } from '../errors';
import type { ExternalTokenRejectReason, TokenRejectReason } from './reject-reason';

// Three base64url segments, payload may be empty; a 5-part JWE or a JSON
// serialization never matches (SEC-23).
const SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+$/;
/** Longest protected header accepted, in base64url characters. */
export const MAX_HEADER_CHARS = 2048;
/** Longest `kid` accepted, in characters. */
export const MAX_KID_LENGTH = 256;

// jose's claim errors carry the whole claims set (on the error and on its
// cause); drop it so logging a rejection never prints a payload (SEC-27).
function scrub(cause: unknown): unknown {
  if (typeof cause === 'object' && cause !== null) {
    if ('payload' in cause) delete (cause as { payload?: unknown }).payload;
    const inner = (cause as { cause?: unknown }).cause;
    if (typeof inner === 'object' && inner !== null && 'payload' in inner) {
      delete (inner as { payload?: unknown }).payload;
    }
  }
  return cause;
}

/** A {@link TokenRejected} with a generic message, a `reason` and a scrubbed `cause`. */
export function tokenRejected(reason: ExternalTokenRejectReason, cause?: unknown): TokenRejected {
  const err = new TokenRejected(
    `JWT rejected (${reason})`,
    cause === undefined ? undefined : { cause: scrub(cause) },
  );
  Object.defineProperty(err, 'reason', { value: reason, enumerable: true });
  return err;
}

/**
 * Length, character set, segment count and canonical base64url, in that
 * order and before any decoding; then the protected header is decoded
 * strictly (UTF-8, JSON, plain object). Returns the decoded header.
 */
export function preparseCompactJws(token: unknown, maxLength: number): Record<string, unknown> {
  if (typeof token !== 'string') throw tokenRejected('malformed');
  if (token.length > maxLength) throw tokenRejected('too-long');
  if (!SHAPE.test(token)) throw tokenRejected('malformed');
  const segments = token.split('.');
  if (!segments.every(isCanonicalBase64Url)) throw tokenRejected('malformed');
  const encoded = segments[0]!;
  if (encoded.length > MAX_HEADER_CHARS) throw tokenRejected('malformed');
  const bytes = fromBase64Url(encoded);
  if (bytes === undefined) throw tokenRejected('malformed');
  let header: unknown;
  try {
    header = JSON.parse(fromUtf8(bytes));
  } catch (cause) {
    throw tokenRejected('malformed', cause);
  }
  if (!isPlainObject(header)) throw tokenRejected('malformed');
  return header;
}

/** Maps a jose verification error to a rejection reason (safe to log). */
export function joseReason(cause: unknown): TokenRejectReason {
  switch ((cause as { code?: unknown } | null)?.code) {
    case 'ERR_JWT_EXPIRED':
      return 'expired';
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      return 'claims';
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
      return 'alg-not-allowed';
    case 'ERR_JOSE_NOT_SUPPORTED':
      return 'unsupported-header';
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return 'signature';
    default:
      return 'malformed';
  }
}
