import { describeSessionStore } from '@cloakroom/conformance';
import { createReferenceStore, dumpBackend, type ReferenceStore } from './support/reference-store';

const clock = { t: Date.now() };

describeSessionStore(
  'reference (virtual clock)',
  () => createReferenceStore({ now: () => clock.t }),
  {
    now: () => clock.t,
    advanceTime: (ms) => {
      clock.t += ms;
    },
    inspect: async (store) => dumpBackend(store),
    unreachable: () => createReferenceStore({ reachable: false }),
    sibling: (store) =>
      createReferenceStore({ now: () => clock.t, backend: (store as ReferenceStore).backend }),
  },
);

describeSessionStore('reference (real clock)', () => createReferenceStore(), {
  inspect: async (store) => dumpBackend(store),
});
