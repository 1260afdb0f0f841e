import { hash, randomBytes, randomFillSync } from 'node:crypto';
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
 * A new ticket and a fresh 256-bit data key for the record it opens, from
 * one CSPRNG draw (each `randomBytes` call has a fixed cost of a few µs,
 * and `create` needs both). The two halves are independent CSPRNG output;
 * nothing waits in a buffer for later use.
 *
 * @example
 * ```ts
 * const { ticket, dataKey } = generateTicketAndKey();
 * ```
 */
export function generateTicketAndKey(): { ticket: Ticket; dataKey: Uint8Array } {
  const bytes = randomFillSync(Buffer.allocUnsafeSlow(2 * TICKET_BYTES));
  const ticket = (TICKET_PREFIX + bytes.toString('base64url', 0, TICKET_BYTES)) as Ticket;
  // The ticket now lives in its string only.
  bytes.fill(0, 0, TICKET_BYTES);
  return {
    ticket,
    dataKey: new Uint8Array(bytes.buffer, bytes.byteOffset + TICKET_BYTES, TICKET_BYTES),
  };
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
