// The sealed session formats: every label, header byte and AAD of the
// session records lives here, so the code an auditor must read is one file.
// Internal: not re-exported. Changing any byte below makes existing records
// and tickets fail to open; test/crypto/format.test.ts (layers 1 and 2) and
// test/crypto/bound-format.test.ts (layer 3) pin each of them.
//
// Which format a record's `payload` is in, by its first byte:
//   2  a ticket-bound record (layer 3): live ticket-bound sessions written
//      with the default cipher. One AEAD open per resolve.
//   1  a layer-1 seal by the default cipher (holding layer 2 for a live
//      ticket-bound session): tombstones, ticketBound-off sessions, and live
//      sessions written before layer 3 (they move to it on their next write
//      with the ticket; rewrap keeps them in layer 1, it has no ticket).
//   a custom Cipher's records are layer 1 with its own header, always:
//   layer 3 needs a storage-key PRF the Cipher contract does not offer.
//
// Notation: ‖ is concatenation, \0 a zero byte, u8/u32 unsigned big-endian
// integers, "text" its UTF-8 bytes. Session ids and subject indexes are 43
// base64url characters (ASCII), checked before any of this runs, so their
// UTF-8 and Latin-1 encodings are the same bytes.
//
// 1. Storage layer: the record's `payload` column (AES-256-GCM under a
//    storage key; crypto/aes-gcm-cipher.ts is the default Cipher).
//
//      sealed = u8 version (1) ‖ u8 algorithm (1 = AES-256-GCM)
//             ‖ u8 L (1..64) ‖ key id (L bytes of [A-Za-z0-9_-])
//             ‖ nonce (12 random bytes) ‖ ciphertext ‖ tag (16)
//      GCM AAD = header (version through nonce) ‖ recordAad(id, subjectIndex)
//      recordAad = "cloakroom/session/v1" \0 id \0 subjectIndex
//
//    The header is authenticated, so a key id edited to another key (even
//    one with the same bytes) fails. recordAad binds the payload to the
//    record that holds it (SEC-10): copied onto another session id, or
//    moved under another subject index, it no longer opens.
//
//    The plaintext (crypto/payload-format.ts) is
//      u8 2 ‖ u32 n ‖ n bytes of metadata JSON ‖ inner
//    where `inner`, for a live ticket-bound session in this format, is
//    layer 2 below, and is empty otherwise (tombstones; sessions created with ticketBound off
//    carry their secrets inside the JSON).
//
// 2. Ticket layer: what only the ticket's holder can open
//    (crypto/ticket-seal.ts). Used for the session secrets (subject, claims,
//    tokens) and for the successor ticket kept in a refresh tombstone.
//
//      key    = SHA-256("cloakroom/ticket-seal/v2" \0 ‖ ticket)
//      sealed = u8 version (2) ‖ nonce (12 random bytes) ‖ ciphertext ‖ tag (16)
//      GCM AAD = u8 version (2) ‖ purpose AAD
//
//    The key is derived from the ticket itself, never stored: the server
//    keeps only SHA-256(ticket) as the session id, so a store dump plus
//    every server key still cannot open this layer. The label keeps the
//    key apart from the session id (SHA-256 of the bare ticket). The ticket
//    holds 256 uniformly random bits, so one hash is a sound KDF (HKDF's
//    extract step would add nothing). The purpose AAD says what the bytes
//    are and which session they belong to, so one sealed under a ticket
//    cannot be replayed as the other kind, or in another session:
//
//      innerAad(id)     = "cloakroom/inner/v1" \0 id      the session secrets
//      successorAad(id) = "cloakroom/successor/v1" \0 id  the next ticket
//
//    where `id` is the session id of the record the bytes are stored in.
//
// 3. Ticket-bound record (record format 2): what a live ticket-bound session
//    is written as when the cipher is the default one (it can derive the
//    storage-key PRF below; a custom Cipher keeps layers 1 and 2). One AEAD
//    open per resolve, and still: a store dump plus every server key reveals
//    no secret, and storage-key rotation and rewrap need no ticket. The
//    argument is in docs/security/ticket-binding.md.
//
//      record = u8 2 ‖ salt (16 random) ‖ W (32) ‖ nonce (12 random)
//             ‖ u32 c ‖ body (c bytes: ciphertext ‖ tag (16))
//             ‖ meta (the rest: a layer-1 seal by the Cipher, key id inside)
//
//    Keys and masks (DK is a random 256-bit data key, drawn from the CSPRNG
//    whenever the secrets are sealed anew: create, refresh, token renewal;
//    a touch re-seals under the same DK with a fresh nonce and salt. Ks is
//    the storage key whose id the `meta` header names; T the ticket):
//      maskKey(Ks)   = HMAC-SHA-512(Ks, "cloakroom/record-mask-key/v1")
//                      (64 bytes: one whole SHA-256 block)
//      Ms            = SHA-256(maskKey ‖ u32 n ‖ "cloakroom/record-mask/v1" \0
//                               ‖ salt ‖ u8 |id| ‖ id ‖ u8 |subjectIndex|
//                               ‖ subjectIndex ‖ nonce ‖ tag of body ‖ meta)
//                      (n = byte length of everything after the u32; meta
//                      is the stored operator copy, so it too is checked
//                      by every resolve; the body's nonce and tag tie W to
//                      this very body, so a touch, which keeps DK, cannot
//                      have its body swapped for another write's)
//      Mt            = SHA-256("cloakroom/ticket-mask/v1" \0 ‖ T)
//      W             = DK ⊕ Ms ⊕ Mt
//
//    body = AES-256-GCM under DK, nonce as stored, of the whole live payload
//    in one frame: u8 2 ‖ u32 n ‖ JSON of the metadata with the secrets as
//    its `inner` member (one parse on resolve),
//      GCM AAD = boundAad(id, subjectIndex)
//              = "cloakroom/bound/v1" \0 id \0 subjectIndex
//    meta = Cipher.seal(u8 2 ‖ u32 n ‖ metadata JSON, boundMetaAad(...))
//      boundMetaAad = "cloakroom/bound-meta/v1" \0 id \0 subjectIndex \0
//                     ‖ nonce ‖ tag of body
//
//    Resolve (holds T): Ms from the stored key, Mt from T, DK = W ⊕ Ms ⊕ Mt,
//    one GCM open of body; the metadata it acts on is the copy inside body.
//    A wrong W, salt, operator copy (key id included), body nonce or tag,
//    ticket or record gives a wrong DK and the open fails: the AEAD authenticates the
//    unmasking, so any changed byte of the record fails resolve, as before. Operators (no T) open
//    `meta`, which is bound to this record and to this very body (its nonce
//    and tag), so it cannot be moved to another record or mixed with another
//    write of the same one. Rewrap (no T) opens `meta`, re-seals it under the
//    primary key, draws a new salt and replaces W by W ⊕ Ms ⊕ Ms'; body
//    (hence DK) is untouched, so the ticket is never needed. Ms is SHA-256
//    keyed by a secret prefix that is exactly its first 64-byte block, on a
//    prefix-free input (the u32 length at a fixed offset, first in the
//    second block): the first compression under the secret block is a
//    secret chaining value, and from it on Ms is the keyed Merkle–Damgård
//    cascade on prefix-free input, a PRF (the NMAC-inner argument). No valid
//    input extends another, so length extension cannot apply. Nonces: every GCM seal (body under DK, meta under Ks
//    through the Cipher and its SEC-11 budget) takes a fresh random 96-bit
//    nonce; DK seals at most once per touch interval. Ks never feeds the
//    PRF directly (maskKey), and Mt, the layer-2 key and the session id are
//    SHA-256 of the ticket under three distinct prefixes.
//
// Subject indexes (crypto/subject-index.ts) and the stored key set
// (keys/rotating/key-set-document.ts) are HMAC and envelope formats of their
// own, specified in those files.
import { createHmac, hash } from 'node:crypto';

