import { hash, randomBytes } from 'node:crypto';
import { TICKET_PREFIX, type Ticket } from './ticket-shape';

export { TICKET_LENGTH, TICKET_PREFIX, type Ticket, parseTicket } from './ticket-shape';

const TICKET_BYTES = 32;

/**
 * Generate a new ticket: {@link TICKET_PREFIX} followed by 32 bytes
 * (256 bits) from the operating system's CSPRNG, base64url without padding.
 * It carries no user data; the client holds it, the server stores only
 * {@link sessionIdOf} of it.
 *
 * @example
 * ```ts
 * const ticket = generateTicket(); // "cr1_q3V…" (47 characters)
 * ```
 */
export function generateTicket(): Ticket {
  return (TICKET_PREFIX + randomBytes(TICKET_BYTES).toString('base64url')) as Ticket;
}

/**
 * The session id of a ticket: base64url SHA-256 of the whole ticket string,
 * 43 characters. This is the only key a store ever sees; a store dump gives
 * no usable ticket. The ticket should already have passed {@link parseTicket}.
 *
 * @example
 * ```ts
 * const id = sessionIdOf(parseTicket(input));
 * const record = await store.get(id);
 * ```
 */
export function sessionIdOf(ticket: string): string {
  // The one-shot hash avoids a Hash object per call on the resolve hot path.
  return hash('sha256', ticket, 'base64url');
}
