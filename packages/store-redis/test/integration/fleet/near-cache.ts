// A minimal near cache over store.watch, for the fleet test of the channel
// alone (core's own near cache is the real thing). It caches a record only
// when no invalidation or reset for it arrived while it was being read: an
// invalidation can overtake the reply of a read that started before the write.
import type { InvalidationChannel, SessionRecord, SessionStore } from '@cloakroom/core';

export interface TestNearCache {
  resolve(id: string): Promise<SessionRecord | null>;
  readonly channel: InvalidationChannel;
  readonly hits: number;
  readonly misses: number;
}

export async function testNearCache(
  store: SessionStore,
  onInvalidate: (id: string) => void = () => {},
): Promise<TestNearCache> {
  const cached = new Map<string, SessionRecord>();
  const changed = new Map<string, number>();
  let epoch = 0;
  let hits = 0;
  let misses = 0;
  const watch = store.watch;
  if (watch === undefined) throw new Error('the store has no watch');
  const channel = await watch.call(store, {
    invalidate(id) {
      onInvalidate(id);
      cached.delete(id);
      changed.set(id, (changed.get(id) ?? 0) + 1);
    },
    reset() {
      cached.clear();
      changed.clear();
      epoch++;
    },
  });
  return {
    channel,
    get hits() {
      return hits;
    },
    get misses() {
      return misses;
    },
    async resolve(id) {
      if (channel.live) {
        const hit = cached.get(id);
        if (hit !== undefined && Date.now() < hit.expiresAt) {
          hits++;
          return hit;
        }
      }
      misses++;
      const e = epoch;
      const c = changed.get(id) ?? 0;
      const record = await store.get(id);
      if (record !== null && channel.live && e === epoch && c === (changed.get(id) ?? 0)) {
        cached.set(id, record);
      }
      return record;
    },
  };
}