/** Version byte of the storage layer's header. */
export const STORAGE_FORMAT_VERSION = 1;
/** Algorithm byte of the storage layer's header: AES-256-GCM. */
export const STORAGE_ALG_AES_256_GCM = 1;
/** Version byte of the ticket layer; it is also the whole of that layer's header AAD. */
export const TICKET_SEAL_VERSION = 2;
/** Bytes of a GCM nonce (96 bits, random per seal: SEC-11). */
export const NONCE_BYTES = 12;
/** Bytes of a GCM tag. */
export const TAG_BYTES = 16;

/** Prefix of {@link recordAad}. */
export const RECORD_AAD_LABEL = 'cloakroom/session/v1\0';
/** Prefix of {@link innerAad}. */
export const INNER_AAD_LABEL = 'cloakroom/inner/v1\0';
/** Prefix of {@link successorAad}. */
export const SUCCESSOR_AAD_LABEL = 'cloakroom/successor/v1\0';
/** Prefix hashed with the ticket to make the ticket layer's key: {@link ticketSealKey}. */
export const TICKET_KEY_LABEL = 'cloakroom/ticket-seal/v2\0';

// One allocation each: a Buffer of the final bytes, viewed as a Uint8Array.
function bytes(text: string, encoding: 'utf8' | 'latin1'): Uint8Array {
  return Buffer.from(text, encoding);
}

