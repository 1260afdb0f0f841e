// insertWithLimit (per-subject seats, core's sessionLimit) against the real
// server: the seat rules every write keeps, eviction order, refusal,
// atomicity under concurrent calls from two connections and a second OS
// process, argument and state errors, and records written before seats existed.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import {
  Closed,
  ConfigInvalid,
  InvalidArgument,
  type LimitedInsert,
  type SessionRecord,
  StoreConflict,
  StoreDataInvalid,
  type SubjectLimit,
  createCloakroom,
  generateSecret,
  generateSigningKey,
  staticKeys,
} from '@cloakroom/core';
import { type RedisStore, createRedisStore } from '@cloakroom/store-redis';
import type { Redis } from 'ioredis';
import { createClient } from 'redis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { encodeRecord } from '../../src/codec';
import { bucketOf, keyLayout } from '../../src/redis/key-layout';
import {
  REDIS_URL,
  connectOrFail,
  deleteUnder,
  dumpUnder,
  keysUnder,
  makeRecord,
  randomId,
  uniquePrefix,
} from './redis-test-env';

let client: Redis;
let prefix: string;
let t = Date.now();
const clock = () => t;

beforeAll(async () => {
  client = await connectOrFail();
});
afterEach(async () => {
  await deleteUnder(client, prefix);
});
afterAll(() => client.disconnect());

function newStore(): RedisStore {
  prefix = uniquePrefix('limit');
  t = Date.now();
  return createRedisStore({ client, prefix, clock, commandTimeoutMs: 20_000 });
}

type Limited = (record: SessionRecord, limit: SubjectLimit) => Promise<LimitedInsert>;
function limited(store: RedisStore): Limited {
  const fn = store.insertWithLimit;
  if (fn === undefined) throw new Error('insertWithLimit missing on a standalone store');
  return fn;
}

const rec = (subject: string, expiresIn = 60_000): SessionRecord =>
  makeRecord({ subject, expiresAt: t + expiresIn });
const ids = async (store: RedisStore, subject: string): Promise<string[]> =>
  (await store.listBySubject(subject)).map((r) => r.id).sort();
const sorted = (xs: readonly string[]): string[] => [...xs].sort();

/** A raw dump of everything under the prefix, order-free, for "nothing changed". */
async function snapshot(): Promise<string[]> {
  const dump = await dumpUnder(client, prefix);
  return dump.map((x) => (typeof x === 'string' ? x : Buffer.from(x).toString('hex'))).sort();
}

