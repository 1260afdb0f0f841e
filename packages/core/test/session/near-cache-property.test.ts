// SEC-32 as a property: whatever the interleaving of store reads, their
// completion, invalidations, resets, liveness changes and time, the cache
// never answers a value read before the latest invalidation of its id (or
// the latest reset), never while the channel is not live, and never one
// older than maxAgeMs.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createMemoryStore } from '@cloakroom/store-memory';
import { NearCache } from '../../src/session/near-cache';
import { InvalidationBus, watchedStore } from './near-cache-support';

const IDS = ['a', 'b', 'c'] as const;
const MAX_AGE = 100;

type Op =
  | { k: 'begin'; id: number }
  | { k: 'finish'; which: number }
  | { k: 'invalidate'; id: number }
  | { k: 'reset' }
  | { k: 'flap'; live: boolean }
  | { k: 'tick'; ms: number }
  | { k: 'get'; id: number };

// Weighted so that fills complete and are asked for before time or a reset
// sweeps them away: the property must reach cached answers to prove anything.
const op: fc.Arbitrary<Op> = fc.oneof(
  { arbitrary: fc.record({ k: fc.constant('begin' as const), id: fc.nat(2) }), weight: 6 },
  { arbitrary: fc.record({ k: fc.constant('finish' as const), which: fc.nat(5) }), weight: 6 },
  { arbitrary: fc.record({ k: fc.constant('invalidate' as const), id: fc.nat(2) }), weight: 3 },
  { arbitrary: fc.constant({ k: 'reset' as const }), weight: 1 },
  { arbitrary: fc.record({ k: fc.constant('flap' as const), live: fc.boolean() }), weight: 1 },
  {
    arbitrary: fc.record({ k: fc.constant('tick' as const), ms: fc.integer({ min: 1, max: 40 }) }),
    weight: 2,
  },
  { arbitrary: fc.record({ k: fc.constant('get' as const), id: fc.nat(2) }), weight: 8 },
);

interface Value {
  readonly id: string;
  readonly readAt: number; // logical step of the store read
  readonly filledAt: number; // clock at finish
}

describe('near cache property', () => {
  it('SEC-32 never answers a value older than the last invalidation or reset, nor while not live, nor past maxAgeMs', async () => {
    // The property must reach cached answers, or it proves nothing.
    let answered = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(op, { maxLength: 80 }),
        fc.integer({ min: 1, max: 4 }),
        async (ops, maxEntries) => {
          const bus = new InvalidationBus();
          let t = 0;
          const cache = new NearCache<Value>(
            watchedStore(createMemoryStore(), bus),
            { maxEntries, maxAgeMs: MAX_AGE },
            () => t,
          );
          cache.live();
          await new Promise((r) => setImmediate(r));
          const lastDrop = new Map<string, number>(); // id -> step of its latest invalidation
          let lastReset = -1;
          const open: {
            id: string;
            fill: NonNullable<ReturnType<typeof cache.begin>>;
            step: number;
          }[] = [];
          let step = 0;
          for (const o of ops) {
            step++;
            const sub = bus.subscribers[0];
            if (sub === undefined) throw new Error('no channel');
            switch (o.k) {
              case 'begin': {
                const id = IDS[o.id] as string;
                const fill = cache.begin(id);
                if (fill) open.push({ id, fill, step });
                break;
              }
              case 'finish': {
                const f = open.splice(o.which % Math.max(1, open.length), 1)[0];
                if (f) cache.finish(f.fill, { id: f.id, readAt: f.step, filledAt: t }, 'g');
                break;
              }
              case 'invalidate':
                lastDrop.set(IDS[o.id] as string, step);
                bus.announce([IDS[o.id] as string]);
                break;
              case 'reset':
                lastReset = step;
                bus.announce([], true);
                break;
              case 'flap':
                // A channel that loses track resets before it says so (the contract).
                if (!o.live) {
                  lastReset = step;
                  bus.drop();
                } else if (!sub.live) {
                  lastReset = step;
                  bus.restore();
                }
                break;
              case 'tick':
                t += o.ms;
                break;
              case 'get': {
                const id = IDS[o.id] as string;
                const v = cache.get(id, t);
                if (v === undefined) break;
                expect(sub.live).toBe(true);
                expect(v.id).toBe(id);
                expect(v.readAt).toBeGreaterThan(lastDrop.get(id) ?? -1);
                expect(v.readAt).toBeGreaterThan(lastReset);
                expect(t - v.filledAt).toBeLessThan(MAX_AGE);
                break;
              }
            }
            expect(cache.stats().size).toBeLessThanOrEqual(maxEntries);
          }
          answered += cache.stats().hits;
          await cache.close();
        },
      ),
      { numRuns: 300 },
    );
    expect(answered).toBeGreaterThan(0);
  });
});
