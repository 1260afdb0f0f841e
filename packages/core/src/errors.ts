/**
 * Every error Cloakroom throws is a {@link CloakroomError} with a stable
 * string `code`. Messages never contain a ticket, token, key or payload.
 *
 * @example
 * ```ts
 * try { await cloakroom.refresh(ticket); }
 * catch (err) {
 *   if (isCloakroomError(err)) switch (err.code) {
 *     case 'ERR_STORE_UNAVAILABLE': return reply(503);
 *     case 'ERR_ACCESS_DENIED': return reply(403);
 *   }
 *   throw err;
 * }
 * ```
 */
export type ErrorCode =
  | 'ERR_TICKET_MALFORMED'
  | 'ERR_ACCESS_DENIED'
  | 'ERR_STORE_UNAVAILABLE'
  | 'ERR_STORE_CONFLICT'
  | 'ERR_STORE_FULL'
  | 'ERR_STORE_DATA_INVALID'
  | 'ERR_DECRYPTION_FAILED'
  | 'ERR_KEY_NOT_FOUND'
  | 'ERR_KEY_EXHAUSTED'
  | 'ERR_TOKEN_REJECTED'
  | 'ERR_CONFIG_INVALID'
  | 'ERR_INVALID_ARGUMENT'
  | 'ERR_REUSE_DETECTED'
  | 'ERR_SESSION_LIMIT'
  | 'ERR_CLOSED';

/** Where each error code is explained; the message of every error links its section. */
export const ERRORS_DOCS_URL = 'https://github.com/cloakroom/cloakroom/blob/main/docs/errors.md';

/** The documentation link for an error code (one anchor per code). */
export function errorDocsUrl(code: ErrorCode): string {
  return `${ERRORS_DOCS_URL}#${code.toLowerCase()}`;
}

/**
 * Base class of every error Cloakroom throws. `cause` is kept when there is
 * one; the message ends with a link to the code's section in `docs/errors.md`.
 */
export abstract class CloakroomError extends Error {
  /** Stable, public code; switch on it rather than on the class or message. */
  abstract readonly code: ErrorCode;

  constructor(message: string, options?: { cause?: unknown }) {
    const code = (new.target as unknown as { readonly CODE?: ErrorCode }).CODE;
    super(code === undefined ? message : `${message} (${code}: ${errorDocsUrl(code)})`, options);
    this.name = new.target.name;
  }
}

/** True when `value` is a {@link CloakroomError} (works across package copies). */
export function isCloakroomError(value: unknown): value is CloakroomError {
  if (value instanceof CloakroomError) return true;
  if (!(value instanceof Error)) return false;
  const code: unknown = (value as unknown as { code?: unknown }).code;
  return typeof code === 'string' && CODES.has(code);
}

/** A ticket failed strict parsing; no store was called. */
export class TicketMalformed extends CloakroomError {
  static readonly CODE = 'ERR_TICKET_MALFORMED' as const;
  readonly code = 'ERR_TICKET_MALFORMED' as const;
}

/** The access policy denied the action (or threw, which denies). */
export class AccessDenied extends CloakroomError {
  static readonly CODE = 'ERR_ACCESS_DENIED' as const;
  readonly code = 'ERR_ACCESS_DENIED' as const;
}

/**
 * The store's backend could not be reached, timed out, or failed. The
 * application should answer 503, never treat the session as missing.
 */
export class StoreUnavailable extends CloakroomError {
  static readonly CODE = 'ERR_STORE_UNAVAILABLE' as const;
  readonly code = 'ERR_STORE_UNAVAILABLE' as const;
}

/** `insert` (or the insert half of `rotate`) found the id already present. */
export class StoreConflict extends CloakroomError {
  static readonly CODE = 'ERR_STORE_CONFLICT' as const;
  readonly code = 'ERR_STORE_CONFLICT' as const;
}

