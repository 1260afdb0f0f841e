import { createCipheriv, createDecipheriv, hash } from 'node:crypto';
import { fillPublicRandom } from './random-pool';
import { DecryptionFailed } from '../errors';
import { parseTicket } from '../ticket/ticket';

const VERSION = 2;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const VERSION_BYTE = Uint8Array.of(VERSION);
const KEY_LABEL = 'cloakroom/ticket-seal/v2\0';

// The key is SHA-256 of a label and the ticket itself (not its hash): the
// server stores only the ticket's hash, so a store dump plus every server key
// still cannot derive it. The ticket is 256 uniformly random bits, so HKDF's
// extract step would add nothing; one hash (here ~1 µs) replaces its two HMACs
// on every resolve. The label keeps this key apart from the session id
// (SHA-256 of the bare ticket). One-shot `hash` (~0.7 µs) rather than a Hash
// object (~2.5 µs); a parsed ticket is ASCII, so its UTF-8 is the string.
function ticketKey(ticket: string): Buffer {
  return hash('sha256', KEY_LABEL + ticket, 'buffer');
}

/**
 * Seal `plaintext` so that only the holder of `ticket` can open it, e.g. the
 * successor ticket kept in a refresh tombstone, or the tokens inside a
 * session payload. The key is SHA-256(`cloakroom/ticket-seal/v2\0` ‖ ticket);
 * the cipher is AES-256-GCM
 * with a fresh random nonce. Layout: `version (1) ‖ nonce (12) ‖ ciphertext ‖
 * tag (16)`; the AAD is the version byte followed by `aad`. Synchronous.
 *
 * @throws TicketMalformed when `ticket` is not a valid ticket (a guessable
 * string must never become a key).
 * @example
 * ```ts
 * const sealed = sealUnderTicket(oldTicket, utf8(successor), utf8(sessionIdOf(oldTicket)));
 * ```
 */
export function sealUnderTicket(
  ticket: string,
  plaintext: Uint8Array,
  aad: Uint8Array,
): Uint8Array {
  const key = ticketKey(parseTicket(ticket));
  const headerLength = 1 + NONCE_BYTES;
  const out = new Uint8Array(headerLength + plaintext.byteLength + TAG_BYTES);
  out[0] = VERSION;
  const nonce = fillPublicRandom(out.subarray(1, headerLength));
  const gcm = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES });
  gcm.setAAD(VERSION_BYTE);
  gcm.setAAD(aad);
  const body = gcm.update(plaintext);
  const tail = gcm.final();
  out.set(body, headerLength);
  out.set(tail, headerLength + body.byteLength);
  out.set(gcm.getAuthTag(), out.byteLength - TAG_BYTES);
  return out;
}

/**
 * Open what {@link sealUnderTicket} sealed, with the same ticket and `aad`.
 *
 * @throws DecryptionFailed for a wrong ticket or aad, any changed,
 * truncated or malformed input; unauthenticated bytes are never returned.
 * @example
 * ```ts
 * const successor = fromUtf8(openUnderTicket(oldTicket, tombstone.sealed, utf8(sessionIdOf(oldTicket))));
 * ```
 */
export function openUnderTicket(ticket: string, sealed: Uint8Array, aad: Uint8Array): Uint8Array {
  let parsed: string;
  try {
    parsed = parseTicket(ticket);
  } catch (cause) {
    // A malformed ticket cannot have sealed anything: same answer as a wrong one.
    throw new DecryptionFailed('ticket-sealed data failed to open', { cause });
  }
  return openUnderParsedTicket(parsed, sealed, aad);
}

/**
 * {@link openUnderTicket} for a ticket that already passed `parseTicket`
 * (the resolve path parsed it to find the record). Internal.
 */
export function openUnderParsedTicket(
  ticket: string,
  sealed: Uint8Array,
  aad: Uint8Array,
): Uint8Array {
  const headerLength = 1 + NONCE_BYTES;
  if (
    !(sealed instanceof Uint8Array) ||
    sealed.byteLength < headerLength + TAG_BYTES ||
    sealed[0] !== VERSION
  ) {
    throw new DecryptionFailed('ticket-sealed data is malformed');
  }
  try {
    const key = ticketKey(ticket);
    const tagStart = sealed.byteLength - TAG_BYTES;
    const gcm = createDecipheriv('aes-256-gcm', key, sealed.subarray(1, headerLength), {
      authTagLength: TAG_BYTES,
    });
    gcm.setAAD(VERSION_BYTE);
    gcm.setAAD(aad);
    gcm.setAuthTag(sealed.subarray(tagStart));
    const plain = gcm.update(sealed.subarray(headerLength, tagStart));
    const tail = gcm.final();
    const bytes = tail.byteLength === 0 ? plain : Buffer.concat([plain, tail]);
    return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  } catch (cause) {
    throw new DecryptionFailed('ticket-sealed data failed to open', { cause });
  }
}
