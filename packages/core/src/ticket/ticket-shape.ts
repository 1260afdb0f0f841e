// What a ticket looks like, with no Node built-in: shared by the Node entry
// and the Web-standard one (`@cloakroom/core/web`), which middleware on edge
// runtimes uses to read the ticket cookie.
import { TicketMalformed } from '../errors';

/**
 * Versioned prefix of every ticket. It lets a malformed ticket be rejected
 * before any store call and makes leaked tickets easy to scan for.
 */
export const TICKET_PREFIX = 'cr1_';

/** Length of a ticket: the 4-character prefix plus 43 base64url characters (32 bytes). */
export const TICKET_LENGTH = 47;

declare const parsed: unique symbol;

/**
 * A string that passed {@link parseTicket} (or came from
 * {@link generateTicket}): the compiler then knows it is a well-formed
 * ticket, so code that needs one cannot be handed raw client input. It is
 * still a `string` everywhere a string is expected.
 *
 * @example
 * ```ts
 * const ticket: Ticket = parseTicket(cookieValue); // throws TicketMalformed otherwise
 * ```
 */
export type Ticket = string & { readonly [parsed]: true };

// Per ASCII code: 1 = a base64url character, 3 = one that may also end a
// ticket. 43 base64url characters carry 258 bits; for exactly 32 bytes the
// last character's two low bits must be zero, so only 16 are canonical
// ("AEIMQUYcgkosw048"). Accepting the others would give one ticket several
// spellings. A table walk, not a regex and a slice: no allocation on the
// resolve hot path.
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const CANONICAL_LAST = 'AEIMQUYcgkosw048';
const CLASS = new Uint8Array(128);
for (let i = 0; i < ALPHABET.length; i++) CLASS[ALPHABET.charCodeAt(i)] = 1;
for (let i = 0; i < CANONICAL_LAST.length; i++) CLASS[CANONICAL_LAST.charCodeAt(i)] = 3;

/** Whether a string of ticket length, prefix checked, has a well-formed body. */
function wellFormedBody(input: string): boolean {
  const last = TICKET_LENGTH - 1;
  for (let i = TICKET_PREFIX.length; i < last; i++) {
    const c = input.charCodeAt(i);
    if (c > 127 || CLASS[c] === 0) return false;
  }
  const c = input.charCodeAt(last);
  return c <= 127 && CLASS[c] === 3;
}

/**
 * Strictly validate a ticket received from a client. Returns it unchanged
 * when it is exactly a ticket {@link generateTicket} could have produced.
 * The length is checked before anything else, so a huge string costs
 * nothing.
 *
 * @throws TicketMalformed for anything else (non-strings, wrong prefix or
 * length, characters outside base64url, a non-canonical last character).
 * The message never echoes the input.
 * @example
 * ```ts
 * const ticket = parseTicket(request.cookies['__Host-cloakroom']);
 * ```
 */
export function parseTicket(input: unknown): Ticket {
  if (
    typeof input !== 'string' ||
    input.length !== TICKET_LENGTH ||
    !input.startsWith(TICKET_PREFIX) ||
    !wellFormedBody(input)
  ) {
    throw new TicketMalformed('ticket is malformed');
  }
  return input as Ticket;
}
