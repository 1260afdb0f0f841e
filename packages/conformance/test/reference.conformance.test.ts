import { describeSessionStore } from '@cloakroom/conformance';
import { createReferenceStore, dumpBackend } from './support/reference-store';

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
  },
);

describeSessionStore('reference (real clock)', () => createReferenceStore(), {
  inspect: async (store) => dumpBackend(store),
});
