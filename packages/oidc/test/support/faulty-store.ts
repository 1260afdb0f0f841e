// The real memory store behind a SessionStore whose methods a test may
// replace one by one, to inject an outage or a lost reply where it wants one.
import type { SessionStore } from '@cloakroom/core';
import { createMemoryStore } from '@cloakroom/store-memory';

type Overrides = Partial<
  Pick<SessionStore, 'insert' | 'get' | 'delete' | 'deleteBySubject' | 'listBySubject'>
>;

/** A memory store (`inner`) seen through `overrides`; every other method is the memory store's own. */
export function faultyStore(make: (inner: SessionStore) => Overrides): SessionStore {
  const inner = createMemoryStore();
  return {
    name: 'memory-with-faults',
    capabilities: inner.capabilities,
    insert: (r) => inner.insert(r),
    get: (id) => inner.get(id),
    replace: (r, v) => inner.replace(r, v),
    rotate: (o, n) => inner.rotate(o, n),
    delete: (id) => inner.delete(id),
    deleteBySubject: (s) => inner.deleteBySubject(s),
    listBySubject: (s) => inner.listBySubject(s),
    scan: (o) => inner.scan(o),
    close: () => inner.close(),
    ...make(inner),
  };
}
