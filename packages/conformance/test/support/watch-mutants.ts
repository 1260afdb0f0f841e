// The reference store with an invalidation channel (SEC-32), honest and
// broken, so the watch checks are shown to pass an honest channel and to
// fail each flaw they aim at.
import type { InvalidationChannel, InvalidationListener, SessionStore } from '@cloakroom/core';
import type { Mutant } from './mutant-kit';
import { createReferenceStore, type ReferenceStoreOptions } from './reference-store';

export interface WatchFlaws {
  /** Ids of deletes are not announced. */
  readonly silentDelete?: boolean;
  /** deleteBySubject announces nothing (neither ids nor reset). */
  readonly silentSubject?: boolean;
  /** `live` stays true after close. */
  readonly liveAfterClose?: boolean;
  /** Announcements arrive this late, in ms (over the declared 20 ms bound). */
  readonly delayMs?: number;
  /** Records evicted by insertWithLimit are not announced. */
  readonly silentEviction?: boolean;
}

const BOUND_MS = 20;

/** The reference store plus `watch`, with the given flaws (none: an honest channel). */
export function createWatchedReferenceStore(
  options: ReferenceStoreOptions,
  flaws: WatchFlaws = {},
): SessionStore {
  const ref = createReferenceStore(options);
  const listeners = new Set<{ listener: InvalidationListener; open: boolean }>();
  let storeClosed = false;
  const announce = (ids: readonly string[], reset = false) => {
    const deliver = () => {
      for (const l of listeners) {
        if (!l.open) continue;
        if (reset) l.listener.reset();
        else for (const id of ids) l.listener.invalidate(id);
      }
    };
    if (flaws.delayMs === undefined) deliver();
    else setTimeout(deliver, flaws.delayMs);
  };
  return {
    ...ref,
    async replace(record, expected) {
      const ok = await ref.replace(record, expected);
      if (ok) announce([record.id]);
      return ok;
    },
    async rotate(old, next) {
      const ok = await ref.rotate(old, next);
      if (ok) announce([old.record.id, next.id]);
      return ok;
    },
    async insertWithLimit(record, limit) {
      const answer = await ref.insertWithLimit!(record, limit);
      if (answer.inserted && answer.evicted.length > 0 && !flaws.silentEviction) {
        announce(answer.evicted);
      }
      return answer;
    },
    async delete(id) {
      const ok = await ref.delete(id);
      if (ok && !flaws.silentDelete) announce([id]);
      return ok;
    },
    async deleteBySubject(subject) {
      const n = await ref.deleteBySubject(subject);
      if (n > 0 && !flaws.silentSubject) announce([], true);
      return n;
    },
    async watch(listener): Promise<InvalidationChannel> {
      const entry = { listener, open: true };
      listeners.add(entry);
      return {
        get live() {
          return flaws.liveAfterClose === true || (entry.open && !storeClosed);
        },
        boundMs: BOUND_MS,
        async close() {
          entry.open = false;
          listeners.delete(entry);
        },
      };
    },
    async close() {
      storeClosed = true;
      for (const l of listeners) l.open = false;
      await ref.close();
    },
  };
}

export const watchMutants: readonly Mutant[] = [
  {
    flaw: 'watch: a delete is not announced',
    caughtBy: ['watch-writes'],
    create: (options) => createWatchedReferenceStore(options, { silentDelete: true }),
  },
  {
    flaw: 'watch: deleteBySubject announces nothing',
    caughtBy: ['watch-subject'],
    create: (options) => createWatchedReferenceStore(options, { silentSubject: true }),
  },
  {
    flaw: 'watch: the channel stays live after close',
    caughtBy: ['watch-close'],
    create: (options) => createWatchedReferenceStore(options, { liveAfterClose: true }),
  },
  {
    flaw: 'watch: invalidations arrive later than the declared boundMs',
    caughtBy: ['watch-writes', 'watch-subject'],
    create: (options) => createWatchedReferenceStore(options, { delayMs: 120 }),
  },
  {
    flaw: 'watch: a record evicted by insertWithLimit is not announced',
    caughtBy: ['watch-writes'],
    create: (options) => createWatchedReferenceStore(options, { silentEviction: true }),
  },
];
