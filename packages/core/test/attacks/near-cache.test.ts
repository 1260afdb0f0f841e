// SEC-32: the near cache answers only while its invalidation channel is
// live, and never a session that was revoked, rotated, expired or whose key
// was disabled. Two instances (A and B) share one real memory store; the
// channel between them is a test double whose delivery the test controls.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { rolePolicy, rotatingKeys } from '@cloakroom/core';
import { createMemoryKeySetStore } from '@cloakroom/store-memory';
import { fleet, warm } from '../session/near-cache-support';

const MIN = 60_000;

describe('SEC-32 near cache: revocation reaches every instance', () => {
  it('SEC-32 a session revoked on A is not served by B once the invalidation arrived', async () => {
    const { a, b, bus, storeB } = await fleet();
    const { ticket } = await a.create('u');
    await warm(b, ticket);
    const before = storeB.gets.n;
    expect((await b.resolve(ticket))?.subject).toBe('u');
    expect(storeB.gets.n).toBe(before); // B answered from its cache
    bus.hold = true;
    expect(await a.revoke(ticket)).toBe(true);
    // Still in flight (within the channel's bound), B may answer from its cache…
    bus.flush();
    // …but not once the invalidation arrived.
    expect(await b.resolve(ticket)).toBeNull();
  });

  it('SEC-32 a session revoked on A is never served again by A itself, without waiting for the channel', async () => {
    const { a, bus } = await fleet();
    const { ticket } = await a.create('u');
    await warm(a, ticket);
    bus.hold = true; // the channel never delivers
    await a.revoke(ticket);
    expect(await a.resolve(ticket)).toBeNull();
  });

  it('SEC-32 refresh on A: B stops answering the old ticket; revokeSubject and revokeSession reach B', async () => {
    const { a, b } = await fleet();
    const one = await a.create('u');
    const two = await a.create('u');
    const three = await a.create('u');
    for (const t of [one.ticket, two.ticket, three.ticket]) await warm(b, t);
    const next = await a.refresh(one.ticket);
    expect(next).not.toBeNull();
    expect(await b.resolve(one.ticket)).toBeNull();
    expect(await a.revokeSession('u', two.sessionId, { subject: 'u' })).toBe(true);
    expect(await b.resolve(two.ticket)).toBeNull();
    await a.revokeSubject('u', { subject: 'u' });
    expect(await b.resolve(three.ticket)).toBeNull();
    expect(await b.resolve(next?.ticket)).toBeNull();
  });

  it("SEC-32 refresh and revokeSession on A drop A's entries at once, without the channel", async () => {
    const { a, bus } = await fleet();
    const one = await a.create('u');
    const two = await a.create('u');
    await warm(a, one.ticket);
    await warm(a, two.ticket);
    bus.hold = true;
    expect(await a.refresh(one.ticket)).not.toBeNull();
    expect(await a.resolve(one.ticket)).toBeNull();
    expect(await a.revokeSession('u', two.sessionId, { subject: 'u' })).toBe(true);
    expect(await a.resolve(two.ticket)).toBeNull();
  });

  it('SEC-32 a revoke whose store acknowledgement is lost still drops the entry on A', async () => {
    const { a, bus } = await fleet();
    const { ticket } = await a.create('u');
    await warm(a, ticket);
    bus.hold = true;
    bus.loseAcks = true;
    await expect(a.revoke(ticket)).rejects.toThrow(/acknowledgement/);
    bus.loseAcks = false;
    expect(await a.resolve(ticket)).toBeNull();
  });

  it('SEC-32 revokeSubject on A drops the subject from A at once even if the channel says nothing', async () => {
    const { a, bus } = await fleet();
    const { ticket } = await a.create('u');
    await warm(a, ticket);
    bus.hold = true;
    await a.revokeSubject('u', { subject: 'u' });
    expect(await a.resolve(ticket)).toBeNull();
  });
});

