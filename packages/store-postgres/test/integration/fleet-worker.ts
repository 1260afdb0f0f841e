// One instance of the fleet test (fleet.test.ts), run as its own OS process
// (child_process.fork under tsx). Both run createCloakroom over the
// PostgreSQL store with the same keys. The "writer" creates and revokes
// sessions; the "reader" has core's nearCache on, resolves under load, and
// checks every revoked ticket until past the bound. Times are CLOCK_MONOTONIC
// (process.hrtime), which every process on the machine shares.
import {
  type Cloakroom,
  createCloakroom,
  type SessionStore,
  staticKeys,
  type Jwk,
} from '@cloakroom/core';
import { createPostgresStore } from '@cloakroom/store-postgres';
import pg from 'pg';

export interface FleetKeys {
  readonly signing: Jwk;
  readonly storage: Uint8Array;
  readonly index: Uint8Array;
}

export type ToWorker =
  | {
      readonly cmd: 'start';
      readonly role: 'writer' | 'reader';
      readonly url: string;
      readonly listenUrl: string;
      readonly schema: string;
      readonly keys: FleetKeys;
    }
  | { readonly cmd: 'create'; readonly count: number }
  | { readonly cmd: 'warm'; readonly tickets: readonly string[]; readonly load: number }
  | { readonly cmd: 'revoke'; readonly tickets: readonly string[]; readonly concurrency: number }
  | { readonly cmd: 'watch'; readonly items: readonly { ticket: string; id: string }[] }
  | { readonly cmd: 'revoked'; readonly ticket: string; readonly at: number }
  | { readonly cmd: 'report' }
  | { readonly cmd: 'stop' };

export interface ReaderReport {
  /** Per revoke: invalidate() arrival minus the writer's revoke returning, ms (when heard). */
  readonly delays: number[];
  /** Per revoke: end of the reader's first null answer minus the revoke returning, ms. */
  readonly nullAfter: number[];
  /** Non-null answers that started at least 5 ms after the revoke returned. */
  readonly staleAfter5ms: number;
  /** Null answers before the revoke began: a session lost by mistake (must be 0). */
  readonly earlyNull: number;
  /** Non-null answers that started after the invalidation reached this process. */
  readonly staleAfterInvalidate: number;
  /** Non-null answers that started past the channel's bound. */
  readonly staleAfterBound: number;
  readonly checked: number;
  readonly resets: number;
  /** Resolves of the reader, and how many of them read the store (the rest were cache hits). */
  readonly resolves: number;
  readonly storeGets: number;
  readonly boundMs: number;
}

const ISSUER = 'https://issuer.fleet.test';
const AUDIENCE = 'https://api.fleet.test';
const now = () => Number(process.hrtime.bigint()) / 1e6;
const send = (m: unknown) => process.send?.(m);
const tick = () => new Promise<void>((r) => setImmediate(r));

let cloakroom: Cloakroom | undefined;
let pool: pg.Pool | undefined;
let running = true;
let boundMs = 0;
const heardAt = new Map<string, number>();
const revoked = new Set<string>();
const report = {
  delays: [] as number[],
  nullAfter: [] as number[],
  staleAfter5ms: 0,
  staleAfterInvalidate: 0,
  staleAfterBound: 0,
  earlyNull: 0,
  checked: 0,
  resets: 0,
  resolves: 0,
  storeGets: 0,
};

/** The store, with the reader's channel timed: when each invalidation arrives here. */
function timedStore(inner: ReturnType<typeof createPostgresStore>): SessionStore {
  return {
    ...inner,
    get(id) {
      report.storeGets += 1;
      return inner.get(id);
    },
    async watch(listener) {
      const channel = await inner.watch({
        invalidate(id) {
          heardAt.set(id, now());
          listener.invalidate(id);
        },
        reset() {
          report.resets += 1;
          listener.reset();
        },
      });
      boundMs = channel.boundMs;
      return channel;
    },
  };
}

async function resolve(ticket: string) {
  report.resolves += 1;
  return (cloakroom as Cloakroom).resolve(ticket);
}

/** When each watched ticket's revoke returned in the writer (set by a `revoked` message). */
const revokedAt = new Map<string, number>();

/**
 * Resolves one ticket in a tight loop from before its revoke until 20 ms
 * after the revoke returned in the writer, recording every answer with its
 * times; then once more past the channel's bound. The writer's return time
 * arrives afterwards, so no message sits on the measured path.
 */
