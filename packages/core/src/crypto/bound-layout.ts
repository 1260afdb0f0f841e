// Offsets of the ticket-bound record (record format 2, crypto/format.ts
// layer 3) and its bounds-checked split. Shared by the record code and the
// default cipher's `keyIdOf`. Internal.
import {
  BOUND_RECORD_FORMAT,
  DATA_KEY_BYTES,
  MASK_SALT_BYTES,
  NONCE_BYTES,
  TAG_BYTES,
} from './format';

export const SALT_AT = 1;
export const MASK_AT = SALT_AT + MASK_SALT_BYTES;
export const NONCE_AT = MASK_AT + DATA_KEY_BYTES;
export const LENGTH_AT = NONCE_AT + NONCE_BYTES;
/** Bytes before the body: format, salt, W, nonce, u32 body length. */
export const BODY_AT = LENGTH_AT + 4;

/** Views into a ticket-bound record's bytes (no copies). */
export interface BoundParts {
  readonly salt: Uint8Array;
  /** W = DK ⊕ Ms ⊕ Mt. */
  readonly mask: Uint8Array;
  readonly nonce: Uint8Array;
  /** Bytes up to the end of the body's tag: what the body's GCM open reads. */
  readonly sealedBody: Uint8Array;
  readonly tag: Uint8Array;
  /** The operator copy: a layer-1 seal by the Cipher. */
  readonly meta: Uint8Array;
}

/** Whether `sealed` claims to be a ticket-bound record (its first byte; a layer-1 seal starts with 1). */
export function isBoundRecord(sealed: Uint8Array): boolean {
  return sealed instanceof Uint8Array && sealed.byteLength > 0 && sealed[0] === BOUND_RECORD_FORMAT;
}

/**
 * Where a ticket-bound record's body ends (its operator copy starts), read
 * from the u32 after the nonce; -1 for anything malformed. The checks of
 * {@link parseBoundRecord}, without its views (the resolve path reads
 * at offsets).
 */
export function boundBodyEnd(sealed: Uint8Array): number {
  if (!isBoundRecord(sealed) || sealed.byteLength < BODY_AT + TAG_BYTES + 1) return -1;
  const bodyBytes =
    (((sealed[LENGTH_AT] as number) << 24) |
      ((sealed[LENGTH_AT + 1] as number) << 16) |
      ((sealed[LENGTH_AT + 2] as number) << 8) |
      (sealed[LENGTH_AT + 3] as number)) >>>
    0;
  const bodyEnd = BODY_AT + bodyBytes;
  if (bodyBytes < TAG_BYTES || bodyEnd >= sealed.byteLength) return -1;
  return bodyEnd;
}

/** Bounds-checked split; `undefined` for anything malformed. */
export function parseBoundRecord(sealed: Uint8Array): BoundParts | undefined {
  const bodyEnd = boundBodyEnd(sealed);
  if (bodyEnd < 0) return undefined;
  return {
    salt: sealed.subarray(SALT_AT, MASK_AT),
    mask: sealed.subarray(MASK_AT, NONCE_AT),
    nonce: sealed.subarray(NONCE_AT, LENGTH_AT),
    sealedBody: sealed.subarray(0, bodyEnd),
    tag: sealed.subarray(bodyEnd - TAG_BYTES, bodyEnd),
    meta: sealed.subarray(bodyEnd),
  };
}