/**
 * AAD of the storage layer: binds a sealed payload to its record's session
 * id and subject index (SEC-10). The cipher puts its own header in front.
 *
 * Edge behaviour: no validation (callers pass checked store keys); any
 * string is encoded as UTF-8, so a different id always gives different bytes.
 *
 * @example
 * ```ts
 * const sealed = await cipher.seal(plaintext, recordAad(record.id, record.subject));
 * ```
 */
export function recordAad(id: string, subjectIndex: string): Uint8Array {
  return bytes(`${RECORD_AAD_LABEL}${id}\0${subjectIndex}`, 'utf8');
}

/**
 * AAD of the ticket-sealed session secrets of the session `id`.
 *
 * Edge behaviour: encoded as Latin-1, as it always was; for a session id
 * (ASCII) that is the same as UTF-8.
 *
 * @example
 * ```ts
 * const inner = sealUnderTicket(ticket, secretsJson, innerAad(sessionId));
 * ```
 */
export function innerAad(id: string): Uint8Array {
  return bytes(`${INNER_AAD_LABEL}${id}`, 'latin1');
}

/**
 * AAD of the successor ticket that a refresh tombstone of the session `id`
 * keeps sealed under the old ticket.
 *
 * @example
 * ```ts
 * const nextTicket = openUnderTicket(oldTicket, tomb.sealed, successorAad(oldSessionId));
 * ```
 */
export function successorAad(id: string): Uint8Array {
  return bytes(`${SUCCESSOR_AAD_LABEL}${id}`, 'utf8');
}

/**
 * The ticket layer's AES-256 key: SHA-256 of {@link TICKET_KEY_LABEL} and
 * the ticket. One-shot `hash` (~0.7 µs) rather than a Hash object (~2.5 µs):
 * it runs on every resolve.
 *
 * Edge behaviour: expects a ticket that passed `parseTicket` (ASCII, so its
 * UTF-8 is the string); it does not check, and a guessable string must
 * never be passed in.
 *
 * @example
 * ```ts
 * const key = ticketSealKey(parseTicket(ticket)); // 32 bytes
 * ```
 */
export function ticketSealKey(ticket: string): Buffer {
  return hash('sha256', TICKET_KEY_LABEL + ticket, 'buffer');
}

/** First byte of a ticket-bound record (layer 3); a layer-1 seal by the default cipher starts with 1. */
export const BOUND_RECORD_FORMAT = 2;
/** Bytes of the per-write salt of {@link storageMask}. */
export const MASK_SALT_BYTES = 16;
/** Bytes of DK, of W and of both masks. */
export const DATA_KEY_BYTES = 32;
/** Prefix of {@link boundAad}. */
export const BOUND_AAD_LABEL = 'cloakroom/bound/v1\0';
/** Prefix of {@link boundMetaAad}. */
export const BOUND_META_AAD_LABEL = 'cloakroom/bound-meta/v1\0';
/** Bytes of the storage-key PRF key: one whole SHA-256 input block. */
export const MASK_KEY_BYTES = 64;
/** HMAC message that derives the storage-key PRF key: {@link maskKeyOf}. */
export const MASK_KEY_LABEL = 'cloakroom/record-mask-key/v1';
/** Label inside the input of {@link storageMask}. */
export const STORAGE_MASK_LABEL = 'cloakroom/record-mask/v1\0';
/** Prefix hashed with the ticket to make the ticket mask: {@link ticketMask}. */
export const TICKET_MASK_LABEL = 'cloakroom/ticket-mask/v1\0';

/**
 * AAD of a ticket-bound record's body (layer 3): binds it to the record's
 * session id and subject index. W, the salt and the key id are left out on
 * purpose (rewrap changes them without the ticket); a wrong one yields a
 * wrong data key instead, and the open fails.
 *
 * @example
 * ```ts
 * const aad = boundAad(record.id, record.subject);
 * ```
 */
export function boundAad(id: string, subjectIndex: string): Uint8Array {
  return bytes(`${BOUND_AAD_LABEL}${id}\0${subjectIndex}`, 'utf8');
}

/**
 * AAD of a ticket-bound record's operator metadata: the record, and the
 * nonce and tag of the body written with it (so metadata of one write cannot
 * be paired with the body of another).
 *
 * @example
 * ```ts
 * const aad = boundMetaAad(id, subjectIndex, nonce, tag);
 * ```
 */