describe('SEC-32 near cache: fail closed', () => {
  it('SEC-32 a channel that is not live gives no cached answer: every resolve reads the store', async () => {
    const { a, bus, storeA, memory } = await fleet();
    const { ticket, sessionId } = await a.create('u');
    await warm(a, ticket);
    // The connection drops, and the record is deleted behind the channel's back.
    for (const s of bus.subscribers) s.live = false;
    await memory.delete(sessionId);
    const before = storeA.gets.n;
    expect(await a.resolve(ticket)).toBeNull();
    expect(storeA.gets.n).toBe(before + 1);
  });

  it('SEC-32 reset drops everything, including what the channel could not name', async () => {
    const { a, bus, memory } = await fleet();
    const { ticket, sessionId } = await a.create('u');
    await warm(a, ticket);
    await memory.delete(sessionId); // a change no invalidation named (a flush, a missed message)
    bus.drop();
    bus.restore();
    expect(await a.resolve(ticket)).toBeNull();
  });

  it('SEC-32 an invalidation that arrives while a store read is in flight stops that read from being cached', async () => {
    const { a, b, gateB, storeB } = await fleet();
    const warmup = await a.create('w0');
    await warm(b, warmup.ticket); // B's channel is up
    const c = await a.create('w');
    gateB.paused = true;
    const arrived = gateB.nextArrival();
    const racing = b.resolve(c.ticket); // B reads the live record, then waits at the gate
    await arrived;
    await a.revoke(c.ticket); // the invalidation reaches B while its read is in flight
    gateB.release();
    // The in-flight read answers what it read (it began before the revoke)…
    expect((await racing)?.subject).toBe('w');
    // …but did not cache it: the next resolve reads the store and finds nothing.
    const before = storeB.gets.n;
    expect(await b.resolve(c.ticket)).toBeNull();
    expect(storeB.gets.n).toBe(before + 1);
  });

  it('without the invalidation the same read is cached (the race test above can fail)', async () => {
    const { a, b, gateB, storeB } = await fleet();
    const warmup = await a.create('w0');
    await warm(b, warmup.ticket);
    const c = await a.create('w');
    gateB.paused = true;
    const arrived = gateB.nextArrival();
    const racing = b.resolve(c.ticket);
    await arrived;
    gateB.release();
    await racing;
    const before = storeB.gets.n;
    expect((await b.resolve(c.ticket))?.subject).toBe('w');
    expect(storeB.gets.n).toBe(before);
  });

  it('SEC-32 a reset while a store read is in flight stops that read from being cached', async () => {
    const { a, b, bus, gateB, storeB, memory } = await fleet();
    const warmup = await a.create('w0');
    await warm(b, warmup.ticket);
    const c = await a.create('w');
    gateB.paused = true;
    const arrived = gateB.nextArrival();
    const racing = b.resolve(c.ticket);
    await arrived;
    bus.drop();
    bus.restore();
    await memory.delete(c.sessionId); // a change the reset stands for
    gateB.release();
    expect((await racing)?.subject).toBe('w');
    const before = storeB.gets.n;
    expect(await b.resolve(c.ticket)).toBeNull();
    expect(storeB.gets.n).toBe(before + 1);
  });

  it('SEC-32 expiry is checked on every hit: an idle or absolute deadline passes, the cache does not answer', async () => {
    const { a, clock, events } = await fleet({
      ttl: { idle: 10 * MIN, absolute: 30 * MIN, token: 5 * MIN },
      touchIntervalMs: 10 * MIN,
      nearCache: { maxAgeMs: 86_400_000 },
    });
    const { ticket } = await a.create('u');
    await warm(a, ticket);
    clock.advance(10 * MIN);
    expect(await a.resolve(ticket)).toBeNull();
    expect(events.at(-1)).toMatchObject({ type: 'session.rejected', reason: 'expired' });
  });

  it('SEC-32 maxAgeMs bounds how long a session is answered from memory without a store read', async () => {
    const { a, clock, storeA } = await fleet({ nearCache: { maxAgeMs: 1000 } });
    const { ticket } = await a.create('u');
    await warm(a, ticket);
    let before = storeA.gets.n;
    await a.resolve(ticket);
    expect(storeA.gets.n).toBe(before);
    clock.advance(1000);
    before = storeA.gets.n;
    await a.resolve(ticket);
    expect(storeA.gets.n).toBe(before + 1);
  });

  it('SEC-32 a compromised signing key kills cached sessions at once (SEC-19 on a hit)', async () => {
    const { a, b, bus, events } = await fleet({
      keys: rotatingKeys({ store: createMemoryKeySetStore(), masterKey: master() }),
      policy: rolePolicy({ roles: { 'key-admin': ['keys.*'] } }),
    });
    const { ticket } = await a.create('u');
    await warm(b, ticket);
    const session = await b.resolve(ticket);
    bus.hold = true; // no invalidation at all: the key state alone must decide
    const kid = (await a.verify(session?.token)).header.kid as string;
    await a.compromiseKey(kid, { roles: ['key-admin'] });
    expect(await b.resolve(ticket)).toBeNull();
    expect(events.at(-1)).toMatchObject({ type: 'session.rejected', reason: 'key-disabled' });
  });

  it('SEC-32 a compromised storage key drops the cache: no session sealed under it is answered', async () => {
    const keys = rotatingKeys({ store: createMemoryKeySetStore(), masterKey: master() });
    const { a, b, bus } = await fleet({
      keys,
      policy: rolePolicy({ roles: { 'key-admin': ['keys.*'] } }),
    });
    const { ticket } = await a.create('u');
    await warm(b, ticket);
    bus.hold = true;
    await a.compromiseKey((await keys.storageKeys()).primary.id, { roles: ['key-admin'] });
    expect(await b.resolve(ticket)).toBeNull();
  });
});

function master(): Uint8Array {
  return new Uint8Array(randomBytes(32));
}
