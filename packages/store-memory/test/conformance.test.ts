import { describeKeySetStore, describeSessionStore } from '@cloakroom/conformance';
import type { SessionRecord, SessionStore } from '@cloakroom/core';
import { createMemoryKeySetStore, createMemoryStore } from '@cloakroom/store-memory';

const clock = { t: Date.now() };

// The memory store's backend is its own heap: a full scan shows every record it holds.
async function dump(store: SessionStore): Promise<Array<Uint8Array | string>> {
  const out: Array<Uint8Array | string> = [];
  let cursor: string | undefined;
  do {
    const page = await store.scan(cursor === undefined ? { limit: 100 } : { cursor, limit: 100 });
    for (const r of page.records as SessionRecord[]) out.push(r.id, r.subject, r.payload);
    cursor = page.cursor;
  } while (cursor !== undefined);
  return out;
}

describeSessionStore('memory (virtual clock)', () => createMemoryStore({ clock: () => clock.t }), {
  now: () => clock.t,
  advanceTime: (ms) => {
    clock.t += ms;
  },
  inspect: dump,
  // The memory store always has insertWithLimit: losing it must fail the suite.
  requiredMethods: ['insertWithLimit'],
});

describeSessionStore('memory (real clock)', () => createMemoryStore(), {
  requiredMethods: ['insertWithLimit'],
});

describeKeySetStore('memory', () => createMemoryKeySetStore());
