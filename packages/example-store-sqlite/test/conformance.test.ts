import { describeKeySetStore, describeSessionStore } from '@cloakroom/conformance';
import {
  dumpFiles,
  lockedStore,
  openKeySets,
  openSibling,
  openStore,
  removeFiles,
} from './sqlite-fixtures';

// An injectable clock lets the suite step exactly onto expiry boundaries instead of sleeping.
const clock = { now: Date.now() };

describeSessionStore('sqlite', () => openStore({ clock: () => clock.now }), {
  now: () => clock.now,
  advanceTime: (ms) => {
    clock.now += ms;
  },
  cleanup: removeFiles,
  inspect: dumpFiles,
  unreachable: lockedStore,
  sibling: openSibling,
});

describeSessionStore('sqlite on the real clock', () => openStore(), { cleanup: removeFiles });

describeKeySetStore('sqlite key sets', openKeySets, { cleanup: removeFiles });
