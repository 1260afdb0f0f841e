// The scaling case's tickets, packed. A server resolves a ticket that has
// just arrived in its request: a fresh short string, parsed from a header
// that is hot in cache. A bench that kept a million ticket strings in an
// array would instead read a cold array slot and a cold string per request
// (two dependent cache misses no server pays) and carry ~70 MB of extra
// old-space strings through every major GC. So tickets are kept as bytes, 47
// per ticket, and each request gets a new string made from them.
import { TICKET_LENGTH } from '@cloakroom/core';

export class TicketBook {
  private readonly bytes: Buffer;
  private count = 0;

  constructor(readonly capacity: number) {
    this.bytes = Buffer.alloc(capacity * TICKET_LENGTH);
  }

  /** Tickets written so far (the highest index set, plus one). */
  get size(): number {
    return this.count;
  }

  set(i: number, ticket: string): void {
    if (!Number.isInteger(i) || i < 0 || i >= this.capacity) {
      throw new RangeError('TicketBook: index out of range');
    }
    if (ticket.length !== TICKET_LENGTH) throw new RangeError('TicketBook: not a ticket');
    this.bytes.write(ticket, i * TICKET_LENGTH, TICKET_LENGTH, 'latin1');
    if (i >= this.count) this.count = i + 1;
  }

  /** Ticket `i` as a new string, the way a request parser would hand it over. */
  at(i: number): string {
    const from = i * TICKET_LENGTH;
    return this.bytes.toString('latin1', from, from + TICKET_LENGTH);
  }
}
