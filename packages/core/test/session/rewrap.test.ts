import { describe, expect, it } from 'vitest';
import {
  AccessDenied,
  type Cloakroom,
  type SessionRecord,
  allowAll,
  createAesGcmCipher,
  createCloakroom,
  generateSecret,
  staticKeys,
  sessionIdOf,
} from '@cloakroom/core';
import { createMemoryStore } from '@cloakroom/store-memory';
import { AUDIENCE, Clock, ISSUER, dump, makeKeyMaterial, spyStore } from '../support/fixtures';

const MARKER = 'rewrap-MARKER-subject';

async function world(sessions = 40) {
  const m = await makeKeyMaterial();
  const oldKey = generateSecret();
  const newKey = generateSecret();
  const clock = new Clock();
  const memory = createMemoryStore({ clock: () => clock.t });
  const spy = spyStore(memory);
  const signing = [{ alg: 'EdDSA' as const, privateKey: m.signing.privateJwk }];
  const make = (storage: Uint8Array[], store = spy.store): Cloakroom =>
    createCloakroom({
      store,
      keys: staticKeys({
        signing,
        storage: storage.map((key, i) => ({
          id: `k${i === 0 ? 'primary' : 'old'}_${storage.length}`,
          key,
        })),
        index: m.index,
      }),
      issuer: ISSUER,
      audience: AUDIENCE,
      clock: clock.now,
      policy: allowAll(),
    });
  const before = createCloakroom({
    store: spy.store,
    keys: staticKeys({ signing, storage: [{ id: 'old', key: oldKey }], index: m.index }),
    issuer: ISSUER,
    audience: AUDIENCE,
    clock: clock.now,
  });
  const tickets: string[] = [];
  for (let i = 0; i < sessions; i++)
    tickets.push((await before.create(`${MARKER}-${i % 7}`, { n: i })).ticket);
  const keysAfter = staticKeys({
    signing,
    storage: [
      { id: 'new', key: newKey },
      { id: 'old', key: oldKey },
    ],
    index: m.index,
  });
  const during = createCloakroom({
    store: spy.store,
    keys: keysAfter,
    issuer: ISSUER,
    audience: AUDIENCE,
    clock: clock.now,
    policy: allowAll(),
  });
  const onlyNew = createCloakroom({
    store: memory,
    keys: staticKeys({ signing, storage: [{ id: 'new', key: newKey }], index: m.index }),
    issuer: ISSUER,
    audience: AUDIENCE,
    clock: clock.now,
  });
  const keyIds = async () => {
    const cipher = createAesGcmCipher({ keys: keysAfter });
    return (await dump(memory)).map((r: SessionRecord) => cipher.keyIdOf(r.payload));
  };
  return { before, during, onlyNew, tickets, memory, spy, keyIds, make, clock };
}

describe('SEC-14 rewrap', () => {
  it('SEC-14 re-seals every record under the primary key; sessions then open with the new key alone', async () => {
    const w = await world();
    const report = await w.during.rewrap({ batchSize: 7 });
    expect(report).toMatchObject({
      complete: true,
      scanned: 40,
      rewrapped: 40,
      current: 0,
      unreadable: 0,
      primaryKeyId: 'new',
    });
    expect(report.byKeyId).toEqual({ new: 40 });
    expect(new Set(await w.keyIds())).toEqual(new Set(['new']));
    for (const t of w.tickets) expect((await w.onlyNew.resolve(t))?.sessionId).toBe(sessionIdOf(t));
  });

  it('SEC-14 is idempotent: a second run rewraps nothing', async () => {
    const w = await world(10);
    await w.during.rewrap();
    const again = await w.during.rewrap();
    expect(again).toMatchObject({ scanned: 10, rewrapped: 0, current: 10 });
  });

  it('SEC-14 killed midway and restarted from its cursor, every record ends under the new key', async () => {
    const w = await world();
    const controller = new AbortController();
    const first = await w.during.rewrap({
      batchSize: 5,
      signal: controller.signal,
      onProgress: (p) => {
        if (p.scanned >= 15) controller.abort();
      },
    });
    expect(first.complete).toBe(false);
    expect(first.cursor).toBeDefined();
    expect(new Set(await w.keyIds())).toEqual(new Set(['new', 'old']));
    const resumed = await w.during.rewrap({
      batchSize: 5,
      ...(first.cursor ? { cursor: first.cursor } : {}),
    });
    expect(resumed.complete).toBe(true);
    expect(first.rewrapped + resumed.rewrapped).toBe(40);
    expect(new Set(await w.keyIds())).toEqual(new Set(['new']));
  });

  it('SEC-14 loses no concurrent write: a refresh racing the rewrap survives, re-sealed', async () => {
    const w = await world(5);
    const target = w.tickets[2] ?? '';
    let raced: string | undefined;
    const realReplace = w.spy.store.replace;
    w.spy.store.replace = async (record, expected) => {
      if (raced === undefined) {
        // Another instance (still on the old key) refreshes a session between rewrap's read and write.
        raced = (await w.before.refresh(target))?.ticket ?? 'refresh failed';
      }
      return realReplace(record, expected);
    };
    const report = await w.during.rewrap({ batchSize: 100 });
    expect(report.complete).toBe(true);
    expect(raced).toMatch(/^cr1_/);
    // The successor was inserted after the scan passed its position, so a second run (as an
    // operator does until the report shows only the primary) finishes the job.
    await w.during.rewrap();
    expect(new Set(await w.keyIds())).toEqual(new Set(['new']));
    // The successor the racing refresh created, and every other session, open under the new key alone.
    expect((await w.onlyNew.resolve(raced))?.sessionId).toBe(sessionIdOf(raced as string));
    for (const t of w.tickets.filter((t) => t !== target))
      expect((await w.onlyNew.resolve(t))?.sessionId).toBe(sessionIdOf(t));
    // The rotated ticket stays rotated (its tombstone was re-sealed, not overwritten with stale content).
    expect(await w.onlyNew.resolve(target)).toBeNull();
  });

  it('SEC-14 never writes plaintext', async () => {
    const w = await world(10);
    await w.during.rewrap();
    for (const r of await dump(w.memory)) {
      const text = Buffer.from(r.payload).toString('latin1');
      expect(text.includes(MARKER)).toBe(false);
      expect(text).not.toMatch(/eyJ[A-Za-z0-9_-]{10}/);
    }
  });

  it('leaves records under an unknown key untouched and reports them', async () => {
    const w = await world(6);
    const stranger = w.make([generateSecret()]);
    const report = await stranger.rewrap();
    expect(report).toMatchObject({ scanned: 6, rewrapped: 0, unreadable: 6 });
    expect(new Set(await w.keyIds())).toEqual(new Set(['old']));
  });

  it('SEC-26 rewrap and sweep are operator actions, denied by the default policy', async () => {
    const w = await world(1);
    await expect(w.before.rewrap()).rejects.toBeInstanceOf(AccessDenied);
    await expect(w.before.sweep()).rejects.toBeInstanceOf(AccessDenied);
  });
});
