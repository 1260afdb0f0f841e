// Population for the scaling cases: sessions made by `create` itself, so the
// records are exactly what core writes whatever its payload format. The
// scaling cases sign with HS256 (see scaling.ts): an HMAC, not an Ed25519
// signature, so a million creates take seconds of signing, not minutes.
import type { Cloakroom } from '@cloakroom/core';
import { CLAIMS } from './fixture';

/**
 * Returns a function that stores one more session and returns its ticket:
 * subjects cycle over 50,000 users, as in a real population where many
 * users hold a few sessions.
 */
export function sessionMaker(cloakroom: Cloakroom): (i: number) => Promise<string> {
  return async (i) => (await cloakroom.create(`scale-${i % 50_000}`, { ...CLAIMS })).ticket;
}