describe('insertWithLimit: seats', () => {
  it('plain insert takes a seat; at max, refuse changes nothing and answers inserted: false', async () => {
    const store = newStore();
    const subject = randomId();
    const [a, b, c] = [rec(subject), rec(subject), rec(subject)];
    await store.insert(a);
    await store.insert(b);
    const before = await snapshot();
    expect(await limited(store)(c, { max: 2, evict: 'refuse' })).toEqual({ inserted: false });
    expect(await snapshot()).toEqual(before);
    expect(await store.get(c.id)).toBeNull();
    expect(await limited(store)(c, { max: 3, evict: 'refuse' })).toEqual({
      inserted: true,
      evicted: [],
    });
    expect(await store.get(c.id)).toEqual(c);
  });

  it("evict 'oldest' deletes the earliest-seated records, oldest first, before it answers", async () => {
    const store = newStore();
    const subject = randomId();
    const first = Array.from({ length: 5 }, () => rec(subject));
    for (const r of first) await store.insert(r);
    const x = rec(subject);
    const result = await limited(store)(x, { max: 2, evict: 'oldest' });
    expect(result).toEqual({ inserted: true, evicted: first.slice(0, 4).map((r) => r.id) });
    for (const r of first.slice(0, 4)) expect(await store.get(r.id)).toBeNull();
    expect(await ids(store, subject)).toEqual(sorted([first[4]!.id, x.id]));
    // Other subjects are never counted nor touched.
    const other = rec(randomId());
    await store.insert(other);
    expect(await limited(store)(rec(subject), { max: 2, evict: 'oldest' })).toEqual({
      inserted: true,
      evicted: [first[4]!.id],
    });
    expect(await store.get(other.id)).toEqual(other);
  });

  it("rotate: next takes over old's seat and its place; old stays live without one", async () => {
    const store = newStore();
    const subject = randomId();
    const [a, b, c] = [rec(subject), rec(subject), rec(subject)];
    for (const r of [a, b, c]) await store.insert(r);
    const a2 = rec(subject);
    expect(await store.rotate({ record: { ...a, version: 2 }, expectedVersion: 1 }, a2)).toBe(true);
    // Four live records, three seated: old a does not count.
    expect(await ids(store, subject)).toHaveLength(4);
    const d = rec(subject);
    expect(await limited(store)(d, { max: 4, evict: 'refuse' })).toEqual({
      inserted: true,
      evicted: [],
    });
    // a2 holds a's place (the oldest seat), although it was written after b and c.
    const e = rec(subject);
    expect(await limited(store)(e, { max: 3, evict: 'oldest' })).toEqual({
      inserted: true,
      evicted: [a2.id, b.id],
    });
    expect((await store.get(a.id))?.version).toBe(2);
    expect(await ids(store, subject)).toEqual(sorted([a.id, c.id, d.id, e.id]));
    // A rotate of a record without a seat gives next a fresh seat, last: c, d, e, a3.
    const a3 = rec(subject);
    expect(await store.rotate({ record: { ...a, version: 3 }, expectedVersion: 2 }, a3)).toBe(true);
    expect(await limited(store)(rec(subject), { max: 4, evict: 'refuse' })).toEqual({
      inserted: false,
    });
    expect(await limited(store)(rec(subject), { max: 4, evict: 'oldest' })).toEqual({
      inserted: true,
      evicted: [c.id],
    });
    expect(await store.get(a3.id)).toEqual(a3);
  });

  it('expiry frees the seat: a record at expiresAt never counts', async () => {
    const store = newStore();
    const subject = randomId();
    const short = rec(subject, 1_000);
    const long = rec(subject);
    await store.insert(short);
    await store.insert(long);
    const c = rec(subject);
    expect(await limited(store)(c, { max: 2, evict: 'refuse' })).toEqual({ inserted: false });
    t += 999;
    expect(await limited(store)(c, { max: 2, evict: 'refuse' })).toEqual({ inserted: false });
    t += 1;
    expect(await limited(store)(c, { max: 2, evict: 'refuse' })).toEqual({
      inserted: true,
      evicted: [],
    });
    // The expired record is not "evicted": nothing live was deleted to make room.
    expect(await limited(store)(rec(subject), { max: 2, evict: 'oldest' })).toEqual({
      inserted: true,
      evicted: [long.id],
    });
  });

  it('replace keeps the seat and its place; with a subject change the seat moves with the record', async () => {
    const store = newStore();
    const s = randomId();
    const u = randomId();
    const [a, b] = [rec(s), rec(s)];
    await store.insert(a);
    await store.insert(b);
    // Rewritten later, still the oldest seat.
    expect(await store.replace({ ...a, version: 2, expiresAt: t + 90_000 }, 1)).toBe(true);
    const c = rec(s);
    expect(await limited(store)(c, { max: 3, evict: 'oldest' })).toEqual({
      inserted: true,
      evicted: [],
    });
    // Move b to subject u: s frees a seat, u gains one with b's place (older than u1).
    expect(await store.replace({ ...b, subject: u, version: 2 }, 1)).toBe(true);
    expect(await limited(store)(rec(s), { max: 3, evict: 'refuse' })).toMatchObject({
      inserted: true,
    });
    const u1 = rec(u);
    expect(await limited(store)(u1, { max: 2, evict: 'oldest' })).toEqual({
      inserted: true,
      evicted: [],
    });
    expect(await limited(store)(rec(u), { max: 2, evict: 'oldest' })).toEqual({
      inserted: true,
      evicted: [b.id],
    });
    // An old record without a seat keeps none when it is replaced, or moved.
    const v = randomId();
    const [o, n] = [rec(v), rec(v)];
    await store.insert(o);
    expect(await store.rotate({ record: { ...o, version: 2 }, expectedVersion: 1 }, n)).toBe(true);
    expect(await store.replace({ ...o, version: 3, subject: u }, 2)).toBe(true);
    expect(await limited(store)(rec(u), { max: 3, evict: 'refuse' })).toMatchObject({
      inserted: true,
    });
  });

  it('delete and deleteBySubject free seats; no seat key outlives its subject', async () => {
    const store = newStore();
    const subject = randomId();
    const [a, b] = [rec(subject), rec(subject)];
    await store.insert(a);
    await store.insert(b);
    expect(await store.delete(a.id)).toBe(true);
    expect(await limited(store)(rec(subject), { max: 2, evict: 'refuse' })).toMatchObject({
      inserted: true,
    });
    expect(await store.deleteBySubject(subject)).toBe(2);
    expect((await keysUnder(client, prefix)).filter((k) => k.includes(':seat:'))).toEqual([]);
    expect(await limited(store)(rec(subject), { max: 1, evict: 'refuse' })).toMatchObject({
      inserted: true,
    });
  });

  it('seat keys are pruned with their subject index and expire with it', async () => {
    const store = newStore();
    const subject = randomId();
    // Twenty short records, then one long one in the same bucket as one of them.
    const shorts = Array.from({ length: 20 }, () => rec(subject, 1_000));
    for (const r of shorts) await store.insert(r);
    t += 1_000;
    let survivor = rec(subject, 50_000);
    while (bucketOf(survivor.id) !== bucketOf(shorts[0]!.id)) survivor = rec(subject, 50_000);
    await store.insert(survivor);
    const layout = keyLayout(prefix);
    const base = layout.bucketBase(bucketOf(survivor.id));
    expect(await client.zrange(`${base}seat:${subject}`, 0, -1)).toEqual([survivor.id]);
    const ttl = await client.pttl(`${base}seat:${subject}`);
    expect(ttl).toBeGreaterThan(40_000);
    expect(ttl).toBeLessThanOrEqual(50_000);
    // Listing prunes the other buckets: their seat keys go with their empty indexes.
    expect(await ids(store, subject)).toEqual([survivor.id]);
    const seatKeys = (await keysUnder(client, prefix)).filter((k) => k.includes(':seat:'));
    expect(seatKeys).toEqual([`${base}seat:${subject}`]);
  });

  it('records written before seats (or by an older release) hold no seat: never counted nor evicted; their next rotate seats the successor last', async () => {
    const store = newStore();
    const subject = randomId();
    const layout = keyLayout(prefix);
    // Exactly what the previous version wrote: record, `all` and subject index, no seat.
    const legacy = async (r: SessionRecord): Promise<void> => {
      const base = layout.bucketBase(bucketOf(r.id));
      await client.set(layout.recordKey(r.id), encodeRecord(r), 'PX', r.expiresAt - t);
      await client.zadd(`${base}all`, r.expiresAt, r.id);
      await client.zadd(`${base}sub:${subject}`, r.expiresAt, r.id);
    };
    // One real device refreshed 4 times by the older release: 4 forwarders
    // (live until the absolute expiry) and the session itself, none with a seat.
    const chain = Array.from({ length: 5 }, () => rec(subject));
    for (const [i, r] of chain.entries()) await legacy({ ...r, version: i < 4 ? 2 : 1 });
    const device = chain[4]!;
    // Upgraded: max 3 admits three sign-ins, evicting nothing.
    const [x, y] = [rec(subject), rec(subject)];
    expect(await limited(store)(x, { max: 3, evict: 'refuse' })).toEqual({
      inserted: true,
      evicted: [],
    });
    expect(await limited(store)(y, { max: 3, evict: 'oldest' })).toEqual({
      inserted: true,
      evicted: [],
    });
    // The device refreshes on the upgraded release: its successor takes a fresh seat, last.
    const next = rec(subject);
    expect(
      await store.rotate({ record: { ...device, version: 2 }, expectedVersion: 1 }, next),
    ).toBe(true);
    expect(await limited(store)(rec(subject), { max: 3, evict: 'refuse' })).toEqual({
      inserted: false,
    });
    const z = rec(subject);
    expect(await limited(store)(z, { max: 3, evict: 'oldest' })).toEqual({
      inserted: true,
      evicted: [x.id],
    });
    expect(await store.get(next.id)).toEqual(next);
    // The legacy records (forwarders and the rotated device) were never evicted.
    for (const r of chain) expect(await store.get(r.id)).not.toBeNull();
    expect(await ids(store, subject)).toEqual(
      sorted([...chain.map((r) => r.id), y.id, next.id, z.id]),
    );
  });
  it("a new seat never sorts before the subject's latest, even with the server clock behind (a failover to a replica whose clock lags)", async () => {
    const store = newStore();
    const subject = randomId();
    const layout = keyLayout(prefix);
    const a = rec(subject);
    await store.insert(a);
    // a's seat as a master whose clock ran an hour ahead of this server took it.
    const [sec, usec] = await client.time();
    const ahead = Number(sec) * 1_000_000 + Number(usec) + 3_600_000_000;
    const seatOf = (r: SessionRecord) => `${layout.bucketBase(bucketOf(r.id))}seat:${subject}`;
    expect(await client.zadd(seatOf(a), 'XX', 'CH', String(ahead), a.id)).toBe(1);
    // In another bucket: the floor is the subject's, not the bucket's.
    let b = rec(subject);
    while (bucketOf(b.id) === bucketOf(a.id)) b = rec(subject);
    expect(await limited(store)(b, { max: 3, evict: 'oldest' })).toEqual({
      inserted: true,
      evicted: [],
    });
    expect(Number(await client.zscore(seatOf(b), b.id))).toBeGreaterThan(ahead);
    expect(await limited(store)(rec(subject), { max: 2, evict: 'oldest' })).toEqual({
      inserted: true,
      evicted: [a.id],
    });
    expect(await store.get(b.id)).toEqual(b);
  });
});

