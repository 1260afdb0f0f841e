// The ticket-bound record (record format 2): seal, open with the ticket,
// open the operator metadata without it, and rewrap without it. The bytes
// and the construction are specified in crypto/format.ts (layer 3); the
// security argument is docs/security/ticket-binding.md. Internal.
import { randomFillSync } from 'node:crypto';
import { openAesGcmBuffer, sealAesGcmInto } from './aes-gcm';
import type { PrimarySealer, RecordMaskKeys } from './aes-gcm-cipher';
import { storageKeyIdAt } from './storage-layout';
import {
  BODY_AT,
  LENGTH_AT,
  MASK_AT,
  NONCE_AT,
  SALT_AT,
  boundBodyEnd,
  parseBoundRecord,
} from './bound-layout';
import {
  BOUND_RECORD_FORMAT,
  DATA_KEY_BYTES,
  TAG_BYTES,
  boundAad,
  boundMetaAad,
  recordStorageMask,
  storageMask,
} from './format';
import { fillPublicRandom } from './random-pool';
import type { Cipher } from '../contracts/cipher';
import { DecryptionFailed } from '../errors';

const NO_AAD_HEAD = new Uint8Array(0);

// a ⊕ b ⊕ c, with the masks as Latin-1 strings (format.ts: one char per byte).
function xor3(a: Uint8Array, b: string, c: string): Uint8Array {
  return xor3At(a, 0, b, c);
}

// The same with `a` read at `at` (W in place in a record).
function xor3At(a: Uint8Array, at: number, b: string, c: string): Uint8Array {
  const out = new Uint8Array(DATA_KEY_BYTES);
  for (let i = 0; i < DATA_KEY_BYTES; i++) {
    out[i] = (a[at + i] as number) ^ b.charCodeAt(i) ^ c.charCodeAt(i);
  }
  return out;
}

function malformed(): DecryptionFailed {
  return new DecryptionFailed('sealed payload is malformed');
}

/** A fresh data key: secret, so from the CSPRNG directly, never the public pool. */
export function newDataKey(): Uint8Array {
  return randomFillSync(new Uint8Array(DATA_KEY_BYTES));
}

/** What {@link sealBoundRecord} seals. */
export interface BoundPlaintext {
  /** The whole live payload: metadata frame then secrets JSON. */
  readonly body: Uint8Array;
  /** The metadata frame alone (the operator copy). */
  readonly meta: Uint8Array;
}

/**
 * Seal a ticket-bound record: body under `dataKey`, the operator copy as the
 * cipher's `seal` would make it under its primary storage key, and W from
 * that same key's mask key (read once, so one key is the source of truth
 * even if the primary changes meanwhile). Every part is written straight
 * into the record's own memory, which is allocated once at its final size.
 * Synchronous when the key source has a snapshot in memory, else a promise.
 */
export function sealBoundRecord(
  masks: RecordMaskKeys,
  id: string,
  subjectIndex: string,
  plain: BoundPlaintext,
  ticketMask: string,
  dataKey: Uint8Array,
): Uint8Array | Promise<Uint8Array> {
  if (dataKey.byteLength !== DATA_KEY_BYTES) throw new RangeError('a data key is 32 bytes');
  const sealer = masks.primarySealerNow();
  if (sealer !== undefined)
    return sealBoundWith(sealer, id, subjectIndex, plain, ticketMask, dataKey);
  return masks
    .primarySealer()
    .then((found) => sealBoundWith(found, id, subjectIndex, plain, ticketMask, dataKey));
}

function sealBoundWith(
  sealer: PrimarySealer,
  id: string,
  subjectIndex: string,
  plain: BoundPlaintext,
  ticketMask: string,
  dataKey: Uint8Array,
): Uint8Array {
  const bodyEnd = BODY_AT + plain.body.byteLength + TAG_BYTES;
  const out = new Uint8Array(bodyEnd + sealer.sealedLength(plain.meta.byteLength));
  out[0] = BOUND_RECORD_FORMAT;
  fillPublicRandom(out.subarray(SALT_AT, MASK_AT));
  const nonce = fillPublicRandom(out.subarray(NONCE_AT, LENGTH_AT));
  const bodyBytes = bodyEnd - BODY_AT;
  out[LENGTH_AT] = bodyBytes >>> 24;
  out[LENGTH_AT + 1] = (bodyBytes >>> 16) & 0xff;
  out[LENGTH_AT + 2] = (bodyBytes >>> 8) & 0xff;
  out[LENGTH_AT + 3] = bodyBytes & 0xff;
  sealAesGcmInto(
    dataKey,
    nonce,
    NO_AAD_HEAD,
    boundAad(id, subjectIndex),
    plain.body,
    out.subarray(0, bodyEnd),
    BODY_AT,
  );
  const tag = out.subarray(bodyEnd - TAG_BYTES, bodyEnd);
  sealer.sealInto(plain.meta, boundMetaAad(id, subjectIndex, nonce, tag), out, bodyEnd);
  // W = DK ⊕ Ms ⊕ Mt, with Ms over the record as written, as `resolve` computes it.
  const ms = recordStorageMask(sealer.maskKey, out, SALT_AT, NONCE_AT, bodyEnd, id, subjectIndex);
  for (let i = 0; i < DATA_KEY_BYTES; i++) {
    out[MASK_AT + i] = (dataKey[i] as number) ^ ms.charCodeAt(i) ^ ticketMask.charCodeAt(i);
  }
  return out;
}