export function boundMetaAad(
  id: string,
  subjectIndex: string,
  nonce: Uint8Array,
  tag: Uint8Array,
): Uint8Array {
  const head = Buffer.from(`${BOUND_META_AAD_LABEL}${id}\0${subjectIndex}\0`, 'utf8');
  const out = Buffer.allocUnsafe(head.byteLength + nonce.byteLength + tag.byteLength);
  out.set(head, 0);
  out.set(nonce, head.byteLength);
  out.set(tag, head.byteLength + nonce.byteLength);
  return out;
}

/**
 * The storage-key PRF key: HMAC-SHA-512 of {@link MASK_KEY_LABEL} under the
 * 32-byte storage key, so the AES-GCM key itself never feeds the mask (one
 * key, one purpose). 64 bytes, so it fills the whole first SHA-256 block of
 * {@link storageMask}: the first compression is keyed entirely by secret
 * bytes (see the file header). Computed once per storage key by its caller
 * (cached).
 *
 * @example
 * ```ts
 * const maskKey = maskKeyOf(ring.primary.key); // 64 bytes
 * ```
 */
export function maskKeyOf(storageKey: Uint8Array): Uint8Array {
  const mac = createHmac('sha512', storageKey).update(MASK_KEY_LABEL, 'utf8').digest();
  return new Uint8Array(mac.buffer, mac.byteOffset, mac.byteLength);
}

// Scratch for the mask input: JavaScript runs one call at a time and hash()
// is synchronous, so one buffer serves every call (grown for a larger
// record, never shrunk); the key prefix is wiped after each use. The label
// sits at a fixed offset and is written once per buffer.
const MASK_LABEL_AT = MASK_KEY_BYTES + 4;
let scratch = maskScratch(1024);
const MASK_FIXED_BYTES =
  MASK_KEY_BYTES + 4 + STORAGE_MASK_LABEL.length + MASK_SALT_BYTES + 1 + NONCE_BYTES + TAG_BYTES;

function maskScratch(size: number): Buffer {
  const buffer = Buffer.alloc(size);
  buffer.write(STORAGE_MASK_LABEL, MASK_LABEL_AT, 'latin1');
  return buffer;
}

// `text` as UTF-8 into `buffer` at `at`, which has room for three bytes per
// UTF-16 unit (callers grow it first); returns the next offset.
function writeText(buffer: Buffer, text: string, at: number): number {
  return at + buffer.write(text, at, 'utf8');
}

// `u8 n ‖ text` (n its UTF-8 length, at most 255) into the mask scratch at `at`; returns the next offset.
function putText(text: string, at: number): number {
  const next = writeText(scratch, text, at + 1);
  const bytes = next - at - 1;
  if (bytes > 255) throw new RangeError('storageMask: id too long');
  scratch[at] = bytes;
  return next;
}

// `source[from .. from + n)` into the scratch at `at`, for the short fixed
// fields (a loop costs less than a view and a set); returns the next offset.
function putBytes(source: Uint8Array, from: number, n: number, at: number): number {
  for (let i = 0; i < n; i++) scratch[at + i] = source[from + i] as number;
  return at + n;
}

// Grow the mask scratch to hold an input with these strings and `metaBytes` of operator copy.
function reserveMaskInput(id: string, subjectIndex: string, metaBytes: number): void {
  const most = MASK_FIXED_BYTES + 3 * (id.length + subjectIndex.length) + 1 + metaBytes;
  if (most > scratch.byteLength) scratch = maskScratch(most);
}

// Hash the scratch's first `end` bytes under `maskKey` (the u32 length
// written here), then wipe the key.
function hashMaskInput(maskKey: Uint8Array, end: number): string {
  scratch.writeUInt32BE(end - MASK_LABEL_AT, MASK_KEY_BYTES);
  scratch.set(maskKey, 0);
  const mask = hash('sha256', scratch.subarray(0, end), 'binary');
  scratch.fill(0, 0, MASK_KEY_BYTES);
  return mask;
}

