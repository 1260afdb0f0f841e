import { decodeJwt } from 'jose';
import { describe, expect, it } from 'vitest';
import { AccessDenied, type AccessPolicy, allowAll, sessionIdOf } from '@cloakroom/core';
import { dump, setup } from '../support/fixtures';

const MIN = 60_000;

describe('SEC-05 idle and absolute timeouts', () => {
  it('SEC-05 an unused session dies at its idle deadline', async () => {
    const { cloakroom, clock } = await setup({ ttl: { idle: 10 * MIN, absolute: 60 * MIN } });
    const { ticket } = await cloakroom.create('u');
    clock.advance(10 * MIN - 1);
    expect((await cloakroom.resolve(ticket))?.sessionId).toBe(sessionIdOf(ticket));
    clock.advance(10 * MIN);
    expect(await cloakroom.resolve(ticket)).toBeNull();
  });

  it('SEC-05 activity extends the idle window but never past the absolute deadline', async () => {
    const { cloakroom, clock } = await setup({
      ttl: { idle: 10 * MIN, absolute: 60 * MIN, token: 5 * MIN },
    });
    const { ticket, absoluteExpiresAt } = await cloakroom.create('u');
    let last = await cloakroom.resolve(ticket);
    // Use it every 4 minutes: it outlives many idle windows…
    while (clock.t + 4 * MIN < absoluteExpiresAt) {
      clock.advance(4 * MIN);
      last = await cloakroom.resolve(ticket);
      expect(last).not.toBeNull();
      expect(last?.expiresAt).toBeLessThanOrEqual(absoluteExpiresAt);
      // SEC-05: the token's exp never passes the absolute deadline.
      expect((decodeJwt(last?.token ?? '').exp ?? 0) * 1000).toBeLessThanOrEqual(absoluteExpiresAt);
      expect((decodeJwt(last?.token ?? '').exp ?? 0) * 1000).toBeGreaterThan(clock.t);
    }
    // …but not its absolute deadline.
    clock.t = absoluteExpiresAt;
    expect(await cloakroom.resolve(ticket)).toBeNull();
  });

  it('SEC-05 the token is renewed before it expires, within the absolute deadline', async () => {
    const { cloakroom, clock } = await setup({
      ttl: { idle: 30 * MIN, absolute: 60 * MIN, token: 15 * MIN },
    });
    const { ticket } = await cloakroom.create('u');
    const first = await cloakroom.resolve(ticket);
    clock.advance(11 * MIN);
    const second = await cloakroom.resolve(ticket);
    expect(second?.token).not.toBe(first?.token);
    expect(second?.tokenExpiresAt).toBeGreaterThan(clock.t + 14 * MIN);
    expect((await cloakroom.verify(second?.token)).payload.sub).toBe('u');
  });

  it('touches are throttled: reads within the touch interval do not write', async () => {
    const { cloakroom, clock, spy } = await setup({
      ttl: { idle: 10 * MIN, absolute: 60 * MIN },
      touchIntervalMs: MIN,
    });
    const { ticket } = await cloakroom.create('u');
    for (let i = 0; i < 50; i++) {
      clock.advance(1000);
      await cloakroom.resolve(ticket);
    }
    expect(spy.calls.replace ?? 0).toBe(0);
    clock.advance(MIN);
    await cloakroom.resolve(ticket);
    expect(spy.calls.replace).toBe(1);
  });
});