/**
 * Open a ticket-bound record with the ticket's mask: one GCM open. Returns
 * the body plaintext and the data key (kept for a re-seal).
 * @throws DecryptionFailed for a wrong ticket, key, record, or any change.
 */
export async function openBoundRecord(
  masks: RecordMaskKeys,
  sealed: Uint8Array,
  id: string,
  subjectIndex: string,
  ticketMask: string,
): Promise<{ plain: Buffer; dataKey: Uint8Array }> {
  const bodyEnd = checkedBodyEnd(sealed);
  const maskKey = await masks.forKeyId(storageKeyIdAt(sealed, bodyEnd));
  return openBoundBody(maskKey, sealed, bodyEnd, id, subjectIndex, ticketMask);
}

/**
 * Where a ticket-bound record's body ends (its operator copy, whose header
 * names the storage key, starts there): what {@link openBoundBody} needs.
 * @throws DecryptionFailed when the record is malformed.
 */
export function checkedBodyEnd(sealed: Uint8Array): number {
  const bodyEnd = boundBodyEnd(sealed);
  if (bodyEnd < 0) throw malformed();
  return bodyEnd;
}

/**
 * {@link openBoundRecord} once the mask key of the record's storage key is
 * known (`bodyEnd` from `boundBodyEnd`, already checked): synchronous, so
 * the resolve path awaits only the key lookup.
 * @throws DecryptionFailed for a wrong ticket, key, record, or any change.
 */
export function openBoundBody(
  maskKey: Uint8Array,
  sealed: Uint8Array,
  bodyEnd: number,
  id: string,
  subjectIndex: string,
  ticketMask: string,
): { plain: Buffer; dataKey: Uint8Array } {
  // Read at offsets: the resolve path makes no view it does not hand on.
  const dataKey = xor3At(
    sealed,
    MASK_AT,
    recordStorageMask(maskKey, sealed, SALT_AT, NONCE_AT, bodyEnd, id, subjectIndex),
    ticketMask,
  );
  try {
    const plain = openAesGcmBuffer(
      dataKey,
      sealed.subarray(NONCE_AT, LENGTH_AT),
      NO_AAD_HEAD,
      boundAad(id, subjectIndex),
      sealed.subarray(0, bodyEnd),
      BODY_AT,
    );
    return { plain, dataKey };
  } catch (cause) {
    throw new DecryptionFailed('sealed payload failed to open', { cause });
  }
}

/** Open the operator metadata (no ticket): a layer-1 open bound to this record and body. */
export async function openBoundMetadata(
  cipher: Cipher,
  sealed: Uint8Array,
  id: string,
  subjectIndex: string,
): Promise<Uint8Array> {
  const parts = parseBoundRecord(sealed);
  if (parts === undefined) throw malformed();
  return cipher.open(parts.meta, boundMetaAad(id, subjectIndex, parts.nonce, parts.tag));
}

/**
 * Move a ticket-bound record to the cipher's primary storage key without the
 * ticket: the metadata is opened and sealed again, a new salt drawn, and W
 * becomes W ⊕ Ms(old) ⊕ Ms(new). The body, hence DK, is copied unchanged.
 * @throws DecryptionFailed when the metadata does not open (unknown or
 * disabled key, tampered).
 */
export async function rewrapBoundRecord(
  cipher: Cipher,
  masks: RecordMaskKeys,
  sealed: Uint8Array,
  id: string,
  subjectIndex: string,
): Promise<Uint8Array> {
  const parts = parseBoundRecord(sealed);
  if (parts === undefined) throw malformed();
  const oldMaskKey = await masks.forKeyId(cipher.keyIdOf(parts.meta));
  const aad = boundMetaAad(id, subjectIndex, parts.nonce, parts.tag);
  const metaPlain = await cipher.open(parts.meta, aad);
  const meta = await cipher.seal(metaPlain, aad);
  metaPlain.fill(0);
  const newMaskKey = await masks.forKeyId(cipher.keyIdOf(meta));
  const bodyEnd = parts.sealedBody.byteLength;
  const out = new Uint8Array(bodyEnd + meta.byteLength);
  out.set(parts.sealedBody, 0);
  out.set(meta, bodyEnd);
  const salt = fillPublicRandom(out.subarray(SALT_AT, MASK_AT));
  out.set(
    xor3(
      parts.mask,
      storageMask(oldMaskKey, parts.salt, id, subjectIndex, parts.nonce, parts.tag, parts.meta),
      storageMask(newMaskKey, salt, id, subjectIndex, parts.nonce, parts.tag, meta),
    ),
    MASK_AT,
  );
  return out;
}
