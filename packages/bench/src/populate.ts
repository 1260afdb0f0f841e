// Population for the scaling cases: sessions made by `create` itself, so the
// records are exactly what core writes whatever its payload format. The
// scaling cases sign with HS256 (see scaling.ts): an HMAC, not an Ed25519
// signature, so a million creates take seconds of signing, not minutes.
import type { Cloakroom } from '@cloakroom/core';
import { CLAIMS } from './fixture';
import type { TicketBook } from './ticket-book';

/**
 * Returns a function that stores one more session and returns its ticket:
 * subjects cycle over 50,000 users, as in a real population where many
 * users hold a few sessions.
 */
export function sessionMaker(cloakroom: Cloakroom): (i: number) => Promise<string> {
  return async (i) => (await cloakroom.create(`scale-${i % 50_000}`, { ...CLAIMS })).ticket;
}

/** Fills `tickets` up to `upTo` sessions made by `make`, 256 at a time. */
export async function populate(
  make: (i: number) => Promise<string>,
  tickets: TicketBook,
  upTo: number,
): Promise<void> {
  let next = tickets.size;
  const worker = async () => {
    while (next < upTo) {
      const i = next++;
      tickets.set(i, await make(i));
    }
  };
  await Promise.all(Array.from({ length: 256 }, worker));
}