describe('SEC-06 refresh', () => {
  it('SEC-06 refresh issues a new ticket and the old one stops resolving', async () => {
    const { cloakroom } = await setup();
    const first = await cloakroom.create('u', { role: 'reader' });
    const next = await cloakroom.refresh(first.ticket, { claims: { role: 'admin' } });
    expect(next?.ticket).toMatch(/^cr1_/);
    expect(next?.ticket).not.toBe(first.ticket);
    expect(await cloakroom.resolve(first.ticket)).toBeNull();
    const session = await cloakroom.resolve(next?.ticket);
    expect(session?.claims).toEqual({ role: 'admin' });
    expect(decodeJwt(session?.token ?? '').role).toBe('admin');
  });

  it('SEC-06 refresh keeps the absolute deadline of the original session', async () => {
    const { cloakroom, clock } = await setup({ ttl: { idle: 10 * MIN, absolute: 30 * MIN } });
    const first = await cloakroom.create('u');
    clock.advance(5 * MIN);
    const next = await cloakroom.refresh(first.ticket);
    const s = await cloakroom.resolve(next?.ticket);
    expect(s?.absoluteExpiresAt).toBe(first.absoluteExpiresAt);
  });

  it('SEC-06 50 concurrent refreshes of one ticket yield exactly one valid successor', async () => {
    const { cloakroom, memory } = await setup();
    const first = await cloakroom.create('u');
    const results = await Promise.all(
      Array.from({ length: 50 }, () => cloakroom.refresh(first.ticket)),
    );
    const tickets = new Set(results.map((r) => r?.ticket));
    expect(tickets.size).toBe(1);
    const [only] = [...tickets];
    expect(only).toMatch(/^cr1_/);
    expect((await cloakroom.resolve(only))?.sessionId).toBe(results[0]?.sessionId);
    // One tombstone and one live successor: no orphaned second successor.
    expect(await dump(memory)).toHaveLength(2);
    expect(await cloakroom.listSessions('u', { subject: 'u' })).toHaveLength(1);
  });

  it('SEC-06 within the grace window the old ticket refreshes to the same successor', async () => {
    const { cloakroom, clock } = await setup({ refreshGraceMs: 5_000 });
    const first = await cloakroom.create('u');
    const a = await cloakroom.refresh(first.ticket);
    clock.advance(4_000);
    const b = await cloakroom.refresh(first.ticket);
    expect(b?.ticket).toBe(a?.ticket);
  });

  it('SEC-06 the old ticket after the grace window revokes the whole family and raises an event', async () => {
    const { cloakroom, clock, events } = await setup({ refreshGraceMs: 5_000 });
    const other = await cloakroom.create('u');
    const t1 = await cloakroom.create('u');
    const t2 = await cloakroom.refresh(t1.ticket);
    const t3 = await cloakroom.refresh(t2?.ticket);
    clock.advance(5_000);
    // The attacker replays the stolen first ticket.
    expect(await cloakroom.refresh(t1.ticket)).toBeNull();
    expect(await cloakroom.resolve(t3?.ticket)).toBeNull();
    expect(await cloakroom.refresh(t3?.ticket)).toBeNull();
    const reuse = events.filter((e) => e.type === 'session.reuse_detected');
    expect(reuse).toHaveLength(1);
    expect(reuse[0]).toMatchObject({ revoked: 3 });
    // Other sessions of the same subject are not touched.
    expect((await cloakroom.resolve(other.ticket))?.sessionId).toBe(other.sessionId);
  });

  it('SEC-06 resolving the old ticket after the grace window also revokes the family', async () => {
    const { cloakroom, clock, events } = await setup({ refreshGraceMs: 1_000 });
    const t1 = await cloakroom.create('u');
    const t2 = await cloakroom.refresh(t1.ticket);
    clock.advance(1_000);
    expect(await cloakroom.resolve(t1.ticket)).toBeNull();
    expect(await cloakroom.resolve(t2?.ticket)).toBeNull();
    expect(events.some((e) => e.type === 'session.reuse_detected')).toBe(true);
  });

  it('logging out with a rotated ticket also ends its successor', async () => {
    const { cloakroom } = await setup();
    const t1 = await cloakroom.create('u');
    const t2 = await cloakroom.refresh(t1.ticket);
    expect(await cloakroom.revoke(t1.ticket)).toBe(true);
    expect(await cloakroom.resolve(t2?.ticket)).toBeNull();
  });
});

