// The near cache's own rules, on the class itself (no manager around it):
// bounded size, bounded age, fills that race an invalidation, liveness, the
// key ring, and the channel's lifecycle.
import { describe, expect, it } from 'vitest';
import { createMemoryStore } from '@cloakroom/store-memory';
import { NearCache } from '../../src/session/near-cache';
import { InvalidationBus, watchedStore } from './near-cache-support';

function cacheOver(settings = { maxEntries: 3, maxAgeMs: 1000 }) {
  const bus = new InvalidationBus();
  const store = watchedStore(createMemoryStore(), bus);
  let t = 1_000_000;
  const clock = {
    now: () => t,
    advance: (ms: number) => {
      t += ms;
    },
  };
  const cache = new NearCache<string>(store, settings, clock.now);
  return { cache, bus, clock };
}

/** Starts the channel (the first `live()` calls watch) and waits for it. */
async function up(cache: NearCache<string>): Promise<void> {
  cache.live();
  await new Promise((r) => setImmediate(r));
  expect(cache.live()).toBe(true);
}

function put(cache: NearCache<string>, id: string, value = `v-${id}`, group = 'g'): void {
  const fill = cache.begin(id);
  expect(fill).toBeDefined();
  if (fill) cache.finish(fill, value, group);
}

describe('near cache (class)', () => {
  it('caches nothing before the channel is live, and starts the channel on first use', async () => {
    const { cache, bus, clock } = cacheOver();
    expect(cache.begin('a')).toBeUndefined();
    expect(bus.watchCalls).toBe(1);
    await new Promise((r) => setImmediate(r));
    put(cache, 'a');
    expect(cache.get('a', clock.now())).toBe('v-a');
  });

  it('holds at most maxEntries; an entry hit since eviction last passed gets a second chance', async () => {
    const { cache, clock } = cacheOver();
    await up(cache);
    put(cache, 'a');
    put(cache, 'b');
    put(cache, 'c');
    cache.get('a', clock.now()); // a is used
    put(cache, 'd'); // evicts b (oldest not used), a moves to the back
    expect(cache.stats().size).toBe(3);
    expect(cache.get('b', clock.now())).toBeUndefined();
    expect(cache.get('a', clock.now())).toBe('v-a');
    expect(cache.get('c', clock.now())).toBe('v-c');
    expect(cache.stats().evictions).toBe(1);
  });

  it('an entry ages from the start of its store read: a slow read does not stretch maxAgeMs', async () => {
    const { cache, clock } = cacheOver({ maxEntries: 10, maxAgeMs: 1000 });
    await up(cache);
    const fill = cache.begin('slow');
    expect(fill).toBeDefined();
    clock.advance(600); // the read (and a touch write) took 600 ms
    if (fill) cache.finish(fill, 'v-slow', 'g');
    clock.advance(500); // 1,100 ms after the read began, 500 ms after it landed
    expect(cache.get('slow', clock.now())).toBeUndefined();
  });

  it('an entry is not answered at maxAgeMs, and the sweep removes unasked entries', async () => {
    const { cache, clock } = cacheOver();
    await up(cache);
    put(cache, 'a');
    put(cache, 'b');
    clock.advance(999);
    expect(cache.get('a', clock.now())).toBe('v-a');
    clock.advance(1);
    expect(cache.get('a', clock.now())).toBeUndefined();
    cache.sweep();
    expect(cache.stats().size).toBe(0);
  });

  it('a clock that went back is doubt: no answer', async () => {
    const { cache, clock } = cacheOver();
    await up(cache);
    put(cache, 'a');
    clock.advance(-1);
    expect(cache.get('a', clock.now())).toBeUndefined();
  });

  it('SEC-32 a fill raced by invalidate(id), reset or lost liveness is not cached; other ids are unaffected', async () => {
    const { cache, bus, clock } = cacheOver({ maxEntries: 10, maxAgeMs: 1000 });
    await up(cache);
    const fa = cache.begin('a');
    const fb = cache.begin('b');
    if (!fa || !fb) throw new Error('fills refused');
    bus.announce(['a']);
    cache.finish(fa, 'A', 'g');
    cache.finish(fb, 'B', 'g');
    expect(cache.get('a', clock.now())).toBeUndefined();
    expect(cache.get('b', clock.now())).toBe('B');

    const fc = cache.begin('c');
    if (!fc) throw new Error('fill refused');
    bus.drop();
    bus.restore();
    cache.finish(fc, 'C', 'g');
    expect(cache.get('c', clock.now())).toBeUndefined();

    const fd = cache.begin('d');
    if (!fd) throw new Error('fill refused');
    for (const s of bus.subscribers) s.live = false;
    cache.finish(fd, 'D', 'g');
    for (const s of bus.subscribers) s.live = true;
    expect(cache.get('d', clock.now())).toBeUndefined();
    expect(cache.stats().raced).toBe(3);
  });

  it('two reads of one id in flight: an invalidation poisons both; a later read caches again', async () => {
    const { cache, bus, clock } = cacheOver();
    await up(cache);
    const f1 = cache.begin('a');
    const f2 = cache.begin('a');
    if (!f1 || !f2) throw new Error('fills refused');
    bus.announce(['a']);
    cache.finish(f1, 'one', 'g');
    cache.finish(f2, 'two', 'g');
    expect(cache.get('a', clock.now())).toBeUndefined();
    put(cache, 'a', 'three');
    expect(cache.get('a', clock.now())).toBe('three');
  });

  it('a channel that stops being live drops everything before the next answer', async () => {
    const { cache, bus, clock } = cacheOver();
    await up(cache);
    put(cache, 'a');
    for (const s of bus.subscribers) s.live = false;
    expect(cache.get('a', clock.now())).toBeUndefined();
    for (const s of bus.subscribers) s.live = true;
    // Live again without a reset from the channel: still nothing (dropped, not hidden).
    expect(cache.get('a', clock.now())).toBeUndefined();
  });

  it('invalidateGroup drops a subject index and poisons every read in flight', async () => {
    const { cache, clock } = cacheOver({ maxEntries: 10, maxAgeMs: 1000 });
    await up(cache);
    put(cache, 'a', 'A', 's1');
    put(cache, 'b', 'B', 's2');
    const f = cache.begin('c');
    if (!f) throw new Error('fill refused');
    cache.invalidateGroup('s1');
    cache.finish(f, 'C', 's1');
    expect(cache.get('a', clock.now())).toBeUndefined();
    expect(cache.get('b', clock.now())).toBe('B');
    expect(cache.get('c', clock.now())).toBeUndefined();
  });

  it('a new storage key ring drops everything', async () => {
    const { cache, clock } = cacheOver();
    await up(cache);
    const ring1 = {};
    cache.keys(ring1);
    put(cache, 'a');
    cache.keys(ring1);
    expect(cache.get('a', clock.now())).toBe('v-a');
    cache.keys({});
    expect(cache.get('a', clock.now())).toBeUndefined();
  });

  it('a failed watch is retried after a back-off, never at once', async () => {
    const { cache, bus } = cacheOver();
    bus.failWatches = 1;
    expect(cache.live()).toBe(false);
    await new Promise((r) => setImmediate(r));
    for (let i = 0; i < 10; i++) expect(cache.begin('a')).toBeUndefined();
    expect(bus.watchCalls).toBe(1);
  });

  it('close() closes the channel, and a watch still being set up closes when it lands', async () => {
    const { cache, bus } = cacheOver();
    cache.live(); // watch in flight
    await cache.close();
    expect(bus.subscribers.every((s) => s.closed)).toBe(true);
    expect(cache.begin('a')).toBeUndefined();
  });

  it('close() does not wait for a watch that never answers', async () => {
    const store = { ...watchedStore(createMemoryStore(), new InvalidationBus()) };
    store.watch = () => new Promise(() => undefined);
    const cache = new NearCache<string>(store, { maxEntries: 1, maxAgeMs: 1000 }, Date.now);
    cache.live();
    // Resolves (after 1 s by design); awaiting the hung setup would time the test out.
    await expect(cache.close()).resolves.toBeUndefined();
    expect(cache.begin('a')).toBeUndefined();
  });
});