async function watchTicket(ticket: string, id: string, watchedAt: number): Promise<void> {
  const answers: [start: number, end: number, live: boolean][] = [];
  for (;;) {
    const start = now();
    const live = (await resolve(ticket)) !== null;
    const end = now();
    answers.push([start, end, live]);
    const at = revokedAt.get(ticket);
    if (at !== undefined && end >= at + 20 && !live) break;
    if (end - watchedAt > 60_000) throw new Error('the revoke never came');
    // Tight while the session is cached; once gone, each look is a read of the table.
    if (live) await tick();
    else await new Promise((r) => setTimeout(r, 5));
  }
  const at = revokedAt.get(ticket) as number;
  const heard = heardAt.get(id);
  let firstNull: number | undefined;
  for (const [start, end, live] of answers) {
    if (!live) {
      // The writer's revoke started at most its own duration before `at`; a null long before is a bug.
      if (end < at - 1000) report.earlyNull += 1;
      firstNull ??= end;
    } else {
      if (start >= at + 5) report.staleAfter5ms += 1;
      if (heard !== undefined && start >= heard) report.staleAfterInvalidate += 1;
    }
  }
  report.nullAfter.push((firstNull as number) - at);
  if (heard !== undefined) report.delays.push(heard - at);
  report.checked += 1;
  setTimeout(
    () => {
      void resolve(ticket).then((answer) => {
        if (answer !== null) report.staleAfterBound += 1;
      });
    },
    Math.max(0, at + boundMs - now()),
  );
}

/** Background load: `n` loops resolving random tickets not yet revoked (cache hits, mostly). */
function load(tickets: readonly string[], n: number): void {
  for (let i = 0; i < n; i += 1) {
    void (async () => {
      while (running) {
        const ticket = tickets[Math.floor(Math.random() * tickets.length)] as string;
        if (!revoked.has(ticket)) await resolve(ticket).catch(() => null);
        await tick();
      }
    })();
  }
}

async function lanes<T>(items: readonly T[], width: number, fn: (item: T) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) await fn(items[next++] as T);
    }),
  );
}

process.on('message', async (m: ToWorker) => {
  try {
    if (m.cmd === 'start') {
      const reader = m.role === 'reader';
      pool = new pg.Pool({ connectionString: m.url, max: reader ? 6 : 8 });
      pool.on('error', () => {});
      const inner = createPostgresStore({
        pool,
        schema: m.schema,
        invalidation: { connection: { connectionString: m.listenUrl } },
      });
      cloakroom = createCloakroom({
        store: reader ? timedStore(inner) : inner,
        keys: staticKeys({
          signing: [{ alg: 'EdDSA', privateKey: m.keys.signing }],
          storage: [{ key: m.keys.storage }],
          index: m.keys.index,
        }),
        issuer: ISSUER,
        audience: AUDIENCE,
        ...(reader ? { nearCache: { maxEntries: 50_000, maxAgeMs: 600_000 } } : {}),
      });
      send({ ready: true });
    } else if (m.cmd === 'create') {
      const c = cloakroom as Cloakroom;
      const made: { ticket: string; id: string }[] = [];
      await lanes(
        Array.from({ length: m.count }, (_, i) => i),
        8,
        async (i) => {
          const s = await c.create(`user-${i}`);
          made.push({ ticket: s.ticket, id: s.sessionId });
        },
      );
      send({ created: made });
    } else if (m.cmd === 'warm') {
      // Every ticket once, so each revoke meets a cached session.
      await lanes(m.tickets, 16, async (t) => {
        if ((await resolve(t)) === null) throw new Error('a fresh session did not resolve');
      });
      load(m.tickets, m.load);
      send({ warmed: true });
    } else if (m.cmd === 'revoke') {
      const c = cloakroom as Cloakroom;
      await lanes(m.tickets, m.concurrency, async (ticket) => {
        if (!(await c.revoke(ticket))) throw new Error('revoke found nothing');
        send({ revoked: ticket, at: now() });
      });
      send({ done: true });
    } else if (m.cmd === 'watch') {
      const at = now();
      for (const { ticket, id } of m.items) {
        revoked.add(ticket);
        watchTicket(ticket, id, at).catch((err: unknown) =>
          send({ error: err instanceof Error ? err.message : String(err) }),
        );
      }
      send({ watching: true });
    } else if (m.cmd === 'revoked') {
      revokedAt.set(m.ticket, m.at);
    } else if (m.cmd === 'report') {
      // Let the last checks (20 ms each, then one past the bound) finish.
      await new Promise((r) => setTimeout(r, boundMs + 300));
      running = false;
      send({ report: { ...report, boundMs } satisfies ReaderReport });
    } else if (m.cmd === 'stop') {
      running = false;
      await cloakroom?.close();
      await pool?.end();
      process.exit(0);
    }
  } catch (err) {
    send({ error: err instanceof Error ? `${err.name}: ${err.message}` : String(err) });
  }
});
