import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import {
  KEY_SYNC_CHANNEL,
  REWRAP_PROGRESS_CHANNEL,
  StoreUnavailable,
  allowAll,
  createCloakroom,
  rotatingKeys,
  sessionChannelName,
  sessionIdOf,
  storeChannelName,
} from '@cloakroom/core';
import { createMemoryKeySetStore, createMemoryStore } from '@cloakroom/store-memory';
import { AUDIENCE, Clock, ISSUER, setup } from '../support/fixtures';
import { record } from './record';

const IDLE = 10 * 60_000;
let stop: (() => void) | undefined;
afterEach(() => {
  stop?.();
  stop = undefined;
});
const listen = (only?: readonly string[]) => {
  const r = record(only);
  stop = r.stop;
  return r;
};

describe('diagnostics channels: session operations', () => {
  it('create, resolve, refresh and revoke publish start/end/asyncStart/asyncEnd with outcome and hashed ids', async () => {
    const { cloakroom } = await setup({ policy: allowAll() });
    const r = listen();
    const { ticket } = await cloakroom.create('alice', { role: 'editor' });
    const id = sessionIdOf(ticket);
    const session = await cloakroom.resolve(ticket);
    expect(session?.token).toMatch(/^eyJ/);
    const next = await cloakroom.refresh(ticket);
    expect(await cloakroom.revoke(next?.ticket)).toBe(true);

    const events = r.seen
      .filter((s) => s.channel === sessionChannelName('resolve'))
      .map((s) => s.event);
    expect(events).toEqual(['start', 'end', 'asyncStart', 'asyncEnd']);
    expect(r.ended(sessionChannelName('create'))).toEqual([
      expect.objectContaining({
        operation: 'create',
        store: 'spy',
        outcome: 'created',
        sessionId: id,
        subjectIndex: expect.stringMatching(/^[\w-]{43}$/),
      }),
    ]);
    const resolved = r.ended(sessionChannelName('resolve'))[0];
    expect(resolved).toMatchObject({ outcome: 'resolved', sessionId: id, result: 'resolved' });
    expect(r.ended(sessionChannelName('refresh'))[0]).toMatchObject({
      outcome: 'refreshed',
      sessionId: id,
      nextSessionId: sessionIdOf(next?.ticket as string),
    });
    expect(r.ended(sessionChannelName('revoke'))[0]).toMatchObject({
      outcome: 'revoked',
      sessionId: sessionIdOf(next?.ticket as string),
    });
  });

  it('a rejected resolve reports the reason the caller is not told; a malformed ticket carries no id', async () => {
    const { cloakroom, clock } = await setup({ ttl: { idle: IDLE } });
    const r = listen([sessionChannelName('resolve')]);
    expect(await cloakroom.resolve('not a ticket')).toBeNull();
    const { ticket } = await cloakroom.create('bob');
    await cloakroom.revoke(ticket, { subject: 'bob' });
    expect(await cloakroom.resolve(ticket)).toBeNull();
    const live = await cloakroom.create('carol');
    // Past the idle deadline, within the store's reporting margin.
    clock.advance(IDLE + 1_000);
    expect(await cloakroom.resolve(live.ticket)).toBeNull();
    const ended = r.ended(sessionChannelName('resolve'));
    expect(ended.map((m) => m.outcome)).toEqual([
      'rejected:malformed',
      'rejected:missing',
      'rejected:expired',
    ]);
    expect(ended[0]).not.toHaveProperty('sessionId');
    expect(ended[1]?.sessionId).toBe(sessionIdOf(ticket));
  });

  it('a failing store gives error:<code> on the operation and the store call, and the caller still gets the error', async () => {
    const { cloakroom, spy } = await setup();
    const { ticket } = await cloakroom.create('dave');
    const r = listen();
    spy.setFailure(new StoreUnavailable('backend down'));
    await expect(cloakroom.resolve(ticket)).rejects.toBeInstanceOf(StoreUnavailable);
    const op = r.seen.filter((s) => s.channel === sessionChannelName('resolve'));
    expect(op.map((s) => s.event)).toEqual(['start', 'end', 'error', 'asyncStart', 'asyncEnd']);
    expect(op.at(-1)?.message.outcome).toBe('error:ERR_STORE_UNAVAILABLE');
    expect(r.ended(storeChannelName('get'))[0]).toMatchObject({
      method: 'get',
      store: 'spy',
      sessionId: sessionIdOf(ticket),
      outcome: 'error:ERR_STORE_UNAVAILABLE',
    });
  });

  it('store calls are traced inside the operation that made them, with outcomes and counts', async () => {
    const { cloakroom } = await setup({ policy: allowAll() });
    const r = listen();
    const { ticket } = await cloakroom.create('erin');
    await cloakroom.create('erin');
    await cloakroom.resolve(ticket);
    expect(await cloakroom.listSessions('erin')).toHaveLength(2);
    expect(await cloakroom.revokeSubject('erin')).toBe(2);
    await cloakroom.resolve(ticket);
    const order = r.seen
      .filter((s) => s.event === 'start' || s.event === 'asyncEnd')
      .map((s) => `${s.event}:${s.channel}`);
    const i = order.indexOf(`start:${sessionChannelName('resolve')}`);
    expect(order.slice(i, i + 4)).toEqual([
      `start:${sessionChannelName('resolve')}`,
      `start:${storeChannelName('get')}`,
      `asyncEnd:${storeChannelName('get')}`,
      `asyncEnd:${sessionChannelName('resolve')}`,
    ]);
    expect(r.ended(storeChannelName('get')).map((m) => m.outcome)).toEqual(['found', 'missing']);
    expect(r.ended(storeChannelName('insert')).map((m) => m.outcome)).toEqual(['ok', 'ok']);
    expect(r.ended(sessionChannelName('listSessions'))[0]).toMatchObject({
      outcome: 'listed',
      count: 2,
    });
    expect(r.ended(sessionChannelName('revokeSubject'))[0]).toMatchObject({
      outcome: 'revoked',
      count: 2,
    });
    expect(r.ended(storeChannelName('deleteBySubject'))[0]).toMatchObject({ count: 2 });
  });

  it('rewrap reports progress per batch and its totals', async () => {
    const { cloakroom } = await setup({ policy: allowAll() });
    for (let i = 0; i < 5; i++) await cloakroom.create(`user-${i}`);
    const r = listen();
    const seenByCaller: number[] = [];
    const report = await cloakroom.rewrap({
      batchSize: 2,
      onProgress: (p) => seenByCaller.push(p.scanned),
    });
    expect(report.complete).toBe(true);
    expect(seenByCaller).toEqual([2, 4, 5]);
    const progress = r.seen.filter((s) => s.channel === REWRAP_PROGRESS_CHANNEL);
    expect(progress.map((p) => [p.message.scanned, p.message.done])).toEqual([
      [2, false],
      [4, false],
      [5, true],
    ]);
    expect(r.ended(sessionChannelName('rewrap'))[0]).toMatchObject({
      outcome: 'complete',
      count: 5,
      rewrapped: 0,
      primaryKeyId: report.primaryKeyId,
    });
    expect(r.ended(storeChannelName('scan')).map((m) => m.count)).toEqual([2, 2, 1]);
  });

  it('with nobody subscribed nothing is published and the operations behave the same', async () => {
    const { cloakroom } = await setup();
    const r = listen();
    r.stop();
    const { ticket } = await cloakroom.create('frank');
    expect((await cloakroom.resolve(ticket))?.subject).toBe('frank');
    expect(r.seen).toEqual([]);
  });
});