describe('insertWithLimit: errors', () => {
  it('a live record with the same id: StoreConflict, nothing evicted, nothing changed', async () => {
    const store = newStore();
    const subject = randomId();
    const [a, b] = [rec(subject), rec(subject)];
    await store.insert(a);
    await store.insert(b);
    const before = await snapshot();
    await expect(
      limited(store)({ ...b, payload: Uint8Array.of(9) }, { max: 2, evict: 'oldest' }),
    ).rejects.toBeInstanceOf(StoreConflict);
    await expect(
      limited(store)({ ...b, subject: randomId() }, { max: 1, evict: 'oldest' }),
    ).rejects.toBeInstanceOf(StoreConflict);
    expect(await snapshot()).toEqual(before);
    expect(await store.get(a.id)).toEqual(a);
    // A dead record at the id is taken over, as by insert.
    const dead = rec(subject, 1_000);
    await store.insert(dead);
    t += 1_000;
    const again = { ...dead, expiresAt: t + 5_000 };
    expect(await limited(store)(again, { max: 3, evict: 'refuse' })).toEqual({
      inserted: true,
      evicted: [],
    });
    expect(await store.get(dead.id)).toEqual(again);
  });

  it('a malformed limit or record: InvalidArgument, nothing written', async () => {
    const store = newStore();
    const r = rec(randomId());
    const bad: unknown[] = [
      undefined,
      null,
      {},
      { max: 0, evict: 'oldest' },
      { max: -1, evict: 'refuse' },
      { max: 1.5, evict: 'oldest' },
      { max: 1001, evict: 'oldest' },
      { max: Number.NaN, evict: 'oldest' },
      { max: '2', evict: 'oldest' },
      { max: 2, evict: 'newest' },
      { max: 2 },
    ];
    for (const limit of bad) {
      await expect(limited(store)(r, limit as SubjectLimit)).rejects.toBeInstanceOf(
        InvalidArgument,
      );
    }
    await expect(
      limited(store)({ ...r, id: 'short' }, { max: 1, evict: 'oldest' }),
    ).rejects.toBeInstanceOf(InvalidArgument);
    await expect(
      limited(store)({ ...r, subject: '../x' }, { max: 1, evict: 'oldest' }),
    ).rejects.toBeInstanceOf(InvalidArgument);
    expect(await keysUnder(client, prefix)).toEqual([]);
  });

  it('after close: Closed', async () => {
    const store = newStore();
    const fn = limited(store);
    await store.close();
    await expect(fn(rec(randomId()), { max: 1, evict: 'oldest' })).rejects.toBeInstanceOf(Closed);
  });

  it('a seat or subject key of the wrong type: StoreDataInvalid before any write', async () => {
    const store = newStore();
    const subject = randomId();
    const a = rec(subject);
    await store.insert(a);
    const base = keyLayout(prefix).bucketBase(bucketOf(a.id));
    await client.del(`${base}seat:${subject}`);
    await client.set(`${base}seat:${subject}`, 'not a sorted set');
    const before = await snapshot();
    // Another bucket, so only the scan over the subject's buckets meets the bad key.
    let b = rec(subject);
    while (bucketOf(b.id) === bucketOf(a.id)) b = rec(subject);
    await expect(limited(store)(b, { max: 1, evict: 'oldest' })).rejects.toBeInstanceOf(
      StoreDataInvalid,
    );
    await expect(store.listBySubject(subject)).rejects.toBeInstanceOf(StoreDataInvalid);
    let c = rec(subject);
    while (bucketOf(c.id) !== bucketOf(a.id)) c = rec(subject);
    await expect(store.insert(c)).rejects.toBeInstanceOf(StoreDataInvalid);
    expect(await snapshot()).toEqual(before);
  });
});

