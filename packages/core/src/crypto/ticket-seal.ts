import { openAesGcm, sealAesGcmInto } from './aes-gcm';
import { NONCE_BYTES, TAG_BYTES, TICKET_SEAL_VERSION, ticketSealKey } from './format';
import { fillPublicRandom } from './random-pool';
import { DecryptionFailed } from '../errors';
import { type Ticket, parseTicket } from '../ticket/ticket-shape';

// Layout and key derivation: crypto/format.ts, layer 2. Only the version
// byte (not the nonce) is authenticated as header, as format 2 always did.
const VERSION_BYTE = Uint8Array.of(TICKET_SEAL_VERSION);
const HEADER_BYTES = 1 + NONCE_BYTES;

/**
 * Seal `plaintext` so that only the holder of `ticket` can open it, e.g. the
 * successor ticket kept in a refresh tombstone, or the tokens inside a
 * session payload. The key is SHA-256(`cloakroom/ticket-seal/v2\0` ‖ ticket);
 * the cipher is AES-256-GCM with a fresh random nonce. Layout (specified in
 * `crypto/format.ts`): `version (2) ‖ nonce (12) ‖ ciphertext ‖ tag (16)`;
 * the AAD is the version byte followed by `aad`. Synchronous.
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
  return sealUnderParsedTicket(parseTicket(ticket), plaintext, aad);
}

/**
 * {@link sealUnderTicket} for a ticket the compiler knows is parsed (one
 * just generated, or found by `load`): no second parse. Internal.
 */
export function sealUnderParsedTicket(
  ticket: Ticket,
  plaintext: Uint8Array,
  aad: Uint8Array,
): Uint8Array {
  const key = ticketSealKey(ticket);
  const out = new Uint8Array(HEADER_BYTES + plaintext.byteLength + TAG_BYTES);
  out[0] = TICKET_SEAL_VERSION;
  const nonce = fillPublicRandom(out.subarray(1, HEADER_BYTES));
  sealAesGcmInto(key, nonce, VERSION_BYTE, aad, plaintext, out, HEADER_BYTES);
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
  let parsed: Ticket;
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
  ticket: Ticket,
  sealed: Uint8Array,
  aad: Uint8Array,
): Uint8Array {
  if (
    !(sealed instanceof Uint8Array) ||
    sealed.byteLength < HEADER_BYTES + TAG_BYTES ||
    sealed[0] !== TICKET_SEAL_VERSION
  ) {
    throw new DecryptionFailed('ticket-sealed data is malformed');
  }
  try {
    const key = ticketSealKey(ticket);
    return openAesGcm(
      key,
      sealed.subarray(1, HEADER_BYTES),
      VERSION_BYTE,
      aad,
      sealed,
      HEADER_BYTES,
    );
  } catch (cause) {
    throw new DecryptionFailed('ticket-sealed data failed to open', { cause });
  }
}
