// Instance B of the fleet test, in its own OS process: resolves a round's
// hot sessions in a loop through a near cache, and reports when each one
// last answered live and first answered null.
import { createRedisStore } from '../../../src/index';
import { type TestNearCache, testNearCache } from './near-cache';
import { type FromResolver, type RoundReport, type ToResolver, monoMs } from './protocol';

const send = (m: FromResolver): void => {
  process.send?.(m);
};

let cache: TestNearCache | undefined;
let loops = 4;
let ids: string[] = [];
let running = false;
const fresh = (): RoundReport => ({
  lastLive: {},
  lastLook: {},
  invalidated: {},
  resolves: 0,
  hits: 0,
});
let report = fresh();
let watching = false;
let stopAfter = Number.POSITIVE_INFINITY;
let hammering: Promise<void>[] = [];

async function hammer(offset: number): Promise<void> {
  const c = cache as TestNearCache;
  while (running) {
    const n = ids.length;
    for (let i = 0; i < n && running; i++) {
      // Like requests arriving one by one: I/O (invalidations among it) runs between small chunks.
      if (i % 16 === 15) await new Promise((resolve) => setImmediate(resolve));
      const id = ids[(i + offset) % n] as string;
      const t = monoMs();
      const record = await c.resolve(id);
      report.resolves++;
      if (record !== null && (report.lastLive[id] ?? 0) < t) report.lastLive[id] = t;
      if ((report.lastLook[id] ?? 0) < t) report.lastLook[id] = t;
    }
    // Stop once this loop made a whole pass that started after the stop time.
    // Let I/O in (invalidations, replies): a pass over cached answers never yields by itself.
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** Run until every loop has looked at every id after `after`. */
async function stopAfterPass(after: number): Promise<void> {
  stopAfter = after;
  const deadline = monoMs() + 10_000;
  while (monoMs() < deadline) {
    if (ids.every((id) => (report.lastLook[id] ?? 0) > stopAfter)) break;
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  running = false;
  await Promise.all(hammering);
}

process.on('message', (m: ToResolver) => {
  void (async () => {
    try {
      if (m.type === 'init') {
        loops = m.loops;
        const store = createRedisStore({ url: m.url, prefix: m.prefix, commandTimeoutMs: 5_000 });
        cache = await testNearCache(store, (id) => {
          if (watching && !(id in report.invalidated)) report.invalidated[id] = monoMs();
        });
        send({ type: 'ready', boundMs: cache.channel.boundMs });
      } else if (m.type === 'warm') {
        const c = cache as TestNearCache;
        ids = m.ids;
        report = fresh();
        watching = false;
        for (const id of ids) await c.resolve(id);
        const before = c.hits;
        for (const id of ids) await c.resolve(id);
        send({ type: 'warmed', cachedAll: c.hits - before === ids.length });
        const hitsAtStart = c.hits;
        watching = true;
        running = true;
        hammering = Array.from({ length: loops }, (_, i) =>
          hammer(Math.floor((i * ids.length) / loops)),
        );
        report.hits = -hitsAtStart;
      } else if (m.type === 'stop') {
        await stopAfterPass(m.after);
        watching = false;
        report.hits += (cache as TestNearCache).hits;
        send({ type: 'report', report });
      } else if (m.type === 'exit') {
        process.exit(0);
      }
    } catch (err) {
      send({ type: 'error', message: err instanceof Error ? err.message : String(err) });
    }
  })();
});
