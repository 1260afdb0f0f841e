// One instance of the fleet test (fleet.test.ts), run as its own OS process
// (child_process.fork under tsx). Role "writer" deletes sessions as told;
// role "reader" keeps a near cache over store.watch() under load and checks
// every revoked id until well past the bound. Times are CLOCK_MONOTONIC
// (process.hrtime), which every process on the machine shares.
import type { InvalidationChannel, SessionRecord } from '@cloakroom/core';
import { createPostgresStore, type PostgresStore } from '@cloakroom/store-postgres';
import pg from 'pg';

export type ToWorker =
  | {
      readonly cmd: 'start';
      readonly role: 'writer' | 'reader';
      readonly url: string;
      readonly listenUrl: string;
      readonly schema: string;
      readonly ids: readonly string[];
      readonly load: number;
    }
  | { readonly cmd: 'revoke'; readonly ids: readonly string[]; readonly concurrency: number }
  | { readonly cmd: 'check'; readonly id: string; readonly at: number }
  | { readonly cmd: 'report' }
  | { readonly cmd: 'stop' };

export interface ReaderReport {
  /** Per revoke: invalidate() arrival minus the writer's return, ms (absent when not heard). */
  readonly delays: number[];
  /** Per revoke: end of the first null answer minus the writer's return, ms. */
  readonly nullAfter: number[];
  /** Answers that were not null although they started this long after the revoke returned. */
  readonly staleAfter5ms: number;
  readonly staleAfterInvalidate: number;
  readonly staleAfterBound: number;
  /** Revokes whose id was in the cache when its invalidation arrived. */
  readonly cachedAtRevoke: number;
  readonly checked: number;
  readonly resets: number;
  readonly hits: number;
  readonly misses: number;
  readonly boundMs: number;
}

const now = () => Number(process.hrtime.bigint()) / 1e6;
const send = (m: unknown) => process.send?.(m);
const tick = () => new Promise<void>((r) => setImmediate(r));

/**
 * A minimal near cache as SEC-32 asks of one: answers from memory only while
 * the channel is live, drops entries on invalidate/reset, and never stores a
 * read that raced with an invalidation of its id (or a reset).
 */
function nearCache(store: PostgresStore) {
  const cache = new Map<string, SessionRecord>();
  const generation = new Map<string, number>();
  const heardAt = new Map<string, number>();
  let epoch = 0;
  let channel: InvalidationChannel | undefined;
  const stats = { resets: 0, hits: 0, misses: 0, cachedAtRevoke: 0 };
  return {
    stats,
    heardAt,
    async open() {
      channel = await store.watch({
        invalidate(id) {
          heardAt.set(id, now());
          if (cache.delete(id)) stats.cachedAtRevoke += 1;
          generation.set(id, (generation.get(id) ?? 0) + 1);
        },
        reset() {
          stats.resets += 1;
          epoch += 1;
          cache.clear();
          generation.clear();
        },
      });
      return channel;
    },
    async resolve(id: string): Promise<SessionRecord | null> {
      if (channel?.live) {
        const hit = cache.get(id);
        if (hit) {
          stats.hits += 1;
          return hit;
        }
      }
      stats.misses += 1;
      const e = epoch;
      const g = generation.get(id) ?? 0;
      const record = await store.get(id);
      if (record && channel?.live && e === epoch && g === (generation.get(id) ?? 0)) {
        cache.set(id, record);
      }
      return record;
    },
  };
}

let store: PostgresStore | undefined;
let pool: pg.Pool | undefined;
let running = true;
let reader: ReturnType<typeof nearCache> | undefined;
let boundMs = 0;
const revoked = new Set<string>();
const report = {
  delays: [] as number[],
  nullAfter: [] as number[],
  staleAfter5ms: 0,
  staleAfterInvalidate: 0,
  staleAfterBound: 0,
  checked: 0,
};

/** Resolves one revoked id over and over for 20 ms, then once more past the channel's bound. */
async function check(id: string, at: number): Promise<void> {
  const r = reader;
  if (!r) return;
  let firstNull: number | undefined;
  for (;;) {
    const start = now();
    const answer = await r.resolve(id);
    const end = now();
    if (answer === null) firstNull ??= end;
    else {
      if (start >= at + 5) report.staleAfter5ms += 1;
      const heard = r.heardAt.get(id);
      if (heard !== undefined && start >= heard) report.staleAfterInvalidate += 1;
    }
    if (end >= at + 20 && firstNull !== undefined) break;
    // Tight until the first null; then a few more looks (each a read from the table).
    if (firstNull === undefined) await tick();
    else await new Promise((res) => setTimeout(res, 2));
  }
  report.nullAfter.push((firstNull as number) - at);
  const heard = r.heardAt.get(id);
  if (heard !== undefined) report.delays.push(heard - at);
  report.checked += 1;
  setTimeout(
    () => {
      r.resolve(id).then((answer) => {
        if (answer !== null) report.staleAfterBound += 1;
      });
    },
    Math.max(0, at + boundMs - now()),
  );
}

/** Background load: `n` loops resolving random ids that are still live (mostly cache hits). */
function load(ids: readonly string[], n: number): void {
  const r = reader;
  if (!r) return;
  for (let i = 0; i < n; i += 1) {
    void (async () => {
      while (running) {
        const id = ids[Math.floor(Math.random() * ids.length)] as string;
        if (!revoked.has(id)) await r.resolve(id).catch(() => null);
        await tick();
      }
    })();
  }
}

process.on('message', async (m: ToWorker) => {
  try {
    if (m.cmd === 'start') {
      pool = new pg.Pool({ connectionString: m.url, max: m.role === 'reader' ? 6 : 4 });
      pool.on('error', () => {});
      store = createPostgresStore({
        pool,
        schema: m.schema,
        invalidation: { connection: { connectionString: m.listenUrl } },
      });
      if (m.role === 'reader') {
        reader = nearCache(store);
        boundMs = (await reader.open()).boundMs;
        // Warm the cache with every id, so each revoke meets a cached entry.
        for (let i = 0; i < m.ids.length; i += 32) {
          await Promise.all(m.ids.slice(i, i + 32).map((id) => reader?.resolve(id)));
        }
        load(m.ids, m.load);
      }
      send({ ready: true });
    } else if (m.cmd === 'revoke') {
      const s = store as PostgresStore;
      let next = 0;
      const lanes = Array.from({ length: m.concurrency }, async () => {
        while (next < m.ids.length) {
          const id = m.ids[next++] as string;
          if (!(await s.delete(id))) throw new Error('revoke found nothing');
          send({ revoked: id, at: now() });
        }
      });
      await Promise.all(lanes);
      send({ done: true });
    } else if (m.cmd === 'check') {
      revoked.add(m.id);
      void check(m.id, m.at);
    } else if (m.cmd === 'report') {
      // Let the last checks (20 ms each, then one past the bound) finish.
      await new Promise((r) => setTimeout(r, boundMs + 200));
      const out: ReaderReport = { ...report, ...(reader?.stats ?? {}), boundMs } as ReaderReport;
      send({ report: out });
    } else if (m.cmd === 'stop') {
      running = false;
      await store?.close();
      await pool?.end();
      process.exit(0);
    }
  } catch (err) {
    send({ error: err instanceof Error ? `${err.name}: ${err.message}` : String(err) });
  }
});