/**
 * Ms, the storage-key mask of one record write, as a 32-character Latin-1
 * string (one char per byte: a `hash` to a string costs half a Buffer): SHA-256(maskKey ‖ u32 n ‖
 * label ‖ salt ‖ u8 |id| ‖ id ‖ u8 |subjectIndex| ‖ subjectIndex ‖ nonce ‖
 * tag ‖ meta), n the byte length of what follows the u32. `meta` is the
 * record's operator copy as stored, and nonce and tag are the body's, so a
 * change to any of them changes Ms and the resolve that uses it fails: the
 * body of one write cannot be paired with the header and metadata of
 * another write of the same record, even though a touch keeps DK. The
 * 64-byte mask key is exactly the first block, so this is the keyed
 * Merkle–Damgård cascade on a prefix-free input set, a PRF (the NMAC-inner
 * argument: file header, docs/security/ticket-binding.md).
 *
 * Edge behaviour: id and subject index are encoded as UTF-8 (43-character
 * store keys in practice); throws RangeError when either is over 255 bytes
 * or the key or salt has the wrong size (caller bugs).
 *
 * @example
 * ```ts
 * const ms = storageMask(maskKey, salt, record.id, record.subject, nonce, tag, meta);
 * ```
 */
export function storageMask(
  maskKey: Uint8Array,
  salt: Uint8Array,
  id: string,
  subjectIndex: string,
  nonce: Uint8Array,
  tag: Uint8Array,
  meta: Uint8Array,
): string {
  if (maskKey.byteLength !== MASK_KEY_BYTES || salt.byteLength !== MASK_SALT_BYTES) {
    throw new RangeError('storageMask: wrong key or salt size');
  }
  if (nonce.byteLength !== NONCE_BYTES || tag.byteLength !== TAG_BYTES) {
    throw new RangeError('storageMask: wrong nonce or tag size');
  }
  reserveMaskInput(id, subjectIndex, meta.byteLength);
  let at = putBytes(salt, 0, MASK_SALT_BYTES, MASK_LABEL_AT + STORAGE_MASK_LABEL.length);
  at = putText(id, at);
  at = putText(subjectIndex, at);
  at = putBytes(nonce, 0, NONCE_BYTES, at);
  at = putBytes(tag, 0, TAG_BYTES, at);
  scratch.set(meta, at);
  return hashMaskInput(maskKey, at + meta.byteLength);
}

/**
 * {@link storageMask} of a stored ticket-bound record, read at its offsets
 * (the resolve path): salt, nonce, and the tag and operator copy, which are
 * adjacent in the record, are copied from `sealed` without views of each.
 * `bodyEnd` is where the body ends (bound-layout.ts `boundBodyEnd`, already
 * checked); `saltAt` and `nonceAt` are the layout's offsets. Same bytes in,
 * same mask out (test/crypto/bound-format.test.ts checks the two agree).
 *
 * @example
 * ```ts
 * const ms = recordStorageMask(maskKey, sealed, SALT_AT, NONCE_AT, bodyEnd, record.id, record.subject);
 * ```
 */
export function recordStorageMask(
  maskKey: Uint8Array,
  sealed: Uint8Array,
  saltAt: number,
  nonceAt: number,
  bodyEnd: number,
  id: string,
  subjectIndex: string,
): string {
  if (maskKey.byteLength !== MASK_KEY_BYTES) throw new RangeError('storageMask: wrong key size');
  const tagAt = bodyEnd - TAG_BYTES;
  if (
    saltAt + MASK_SALT_BYTES > tagAt ||
    nonceAt + NONCE_BYTES > tagAt ||
    bodyEnd > sealed.byteLength
  ) {
    throw new RangeError('storageMask: fields outside the record');
  }
  reserveMaskInput(id, subjectIndex, sealed.byteLength - bodyEnd);
  let at = putBytes(sealed, saltAt, MASK_SALT_BYTES, MASK_LABEL_AT + STORAGE_MASK_LABEL.length);
  at = putText(id, at);
  at = putText(subjectIndex, at);
  at = putBytes(sealed, nonceAt, NONCE_BYTES, at);
  scratch.set(sealed.subarray(tagAt), at);
  return hashMaskInput(maskKey, at + sealed.byteLength - tagAt);
}

/**
 * Mt, the ticket mask: SHA-256 of {@link TICKET_MASK_LABEL} and the ticket,
 * as a 32-character Latin-1 string (see {@link storageMask}).
 * Its label keeps it apart from the session id (SHA-256 of the bare ticket)
 * and from the layer-2 key ({@link ticketSealKey}).
 *
 * Edge behaviour: expects a parsed ticket (ASCII); never pass a guessable string.
 *
 * @example
 * ```ts
 * const mt = ticketMask(parseTicket(ticket)); // 32 Latin-1 characters
 * ```
 */
export function ticketMask(ticket: string): string {
  return hash('sha256', TICKET_MASK_LABEL + ticket, 'binary');
}