describe('insertWithLimit: malformed index keys', () => {
  it('a subject index key of the wrong type in a bucket where the subject holds a seat: StoreDataInvalid, nothing written', async () => {
    const store = newStore();
    const subject = randomId();
    const a = rec(subject);
    await store.insert(a);
    const layout = keyLayout(prefix);
    // a holds a seat in its bucket, so the call would prune that bucket's index.
    const sub = `${layout.bucketBase(bucketOf(a.id))}sub:${subject}`;
    await client.del(sub);
    await client.set(sub, 'not a sorted set');
    const before = await snapshot();
    let b = rec(subject);
    while (bucketOf(b.id) === bucketOf(a.id)) b = rec(subject);
    await expect(limited(store)(b, { max: 5, evict: 'oldest' })).rejects.toBeInstanceOf(
      StoreDataInvalid,
    );
    expect(await snapshot()).toEqual(before);
  });
});

describe('insertWithLimit: where it is offered', () => {
  it('absent on a cluster-mode store (a subject spans slots): core refuses sessionLimit', () => {
    const store = createRedisStore({ client, prefix: uniquePrefix('limit'), clusterMode: true });
    prefix = uniquePrefix('limit');
    expect(store.insertWithLimit).toBeUndefined();
    expect('insertWithLimit' in store).toBe(false);
  });

  it('present over a node-redis client, same answers', async () => {
    const own = createClient({ url: REDIS_URL });
    own.on('error', () => {});
    await own.connect();
    try {
      prefix = uniquePrefix('limit-node-redis');
      const store = createRedisStore({ client: own, prefix });
      const subject = randomId();
      const [a, b] = [rec(subject), rec(subject)];
      expect(await limited(store)(a, { max: 1, evict: 'oldest' })).toEqual({
        inserted: true,
        evicted: [],
      });
      expect(await limited(store)(b, { max: 1, evict: 'refuse' })).toEqual({ inserted: false });
      expect(await limited(store)(b, { max: 1, evict: 'oldest' })).toEqual({
        inserted: true,
        evicted: [a.id],
      });
      await expect(limited(store)(b, { max: 1, evict: 'oldest' })).rejects.toBeInstanceOf(
        StoreConflict,
      );
    } finally {
      await own.quit();
    }
  });
});