describe('diagnostics channels: key-set sync', () => {
  it('the first load, a rotation and a periodic refresh publish version, key ids and load time', async () => {
    const clock = new Clock();
    const keySets = createMemoryKeySetStore();
    const keys = rotatingKeys({
      store: keySets,
      masterKey: new Uint8Array(randomBytes(32)),
      clock: clock.now,
      refreshEvery: 60_000,
    });
    const cloakroom = createCloakroom({
      store: createMemoryStore({ clock: clock.now }),
      keys,
      issuer: ISSUER,
      audience: AUDIENCE,
      clock: clock.now,
      policy: allowAll(),
    });
    const t0 = clock.t;
    const r = listen([KEY_SYNC_CHANNEL]);
    await cloakroom.create('gina');
    const status = await cloakroom.rotateKeys('signing');
    clock.advance(61_000);
    await cloakroom.create('gina');
    await new Promise((done) => setTimeout(done, 20));
    const ended = r.ended(KEY_SYNC_CHANNEL);
    expect(ended.map((m) => [m.reason, m.outcome])).toEqual([
      ['load', 'updated'],
      ['change', 'updated'],
      ['refresh', 'unchanged'],
    ]);
    expect(ended[0]).toMatchObject({
      keySet: 'default',
      store: keySets.name,
      version: 1,
      loadedAt: t0,
      signingKeyId: (await keys.signingKey()).kid,
      storageKeyId: (await keys.storageKeys()).primary.id,
    });
    expect(ended[1]?.version).toBe(2);
    expect(ended[1]?.signingKeyId).not.toBe(status.id);
  });
});
