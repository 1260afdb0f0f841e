// Attacks on keys as the session manager uses them: the GCM seal budget
// (SEC-11), key lifecycle at verify time with a rotating provider (SEC-19),
// and psychic ECDSA signatures through `cloakroom.verify` (SEC-21).
import { randomBytes } from 'node:crypto';
import {
  type CloakroomEvent,
  KeyExhausted,
  TokenRejected,
  createAesGcmCipher,
  createCloakroom,
  generateSecret,
  generateSigningKey,
  rotatingKeys,
  staticKeys,
} from '@cloakroom/core';
import { createMemoryKeySetStore, createMemoryStore } from '@cloakroom/store-memory';
import { describe, expect, it } from 'vitest';
import { AUDIENCE, Clock, ISSUER, dump, setup } from '../support/fixtures';

const MIN = 60_000;
const b64u = (v: string | Uint8Array) => Buffer.from(v).toString('base64url');

describe('SEC-11 the per-key seal budget holds through the session manager', () => {
  it('SEC-11 a storage key at its budget refuses to seal: create and refresh throw KeyExhausted and store nothing; a new primary takes over', async () => {
    const signing = await generateSigningKey('EdDSA');
    const index = generateSecret();
    const oldKey = generateSecret();
    const keysWith = (storage: Uint8Array[]) =>
      staticKeys({
        signing: [{ alg: 'EdDSA', privateKey: signing.privateJwk }],
        storage: storage.map((key) => ({ key })),
        index,
      });
    const clock = new Clock();
    const memory = createMemoryStore({ clock: clock.now });
    const app = (storage: Uint8Array[]) => {
      const keys = keysWith(storage);
      return createCloakroom({
        store: memory,
        keys,
        cipher: createAesGcmCipher({ keys, maxSealsPerKey: 3 }),
        issuer: ISSUER,
        audience: AUDIENCE,
        clock: clock.now,
      });
    };
    const before = app([oldKey]);
    const tickets = [];
    for (let i = 0; i < 3; i++) tickets.push((await before.create(`user-${i}`)).ticket);
    await expect(before.create('one-too-many')).rejects.toBeInstanceOf(KeyExhausted);
    await expect(before.refresh(tickets[0])).rejects.toBeInstanceOf(KeyExhausted);
    expect(await dump(memory)).toHaveLength(3);
    // Opening is not budgeted: existing sessions still resolve.
    expect((await before.resolve(tickets[1]))?.subject).toBe('user-1');

    // Rotation: a new primary seals; the exhausted key still opens.
    const after = app([generateSecret(), oldKey]);
    const fresh = await after.create('user-new');
    expect((await after.resolve(fresh.ticket))?.subject).toBe('user-new');
    for (const [i, t] of tickets.entries()) {
      expect((await after.resolve(t))?.subject).toBe(`user-${i}`);
    }
  });

  it('SEC-11 with rotating keys, the fleet seal count retires a storage key before its budget; sessions under both keys resolve', async () => {
    const clock = new Clock();
    const keys = rotatingKeys({
      store: createMemoryKeySetStore(),
      masterKey: new Uint8Array(randomBytes(32)),
      clock: clock.now,
      refreshEvery: MIN,
      signing: { rotateEvery: 24 * 60 * MIN, publishAhead: 10 * MIN, retireAfter: 60 * MIN },
      storage: { rotateEvery: 24 * 60 * MIN, publishAhead: 5 * MIN, maxSeals: 8 },
    });
    const memory = createMemoryStore({ clock: clock.now });
    const app = createCloakroom({
      store: memory,
      keys,
      issuer: ISSUER,
      audience: AUDIENCE,
      clock: clock.now,
      ttl: { idle: 60 * MIN, absolute: 120 * MIN, token: 30 * MIN },
    });
    const inspect = createAesGcmCipher({ keys });
    const first = (await keys.status()).storage[0]?.id;
    const tickets: string[] = [];
    for (let i = 0; i < 8; i++) tickets.push((await app.create(`user-${i}`)).ticket);
    let status = await keys.refresh();
    const successor = status.storage.find((k) => k.state === 'pending');
    expect(status.storage.find((k) => k.id === first)?.seals).toBeGreaterThanOrEqual(8);
    expect(successor?.id).not.toBe(first);
    expect(successor?.activatesAt).toBeGreaterThan(clock.t);

    clock.t = successor?.activatesAt as number;
    await keys.refresh();
    for (let i = 8; i < 12; i++) tickets.push((await app.create(`user-${i}`)).ticket);
    const byKey = new Map<string, number>();
    for (const r of await dump(memory)) {
      const id = inspect.keyIdOf(r.payload);
      byKey.set(id, (byKey.get(id) ?? 0) + 1);
    }
    expect(byKey.get(successor?.id as string)).toBe(4);
    status = await keys.status();
    expect(status.storage.find((k) => k.id === first)?.state).toBe('retired');
    for (const [i, t] of tickets.entries()) {
      expect((await app.resolve(t))?.subject).toBe(`user-${i}`);
    }
  });
});

