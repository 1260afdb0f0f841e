// SEC-32: key operations drop the local near cache at once (compromiseKey,
// rotateKeys), so nothing vetted under the old key set is answered from
// memory on this instance. Real memory store and key set store; the channel
// is the test double of near-cache-support.ts, held silent.
import { randomBytes } from 'node:crypto';
import { rolePolicy, rotatingKeys } from '@cloakroom/core';
import { createMemoryKeySetStore } from '@cloakroom/store-memory';
import { describe, expect, it } from 'vitest';
import { fleet, warm } from '../session/near-cache-support';

const ADMIN = { roles: ['key-admin'] };

async function keyFleet() {
  return fleet({
    keys: rotatingKeys({
      store: createMemoryKeySetStore(),
      masterKey: new Uint8Array(randomBytes(32)),
    }),
    policy: rolePolicy({ roles: { 'key-admin': ['keys.*'] } }),
  });
}

describe('SEC-32 near cache: key operations', () => {
  it('SEC-32 compromiseKey on A empties A’s cache: the next resolve reads the store and answers null', async () => {
    const { a, storeA, bus } = await keyFleet();
    const { ticket } = await a.create('u');
    await warm(a, ticket);
    const session = await a.resolve(ticket);
    bus.hold = true; // the channel says nothing
    const kid = (await a.verify(session?.token)).header.kid as string;
    await a.compromiseKey(kid, ADMIN);
    const before = storeA.gets.n;
    expect(await a.resolve(ticket)).toBeNull();
    expect(storeA.gets.n).toBe(before + 1); // a store read, not a cache hit
  });

  it('SEC-32 rotateKeys on A empties A’s cache; the session still resolves from the store', async () => {
    const { a, storeA, bus } = await keyFleet();
    const { ticket } = await a.create('u');
    await warm(a, ticket);
    bus.hold = true;
    await a.rotateKeys('storage', ADMIN);
    const before = storeA.gets.n;
    expect((await a.resolve(ticket))?.subject).toBe('u');
    expect(storeA.gets.n).toBe(before + 1);
  });
});
