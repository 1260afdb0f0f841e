// Instance B of the fleet test, in its own OS process: resolves a round's
// hot sessions in a loop through a near cache (the test's own over
// store.watch, or core's `nearCache`), and reports, per session, when it
// last answered it live and last looked at it.
import { createCloakroom, staticKeys } from '@cloakroom/core';
import { createRedisStore } from '../../../src/index';
import { testNearCache } from './near-cache';
import { type FromResolver, type RoundReport, type ToResolver, monoMs } from './protocol';

const send = (m: FromResolver): void => {
  process.send?.(m);
};

/** Resolve one item: true when it answered a live session. */
let resolveItem: (item: string) => Promise<boolean> = async () => false;
/** Answers that came from the cache so far. */
let cacheHits: () => number = () => 0;
let invalidatedId: Map<string, number> | undefined;
let loops = 4;
let items: string[] = [];
let running = false;
const fresh = (n: number): RoundReport => ({
  lastLive: new Array<number>(n).fill(0),
  lastLook: new Array<number>(n).fill(0),
  invalidated: new Array<number>(n).fill(0),
  resolves: 0,
  hits: 0,
});
let report = fresh(0);
let watching = false;
let hammering: Promise<void>[] = [];

async function hammer(offset: number): Promise<void> {
  while (running) {
    const n = items.length;
    for (let i = 0; i < n && running; i++) {
      // Like requests arriving one by one: I/O (invalidations among it) runs between small chunks.
      if (i % 16 === 15) await new Promise((resolve) => setImmediate(resolve));
      const at = (i + offset) % n;
      const t = monoMs();
      const live = await resolveItem(items[at] as string);
      report.resolves++;
      if (live && (report.lastLive[at] as number) < t) report.lastLive[at] = t;
      if ((report.lastLook[at] as number) < t) report.lastLook[at] = t;
    }
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** Run until every item was looked at after `after` (the last revoke returned), at most 10 s. */
async function stopAfterPass(after: number): Promise<void> {
  const deadline = monoMs() + 10_000;
  while (monoMs() < deadline && !report.lastLook.every((t) => t > after)) {
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  running = false;
  await Promise.all(hammering);
}

async function init(m: Extract<ToResolver, { type: 'init' }>): Promise<number> {
  loops = m.loops;
  const store = createRedisStore({ url: m.url, prefix: m.prefix, commandTimeoutMs: 5_000 });
  if (m.mode === 'channel') {
    const heard = new Map<string, number>();
    invalidatedId = heard;
    const cache = await testNearCache(store, (id) => {
      if (watching && !heard.has(id)) heard.set(id, monoMs());
    });
    resolveItem = async (id) => (await cache.resolve(id)) !== null;
    cacheHits = () => cache.hits;
    return cache.channel.boundMs;
  }
  const k = m.keys as NonNullable<typeof m.keys>;
  // Count the store's reads: every resolve that is not one is a cache answer.
  let reads = 0;
  let resolves = 0;
  const get = store.get.bind(store);
  let boundMs = 0;
  const watch = store.watch?.bind(store);
  const spied = Object.assign(Object.create(store) as typeof store, {
    get: (id: string) => {
      reads++;
      return get(id);
    },
    watch: async (listener: Parameters<NonNullable<typeof watch>>[0]) => {
      const channel = await (watch as NonNullable<typeof watch>)(listener);
      boundMs = channel.boundMs;
      return channel;
    },
  });
  const manager = createCloakroom({
    store: spied,
    keys: staticKeys({
      signing: [{ alg: 'EdDSA', privateKey: k.signingJwk as never }],
      storage: [{ key: k.storage }],
      index: k.index,
    }),
    issuer: 'https://issuer.test',
    audience: 'https://api.test',
    nearCache: true,
  });
  resolveItem = async (ticket) => {
    resolves++;
    return (await manager.resolve(ticket)) !== null;
  };
  cacheHits = () => resolves - reads;
  // The channel starts with the first resolve: resolve a session of our own until it is up.
  const { ticket } = await manager.create('fleet-warm-up');
  const deadline = monoMs() + 10_000;
  while (boundMs === 0 && monoMs() < deadline) {
    await manager.resolve(ticket);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  await manager.revoke(ticket);
  if (boundMs === 0) {
    throw new Error(
      'core never opened the near cache channel: is @cloakroom/core (dist) built and current?',
    );
  }
  return boundMs;
}

process.on('message', (m: ToResolver) => {
  void (async () => {
    try {
      if (m.type === 'init') {
        send({ type: 'ready', boundMs: await init(m) });
      } else if (m.type === 'warm') {
        items = m.items;
        report = fresh(items.length);
        watching = false;
        invalidatedId?.clear();
        for (const item of items) await resolveItem(item);
        const before = cacheHits();
        for (const item of items) await resolveItem(item);
        send({ type: 'warmed', cachedAll: cacheHits() - before === items.length });
        report.hits = -cacheHits();
        report.resolves = 0;
        watching = true;
        running = true;
        hammering = Array.from({ length: loops }, (_, i) =>
          hammer(Math.floor((i * items.length) / loops)),
        );
      } else if (m.type === 'stop') {
        await stopAfterPass(m.after);
        watching = false;
        report.hits += cacheHits();
        if (invalidatedId !== undefined) {
          items.forEach((id, i) => {
            report.invalidated[i] = invalidatedId?.get(id) ?? 0;
          });
        }
        send({ type: 'report', report });
      } else if (m.type === 'exit') {
        process.exit(0);
      }
    } catch (err) {
      send({ type: 'error', message: err instanceof Error ? err.message : String(err) });
    }
  })();
});