describe('insertWithLimit through core: createCloakroom({ sessionLimit })', () => {
  it('standalone: a third sign-in ends the first (max 2); a cluster-mode store is refused with ConfigInvalid', async () => {
    const signing = await generateSigningKey('EdDSA');
    const options = {
      keys: staticKeys({
        signing: [{ alg: 'EdDSA', privateKey: signing.privateJwk }],
        storage: [{ key: generateSecret() }],
        index: generateSecret(),
      }),
      issuer: 'https://issuer.test',
      audience: 'https://api.test',
      sessionLimit: { max: 2 },
    } as const;
    prefix = uniquePrefix('limit-core');
    const store = createRedisStore({ client, prefix });
    const cloakroom = createCloakroom({ ...options, store });
    const first = await cloakroom.create('user-1');
    const second = await cloakroom.create('user-1');
    const other = await cloakroom.create('user-2');
    const third = await cloakroom.create('user-1');
    expect(await cloakroom.resolve(first.ticket)).toBeNull();
    for (const s of [second, other, third])
      expect(await cloakroom.resolve(s.ticket)).not.toBeNull();
    await cloakroom.close();
    expect(() =>
      createCloakroom({
        ...options,
        store: createRedisStore({ client, prefix, clusterMode: true }),
      }),
    ).toThrow(ConfigInvalid);
  });
});

interface WorkerResult {
  readonly id: string;
  readonly inserted: boolean;
  readonly evicted: string[];
}

