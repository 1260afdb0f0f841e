// The sealed session formats: every label, header byte and AAD of the
// session records lives here, so the code an auditor must read is one file.
// Internal: not re-exported. Changing any byte below makes existing records
// and tickets fail to open; test/crypto/format.test.ts pins each of them.
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
//    where `inner`, for a live ticket-bound session, is layer 2 below, and
//    is empty otherwise (tombstones; sessions created with ticketBound off
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
// Subject indexes (crypto/subject-index.ts) and the stored key set
// (keys/rotating/key-set-document.ts) are HMAC and envelope formats of their
// own, specified in those files.
import { hash } from 'node:crypto';

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
