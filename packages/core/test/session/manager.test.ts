import { decodeJwt, decodeProtectedHeader } from 'jose';
import { describe, expect, it } from 'vitest';
import {
  ConfigInvalid,
  InvalidArgument,
  StoreUnavailable,
  createCloakroom,
  generateTicket,
  isCloakroomError,
  sessionIdOf,
} from '@cloakroom/core';
import { createMemoryStore } from '@cloakroom/store-memory';
import { AUDIENCE, ISSUER, dump, keysFrom, makeKeyMaterial, setup } from '../support/fixtures';

describe('createCloakroom: create and resolve', () => {
  it('creates a session whose ticket resolves to the subject, claims and a signed token', async () => {
    const { cloakroom } = await setup();
    const { ticket, sessionId, expiresAt, absoluteExpiresAt } = await cloakroom.create(
      'user-1',
      { role: 'editor' },
      { label: 'laptop' },
    );
    expect(ticket).toMatch(/^cr1_[A-Za-z0-9_-]{43}$/);
    expect(sessionId).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(expiresAt).toBeLessThanOrEqual(absoluteExpiresAt);
    const session = await cloakroom.resolve(ticket);
    expect(session).not.toBeNull();
    expect(session?.subject).toBe('user-1');
    expect(session?.claims).toEqual({ role: 'editor' });
    expect(session?.label).toBe('laptop');
    expect(session?.sessionId).toBe(sessionId);
    const verified = await cloakroom.verify(session?.token);
    expect(verified.payload.sub).toBe('user-1');
    expect(verified.payload.role).toBe('editor');
  });

  it('SEC-18 issued tokens carry iss, aud, sub, exp, iat, jti and an explicit typ', async () => {
    const { cloakroom } = await setup();
    const { ticket } = await cloakroom.create('user-1');
    const session = await cloakroom.resolve(ticket);
    const token = session?.token ?? '';
    const claims = decodeJwt(token);
    expect(claims.iss).toBe(ISSUER);
    expect(claims.aud).toBe(AUDIENCE);
    expect(claims.sub).toBe('user-1');
    expect(typeof claims.exp).toBe('number');
    expect(typeof claims.iat).toBe('number');
    expect(claims.jti).toMatch(/^[A-Za-z0-9_-]{22}$/);
    const header = decodeProtectedHeader(token);
    expect(header.typ).toBe('at+jwt');
    expect(header.alg).toBe('EdDSA');
    expect(typeof header.kid).toBe('string');
  });

  it('two sessions of one subject get distinct tickets, ids and jtis', async () => {
    const { cloakroom } = await setup();
    const a = await cloakroom.create('user-1');
    const b = await cloakroom.create('user-1');
    expect(a.ticket).not.toBe(b.ticket);
    const [ta, tb] = await Promise.all([cloakroom.resolve(a.ticket), cloakroom.resolve(b.ticket)]);
    expect(decodeJwt(ta?.token ?? '').jti).not.toBe(decodeJwt(tb?.token ?? '').jti);
  });

  it('rejects bad input with a typed error and writes nothing', async () => {
    const { cloakroom, spy } = await setup();
    await expect(cloakroom.create('')).rejects.toBeInstanceOf(InvalidArgument);
    await expect(cloakroom.create('u', { exp: 1 })).rejects.toBeInstanceOf(InvalidArgument);
    await expect(cloakroom.create('u', { sub: 'other' })).rejects.toBeInstanceOf(InvalidArgument);
    await expect(cloakroom.create('u', [] as never)).rejects.toBeInstanceOf(InvalidArgument);
    await expect(cloakroom.create('u', new Date() as never)).rejects.toBeInstanceOf(
      InvalidArgument,
    );
    await expect(cloakroom.create('u', { big: 'x'.repeat(20_000) })).rejects.toBeInstanceOf(
      InvalidArgument,
    );
    await expect(cloakroom.create('u', {}, { label: 'x'.repeat(201) })).rejects.toBeInstanceOf(
      InvalidArgument,
    );
    expect(spy.calls.insert ?? 0).toBe(0);
  });

  it('rejects invalid configuration with ConfigInvalid', async () => {
    const m = await makeKeyMaterial();
    const base = {
      store: createMemoryStore(),
      keys: keysFrom(m),
      issuer: ISSUER,
      audience: AUDIENCE,
    };
    expect(() => createCloakroom({ ...base, issuer: '' })).toThrow(ConfigInvalid);
    expect(() => createCloakroom({ ...base, store: {} as never })).toThrow(ConfigInvalid);
    expect(() => createCloakroom({ ...base, ttl: { idle: 10_000, absolute: 5_000 } })).toThrow(
      ConfigInvalid,
    );
    expect(() => createCloakroom({ ...base, ttl: { idle: -1 } })).toThrow(ConfigInvalid);
    expect(() => createCloakroom({ ...base, typ: 'bad typ;' })).toThrow(ConfigInvalid);
  });

  it('a store that is down throws StoreUnavailable from resolve, never null', async () => {
    const { cloakroom, spy } = await setup();
    const { ticket } = await cloakroom.create('user-1');
    spy.setFailure(new StoreUnavailable('backend unreachable'));
    await expect(cloakroom.resolve(ticket)).rejects.toBeInstanceOf(StoreUnavailable);
    await expect(cloakroom.create('user-2')).rejects.toBeInstanceOf(StoreUnavailable);
    await expect(cloakroom.refresh(ticket)).rejects.toBeInstanceOf(StoreUnavailable);
    spy.setFailure(undefined);
    expect((await cloakroom.resolve(ticket))?.sessionId).toBe(sessionIdOf(ticket));
  });

  it('after close every call throws Closed', async () => {
    const { cloakroom } = await setup();
    await cloakroom.close();
    await cloakroom.close();
    await expect(cloakroom.create('u')).rejects.toMatchObject({ code: 'ERR_CLOSED' });
    await expect(cloakroom.resolve(generateTicket())).rejects.toMatchObject({ code: 'ERR_CLOSED' });
  });

  it('an onEvent sink that throws does not break the operation', async () => {
    const errors: unknown[] = [];
    const { cloakroom } = await setup({
      onEvent: () => {
        throw new Error('sink down');
      },
      onEventError: (e) => errors.push(e),
    });
    const { ticket } = await cloakroom.create('user-1');
    expect((await cloakroom.resolve(ticket))?.sessionId).toBe(sessionIdOf(ticket));
    expect(errors.length).toBeGreaterThan(0);
  });

  it('exposes the public JWKS with no private members', async () => {
    const { cloakroom } = await setup();
    const { keys } = await cloakroom.jwks();
    expect(keys).toHaveLength(1);
    for (const k of keys)
      for (const m of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k']) expect(k).not.toHaveProperty(m);
  });
});

describe('SEC-13 every failed resolve looks the same to the caller', () => {
  it('SEC-13 malformed, missing, expired, revoked, tampered and transplanted all return null; the reason goes to the event only', async () => {
    const { cloakroom, clock, memory, events } = await setup({
      ttl: { idle: 60_000, absolute: 120_000 },
    });
    const reasons = () =>
      events
        .filter((e) => e.type === 'session.rejected')
        .map((e) => (e as { reason: string }).reason);

    expect(await cloakroom.resolve('not-a-ticket')).toBeNull();
    expect(await cloakroom.resolve(generateTicket())).toBeNull();

    const revoked = await cloakroom.create('u');
    await cloakroom.revoke(revoked.ticket);
    expect(await cloakroom.resolve(revoked.ticket)).toBeNull();

    // Tampered: flip one payload byte in place (through the store, as an attacker with write access would).
    const victim = await cloakroom.create('u');
    const [rec] = (await dump(memory)).filter((r) => r.id === victim.sessionId);
    if (!rec) throw new Error('record missing');
    const flipped = rec.payload.slice();
    flipped[flipped.length - 20] = (flipped[flipped.length - 20] ?? 0) ^ 1;
    expect(
      await memory.replace({ ...rec, version: rec.version + 1, payload: flipped }, rec.version),
    ).toBe(true);
    expect(await cloakroom.resolve(victim.ticket)).toBeNull();

    // Transplanted (SEC-10): session B's record given session A's sealed payload.
    const a = await cloakroom.create('alice');
    const b = await cloakroom.create('bob');
    const all = await dump(memory);
    const ra = all.find((r) => r.id === a.sessionId);
    const rb = all.find((r) => r.id === b.sessionId);
    if (!ra || !rb) throw new Error('records missing');
    expect(
      await memory.replace({ ...rb, version: rb.version + 1, payload: ra.payload }, rb.version),
    ).toBe(true);
    expect(await cloakroom.resolve(b.ticket)).toBeNull();
    expect((await cloakroom.resolve(a.ticket))?.sessionId).toBe(a.sessionId);

    const expiring = await cloakroom.create('u');
    clock.advance(60_000);
    expect(await cloakroom.resolve(expiring.ticket)).toBeNull();

    expect(reasons()).toEqual([
      'malformed',
      'missing',
      'missing',
      'tampered',
      'tampered',
      'expired',
    ]);
    // An idle-expired session is reported as such, not as missing (#15.6).
    expect(events.at(-1)).toMatchObject({ reason: 'expired', expiry: 'idle' });
    // Past the store's reporting margin the record is gone: then it is missing.
    clock.advance(61_000);
    expect(await cloakroom.resolve(expiring.ticket)).toBeNull();
    expect(reasons().at(-1)).toBe('missing');
  });

  it('SEC-10 a payload copied onto a record of the same subject still fails to open', async () => {
    const { cloakroom, memory } = await setup();
    const a = await cloakroom.create('same-user');
    const b = await cloakroom.create('same-user');
    const all = await dump(memory);
    const ra = all.find((r) => r.id === a.sessionId);
    const rb = all.find((r) => r.id === b.sessionId);
    if (!ra || !rb) throw new Error('records missing');
    await memory.replace({ ...rb, version: rb.version + 1, payload: ra.payload }, rb.version);
    expect(await cloakroom.resolve(b.ticket)).toBeNull();
  });

  it('SEC-03 malformed tickets never reach the store', async () => {
    const { cloakroom, spy } = await setup();
    const bad = [
      '',
      'cr1_',
      '../../etc/passwd',
      'cr1_*',
      `cr1_${'A'.repeat(42)}"`,
      'cr1_\0',
      'x'.repeat(1_000_000),
      undefined,
      null,
      42,
      {},
    ];
    for (const t of bad) {
      expect(await cloakroom.resolve(t)).toBeNull();
      expect(await cloakroom.refresh(t)).toBeNull();
      expect(await cloakroom.revoke(t)).toBe(false);
    }
    expect(spy.calls.get ?? 0).toBe(0);
  });

  it('SEC-19 a session whose signing key was disabled stops resolving at once', async () => {
    const m = await makeKeyMaterial();
    const { cloakroom, memory, clock } = await setup({}, m);
    const { ticket } = await cloakroom.create('user-1');
    // The same storage and index keys, but the signing key is gone (compromised and disabled).
    const other = await makeKeyMaterial();
    const events: string[] = [];
    const afterCompromise = createCloakroom({
      store: memory,
      keys: keysFrom({ ...m, signing: other.signing }),
      issuer: ISSUER,
      audience: AUDIENCE,
      clock: clock.now,
      onEvent: (e) => events.push(e.type === 'session.rejected' ? e.reason : e.type),
    });
    expect(await afterCompromise.resolve(ticket)).toBeNull();
    expect(events).toContain('key-disabled');
  });

  it('rejects a store record whose id does not match the ticket hash', async () => {
    const { cloakroom, spy, memory } = await setup();
    const a = await cloakroom.create('u');
    const b = await cloakroom.create('u');
    const rb = (await dump(memory)).find((r) => r.id === b.sessionId);
    // A hostile store answers the lookup for A with B's (validly sealed) record.
    spy.store.get = async () => rb ?? null;
    expect(await cloakroom.resolve(a.ticket)).toBeNull();
  });

  it('errors thrown are CloakroomErrors', async () => {
    const { cloakroom } = await setup();
    const err = await cloakroom.create('').catch((e: unknown) => e);
    expect(isCloakroomError(err)).toBe(true);
  });
});