/** A second OS process racing on the same subject (fixtures/limit-worker.ts). */
async function worker(
  subject: string,
  calls: number,
  limit: SubjectLimit,
): Promise<{ go: () => Promise<WorkerResult[]> }> {
  const fixture = fileURLToPath(new URL('./fixtures/limit-worker.ts', import.meta.url));
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      fixture,
      REDIS_URL,
      prefix,
      subject,
      String(calls),
      String(limit.max),
      limit.evict,
    ],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  let out = '';
  const lines: string[] = [];
  let wake: (() => void) | undefined;
  child.stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString();
    let nl = out.indexOf('\n');
    while (nl >= 0) {
      lines.push(out.slice(0, nl));
      out = out.slice(nl + 1);
      nl = out.indexOf('\n');
    }
    wake?.();
  });
  const exited = new Promise<void>((_, reject) =>
    child.once('exit', (code) => {
      if (code !== 0) reject(new Error(`limit worker exited with ${code}`));
    }),
  );
  exited.catch(() => {});
  const line = async (): Promise<string> => {
    while (lines.length === 0) {
      await Promise.race([new Promise<void>((r) => (wake = r)), exited]);
    }
    return lines.shift() as string;
  };
  expect(await line()).toBe('ready');
  return {
    go: async () => {
      child.stdin.write('go\n');
      return JSON.parse(await line()) as WorkerResult[];
    },
  };
}

describe('insertWithLimit: one atomic step for the fleet', () => {
  it("evict 'oldest': 3 x 100 concurrent calls (two connections and a second process) never leave more than max seated", async () => {
    const other = await connectOrFail();
    try {
      const store = newStore();
      const twin = createRedisStore({ client: other, prefix, clock, commandTimeoutMs: 20_000 });
      const subject = randomId();
      const limit: SubjectLimit = { max: 3, evict: 'oldest' };
      const child = await worker(subject, 100, limit);
      const mine = Array.from({ length: 200 }, () => rec(subject, 120_000));
      // listBySubject is one script on a standalone server: an atomic snapshot.
      let done = false;
      let most = 0;
      let samples = 0;
      const watcher = (async () => {
        while (!done) {
          most = Math.max(most, (await store.listBySubject(subject)).length);
          samples++;
        }
      })();
      const [theirs, ours] = await Promise.all([
        child.go(),
        Promise.all(mine.map((r, i) => limited(i % 2 === 0 ? store : twin)(r, limit))),
      ]);
      done = true;
      await watcher;
      const results: WorkerResult[] = [
        ...theirs,
        ...ours.map((res, i) => ({
          id: mine[i]!.id,
          inserted: res.inserted,
          evicted: [...(res.evicted ?? [])],
        })),
      ];
      expect(results.every((r) => r.inserted)).toBe(true);
      const evicted = results.flatMap((r) => r.evicted);
      // Each record evicted at most once, and only records that were inserted.
      expect(new Set(evicted).size).toBe(evicted.length);
      expect(evicted.length).toBe(300 - 3);
      const all = new Set(results.map((r) => r.id));
      for (const id of evicted) expect(all.has(id)).toBe(true);
      const left = results.map((r) => r.id).filter((id) => !evicted.includes(id));
      expect(await ids(store, subject)).toEqual(sorted(left));
      expect(samples).toBeGreaterThan(0);
      expect(most).toBeLessThanOrEqual(3);
      await twin.close();
    } finally {
      other.disconnect();
    }
  }, 60_000);

  it('refuse: of 3 x 60 concurrent calls (two connections and a second process) exactly max insert', async () => {
    const other = await connectOrFail();
    try {
      const store = newStore();
      const twin = createRedisStore({ client: other, prefix, clock, commandTimeoutMs: 20_000 });
      const subject = randomId();
      const limit: SubjectLimit = { max: 5, evict: 'refuse' };
      const child = await worker(subject, 60, limit);
      const mine = Array.from({ length: 120 }, () => rec(subject, 120_000));
      const [theirs, ours] = await Promise.all([
        child.go(),
        Promise.all(mine.map((r, i) => limited(i % 2 === 0 ? store : twin)(r, limit))),
      ]);
      const winners = [
        ...theirs.filter((r) => r.inserted).map((r) => r.id),
        ...mine.filter((_, i) => ours[i]!.inserted).map((r) => r.id),
      ];
      expect(winners).toHaveLength(5);
      expect(await ids(store, subject)).toEqual(sorted(winners));
      for (const r of [...theirs, ...ours]) expect(r.evicted ?? []).toEqual([]);
      await twin.close();
    } finally {
      other.disconnect();
    }
  }, 60_000);
});