describe('SEC-19 key lifecycle through the manager with rotating keys', () => {
  it('SEC-19 a retired signing key: its tokens pass cloakroom.verify during grace and fail after it; a compromised key fails at once', async () => {
    const clock = new Clock();
    const retireAfter = 20 * MIN;
    const keys = rotatingKeys({
      store: createMemoryKeySetStore(),
      masterKey: new Uint8Array(randomBytes(32)),
      clock: clock.now,
      refreshEvery: MIN,
      signing: { rotateEvery: 24 * 60 * MIN, publishAhead: 10 * MIN, retireAfter },
      storage: { rotateEvery: 24 * 60 * MIN, publishAhead: 5 * MIN },
    });
    const events: CloakroomEvent[] = [];
    const app = createCloakroom({
      store: createMemoryStore({ clock: clock.now }),
      keys,
      issuer: ISSUER,
      audience: AUDIENCE,
      clock: clock.now,
      // Tokens outlive the grace, so a failure after it can only be the key.
      ttl: { idle: 120 * MIN, token: 120 * MIN, absolute: 240 * MIN },
      onEvent: (e) => events.push(e),
    });
    const old = await app.create('user-old');
    const oldToken = (await app.resolve(old.ticket))?.token as string;
    const oldKid = (await app.verify(oldToken)).header.kid;

    const next = await keys.rotate('signing');
    clock.t = next.activatesAt;
    await keys.refresh();
    const fresh = await app.create('user-new');
    const freshToken = (await app.resolve(fresh.ticket))?.token as string;
    expect((await app.verify(freshToken)).header.kid).toBe(next.id);
    // Retired, in grace: old tokens verify, old sessions resolve.
    expect((await app.verify(oldToken)).payload.sub).toBe('user-old');
    expect((await app.jwks()).keys.map((k) => k.kid)).toContain(oldKid);
    clock.t = next.activatesAt + retireAfter - 1000;
    expect((await app.verify(oldToken)).payload.sub).toBe('user-old');

    // Past grace: the same unexpired token is refused by key, and its session no longer resolves.
    clock.t = next.activatesAt + retireAfter;
    await expect(app.verify(oldToken)).rejects.toMatchObject({ reason: 'unknown-kid' });
    await keys.refresh();
    expect((await app.jwks()).keys.map((k) => k.kid)).not.toContain(oldKid);
    expect(await app.resolve(old.ticket)).toBeNull();
    expect(events.at(-1)).toMatchObject({ type: 'session.rejected', reason: 'key-disabled' });

    // Compromise of the current key: its tokens and sessions fail at once, no grace.
    const current = (await app.resolve(fresh.ticket))?.token as string;
    await keys.compromise(next.id);
    await expect(app.verify(current)).rejects.toMatchObject({ reason: 'unknown-kid' });
    expect(await app.resolve(fresh.ticket)).toBeNull();
  });
});

describe('SEC-21 psychic signatures and revocation through the manager', () => {
  // secp256r1 group order n: r = s = n is r = s = 0 (mod n).
  const N = 'ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551';

  async function es256World() {
    const signing = await generateSigningKey('ES256');
    return setup({
      keys: staticKeys({
        signing: [{ alg: 'ES256', privateKey: signing.privateJwk }],
        storage: [{ key: generateSecret() }],
        index: generateSecret(),
      }),
    });
  }

  it('SEC-21 cloakroom.verify rejects r = s = 0 and r = s = n, raw or DER-shaped, for an otherwise perfect token', async () => {
    const { cloakroom, clock } = await es256World();
    const { ticket } = await cloakroom.create('victim', { role: 'user' });
    const honest = (await cloakroom.resolve(ticket))?.token as string;
    expect((await cloakroom.verify(honest)).payload.sub).toBe('victim');
    const [header] = honest.split('.');
    const now = Math.floor(clock.t / 1000);
    const forgedClaims = b64u(
      JSON.stringify({
        iss: ISSUER,
        aud: AUDIENCE,
        sub: 'admin',
        role: 'admin',
        iat: now,
        exp: now + 600,
        jti: 'forged',
      }),
    );
    const signatures = [
      new Uint8Array(64),
      Buffer.from(N + N, 'hex'),
      Buffer.from('3006020100020100', 'hex'),
      Buffer.from(`3046022100${N}022100${N}`, 'hex'),
    ];
    const reasons: unknown[] = [];
    for (const sig of signatures) {
      const forged = `${header}.${forgedClaims}.${b64u(sig)}`;
      const error = await cloakroom.verify(forged).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TokenRejected);
      reasons.push((error as TokenRejected).reason);
    }
    // Only the signature is wrong: the claims would pass on their own.
    expect(reasons).toEqual(['signature', 'signature', 'signature', 'signature']);
  });

  it('SEC-21 revocation is by ticket or session id, never by token string: revoke(token) is a malformed ticket and kills nothing', async () => {
    const { cloakroom, events } = await setup();
    const created = await cloakroom.create('victim');
    const token = (await cloakroom.resolve(created.ticket))?.token as string;
    expect(await cloakroom.revoke(token)).toBe(false);
    expect(events.at(-1)).toMatchObject({ type: 'session.rejected', reason: 'malformed' });
    expect(await cloakroom.refresh(token)).toBeNull();
    expect((await cloakroom.resolve(created.ticket))?.subject).toBe('victim');
    // The session id (what audit events carry) revokes, for its own subject.
    expect(await cloakroom.revokeSession('victim', created.sessionId, { subject: 'victim' })).toBe(
      true,
    );
    expect(await cloakroom.resolve(created.ticket)).toBeNull();
  });
});