/** A bounded store is at its capacity and refuses new records. */
export class StoreFull extends CloakroomError {
  static readonly CODE = 'ERR_STORE_FULL' as const;
  readonly code = 'ERR_STORE_FULL' as const;
}

/** The backend holds data under the store's namespace that is not a valid record. */
export class StoreDataInvalid extends CloakroomError {
  static readonly CODE = 'ERR_STORE_DATA_INVALID' as const;
  readonly code = 'ERR_STORE_DATA_INVALID' as const;
}

/** A sealed payload failed authentication: tampered, transplanted or under an unknown key. */
export class DecryptionFailed extends CloakroomError {
  static readonly CODE = 'ERR_DECRYPTION_FAILED' as const;
  readonly code = 'ERR_DECRYPTION_FAILED' as const;
}

/** No usable key with that id (unknown, disabled or destroyed). */
export class KeyNotFound extends CloakroomError {
  static readonly CODE = 'ERR_KEY_NOT_FOUND' as const;
  readonly code = 'ERR_KEY_NOT_FOUND' as const;
}

/** A storage key reached its seal budget (GCM nonce limit); rotate it. */
export class KeyExhausted extends CloakroomError {
  static readonly CODE = 'ERR_KEY_EXHAUSTED' as const;
  readonly code = 'ERR_KEY_EXHAUSTED' as const;
}

/** A JWT failed verification (algorithm, signature, claims, size or shape). */
export class TokenRejected extends CloakroomError {
  static readonly CODE = 'ERR_TOKEN_REJECTED' as const;
  readonly code = 'ERR_TOKEN_REJECTED' as const;
  /** A short, non-secret reason code (e.g. `alg-not-allowed`, `expired`), when the verifier gives one. */
  declare readonly reason?: string;
}

/** Configuration is invalid: short or reused keys, bad options, unsafe names. */
export class ConfigInvalid extends CloakroomError {
  static readonly CODE = 'ERR_CONFIG_INVALID' as const;
  readonly code = 'ERR_CONFIG_INVALID' as const;
}

/** An argument to a call is not valid (e.g. an empty subject, a non-integer version). Nothing was changed. */
export class InvalidArgument extends CloakroomError {
  static readonly CODE = 'ERR_INVALID_ARGUMENT' as const;
  readonly code = 'ERR_INVALID_ARGUMENT' as const;
}

/** A rotated ticket was presented after its grace window; its family was revoked. */
export class ReuseDetected extends CloakroomError {
  static readonly CODE = 'ERR_REUSE_DETECTED' as const;
  readonly code = 'ERR_REUSE_DETECTED' as const;
}

/**
 * The subject already has `sessionLimit.max` sessions and the limit says
 * `evict: 'refuse'`: no session was created and none was ended.
 */
export class SessionLimitReached extends CloakroomError {
  static readonly CODE = 'ERR_SESSION_LIMIT' as const;
  readonly code = 'ERR_SESSION_LIMIT' as const;
}

/** The manager or store was closed. */
export class Closed extends CloakroomError {
  static readonly CODE = 'ERR_CLOSED' as const;
  readonly code = 'ERR_CLOSED' as const;
}

const CODES: ReadonlySet<string> = new Set<ErrorCode>([
  'ERR_TICKET_MALFORMED',
  'ERR_ACCESS_DENIED',
  'ERR_STORE_UNAVAILABLE',
  'ERR_STORE_CONFLICT',
  'ERR_STORE_FULL',
  'ERR_STORE_DATA_INVALID',
  'ERR_DECRYPTION_FAILED',
  'ERR_KEY_NOT_FOUND',
  'ERR_KEY_EXHAUSTED',
  'ERR_TOKEN_REJECTED',
  'ERR_CONFIG_INVALID',
  'ERR_INVALID_ARGUMENT',
  'ERR_REUSE_DETECTED',
  'ERR_SESSION_LIMIT',
  'ERR_CLOSED',
]);
