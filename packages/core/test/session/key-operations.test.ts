import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  AccessDenied,
  type CloakroomEvent,
  InvalidArgument,
  createCloakroom,
  rolePolicy,
  rotatingKeys,
} from '@cloakroom/core';
import { createMemoryKeySetStore, createMemoryStore } from '@cloakroom/store-memory';
import { Clock, setup } from '../support/fixtures';

const MIN = 60_000;

function world() {
  const clock = new Clock();
  const keys = rotatingKeys({
    store: createMemoryKeySetStore(),
    masterKey: new Uint8Array(randomBytes(32)),
    clock: clock.now,
    signing: { rotateEvery: 600 * MIN, publishAhead: 10 * MIN, retireAfter: 120 * MIN },
  });
  const events: CloakroomEvent[] = [];
  const cloakroom = createCloakroom({
    store: createMemoryStore({ clock: clock.now }),
    keys,
    issuer: 'https://issuer.test',
    audience: 'api',
    clock: clock.now,
    policy: rolePolicy({ roles: { 'key-admin': ['keys.*'] } }),
    onEvent: (e) => events.push(e),
  });
  return { clock, keys, cloakroom, events };
}

describe('key operations through the manager', () => {
  it('SEC-26 rotating and compromising keys are operator actions gated by the policy', async () => {
    const w = world();
    await expect(w.cloakroom.rotateKeys('signing')).rejects.toBeInstanceOf(AccessDenied);
    await expect(
      w.cloakroom.rotateKeys('signing', { id: 'ops', roles: ['viewer'] }),
    ).rejects.toBeInstanceOf(AccessDenied);
    const status = await w.cloakroom.rotateKeys('signing', { id: 'ops', roles: ['key-admin'] });
    expect(status).toMatchObject({ kind: 'signing', state: 'pending' });
    // SEC-19: pending keys are published before they sign.
    expect((await w.cloakroom.jwks()).keys.map((k) => k.kid)).toContain(status.id);
    expect(w.events.find((e) => e.type === 'keys.rotated')).toMatchObject({
      kind: 'signing',
      keyId: status.id,
    });
  });

  it('SEC-19 a compromised signing key kills its sessions and tokens at once', async () => {
    const w = world();
    const { ticket } = await w.cloakroom.create('u');
    const session = await w.cloakroom.resolve(ticket);
    const kid = (await w.keys.signingKey()).kid;
    await w.cloakroom.compromiseKey(kid, { roles: ['key-admin'] });
    expect(await w.cloakroom.resolve(ticket)).toBeNull();
    await expect(w.cloakroom.verify(session?.token)).rejects.toMatchObject({
      code: 'ERR_TOKEN_REJECTED',
    });
    // New sessions work at once under the replacement key.
    const fresh = await w.cloakroom.create('u');
    expect((await w.cloakroom.resolve(fresh.ticket))?.sessionId).toBe(fresh.sessionId);
  });

  it('a static key provider cannot rotate: a clear InvalidArgument after authorization', async () => {
    const { cloakroom } = await setup({ policy: rolePolicy({ roles: { admin: ['*'] } }) });
    await expect(cloakroom.rotateKeys('storage', { roles: ['admin'] })).rejects.toBeInstanceOf(
      InvalidArgument,
    );
  });
});