describe('SEC-07 revocation', () => {
  it('SEC-07 revoke one: the session no longer resolves or lists; repeat revoke returns false', async () => {
    const { cloakroom } = await setup();
    const a = await cloakroom.create('u');
    const b = await cloakroom.create('u');
    expect(await cloakroom.revoke(a.ticket)).toBe(true);
    expect(await cloakroom.revoke(a.ticket)).toBe(false);
    expect(await cloakroom.resolve(a.ticket)).toBeNull();
    const listed = await cloakroom.listSessions('u', { subject: 'u' });
    expect(listed.map((s) => s.sessionId)).toEqual([b.sessionId]);
  });

  it('SEC-07 revoke all of a subject: none resolves, others untouched', async () => {
    const { cloakroom } = await setup();
    const mine = await Promise.all([1, 2, 3].map(() => cloakroom.create('victim')));
    const theirs = await cloakroom.create('bystander');
    expect(await cloakroom.revokeSubject('victim', { subject: 'victim' })).toBe(3);
    for (const s of mine) expect(await cloakroom.resolve(s.ticket)).toBeNull();
    expect(await cloakroom.listSessions('victim', { subject: 'victim' })).toEqual([]);
    expect((await cloakroom.resolve(theirs.ticket))?.sessionId).toBe(theirs.sessionId);
  });

  it('SEC-07 revokeSession revokes one device by id, only within the same subject', async () => {
    const { cloakroom } = await setup();
    const mine = await cloakroom.create('alice', {}, { label: 'phone' });
    const hers = await cloakroom.create('eve');
    expect(await cloakroom.revokeSession('eve', mine.sessionId, { subject: 'eve' })).toBe(false);
    expect((await cloakroom.resolve(mine.ticket))?.sessionId).toBe(mine.sessionId);
    expect(await cloakroom.revokeSession('alice', mine.sessionId, { subject: 'alice' })).toBe(true);
    expect(await cloakroom.resolve(mine.ticket)).toBeNull();
    expect((await cloakroom.resolve(hers.ticket))?.sessionId).toBe(hers.sessionId);
  });

  it('listSessions shows public metadata only', async () => {
    const { cloakroom } = await setup();
    await cloakroom.create('u', { secret: 'claim-value' }, { label: 'laptop' });
    const [info] = await cloakroom.listSessions('u', { subject: 'u' });
    expect(info?.label).toBe('laptop');
    expect(JSON.stringify(info)).not.toContain('claim-value');
    expect(info).not.toHaveProperty('token');
  });
});

describe('SEC-26 default access policy', () => {
  it('SEC-26 operator actions are denied by default and raise an access.denied event', async () => {
    const { cloakroom, events } = await setup();
    await cloakroom.create('u');
    await expect(cloakroom.listSessions('u')).rejects.toBeInstanceOf(AccessDenied);
    await expect(cloakroom.listSessions('u', { subject: 'someone-else' })).rejects.toBeInstanceOf(
      AccessDenied,
    );
    await expect(
      cloakroom.revokeSubject('u', { id: 'ops', roles: ['admin'] }),
    ).rejects.toBeInstanceOf(AccessDenied);
    await expect(
      cloakroom.revokeSession('u', 'x'.repeat(43), { subject: 'v' }),
    ).rejects.toBeInstanceOf(AccessDenied);
    const denied = events.filter((e) => e.type === 'access.denied');
    expect(denied.map((e) => e.action)).toEqual([
      'session.list',
      'session.list',
      'subject.revoke',
      'session.revoke',
    ]);
    expect(denied[2]).toMatchObject({ actorId: 'ops' });
  });

  it('SEC-26 a policy that throws denies', async () => {
    const throwing: AccessPolicy = {
      name: 'broken',
      authorize: () => {
        throw new Error('policy bug');
      },
    };
    const { cloakroom, events } = await setup({ policy: throwing });
    await expect(cloakroom.create('u')).rejects.toBeInstanceOf(AccessDenied);
    expect(events.find((e) => e.type === 'access.denied')).toMatchObject({
      reason: 'policy threw',
    });
  });

  it('SEC-26 an async policy that rejects, or answers garbage, denies', async () => {
    const rejecting: AccessPolicy = {
      name: 'r',
      authorize: async () => Promise.reject(new Error('x')),
    };
    const garbage: AccessPolicy = { name: 'g', authorize: () => ({ allow: 'yes' }) as never };
    for (const policy of [rejecting, garbage]) {
      const { cloakroom } = await setup({ policy });
      await expect(cloakroom.create('u')).rejects.toBeInstanceOf(AccessDenied);
    }
  });

  it('allowAll is an explicit opt-in that lets operators list any subject', async () => {
    const { cloakroom } = await setup({ policy: allowAll() });
    await cloakroom.create('u');
    expect(await cloakroom.listSessions('u', { id: 'ops' })).toHaveLength(1);
    expect(await cloakroom.revokeSubject('u')).toBe(1);
  });
});
