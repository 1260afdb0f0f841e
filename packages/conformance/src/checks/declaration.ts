import type { SessionStore } from '@cloakroom/core';
import { ensure, type SessionStoreCheck, suiteClock, withStore } from '../harness';
import { describeError, expectRecord, hasCode, makeRecord, outcome } from '../records';

const HOUR = 3_600_000;

export const declarationCheck: SessionStoreCheck = {
  id: 'declaration',
  name: 'the store declares a name and its capabilities (nativeExpiry, shared) as booleans',
  async run(factory, options) {
    await withStore(factory, options, async (store) => {
      ensure(
        typeof store.name === 'string' && store.name.length > 0,
        'name must be a non-empty string',
      );
      const caps = store.capabilities as Partial<SessionStore['capabilities']> | undefined;
      ensure(typeof caps === 'object' && caps !== null, 'capabilities must be an object');
      ensure(typeof caps.nativeExpiry === 'boolean', 'capabilities.nativeExpiry must be a boolean');
      ensure(typeof caps.shared === 'boolean', 'capabilities.shared must be a boolean');
    });
  },
};

/** Ids no ticket hashes to, as an attacker or a bug might pass them. */
const HOSTILE = [
  '',
  '../../../etc/passwd',
  '..',
  '.',
  '*',
  '?',
  '%',
  "' OR 1=1 --",
  '\u0000',
  '__proto__',
  'constructor',
  'hasOwnProperty',
  'a'.repeat(10_000),
];

export const hostileIdCheck: SessionStoreCheck = {
  id: 'hostile-ids',
  name: 'ids and subjects that are not real-shaped (../, *, quotes, NUL, __proto__, 10 000 chars) read as missing or throw InvalidArgument',
  async run(factory, options) {
    const clock = suiteClock(options);
    await withStore(factory, options, async (store) => {
      const keeper = makeRecord({ expiresAt: clock.now() + HOUR });
      await store.insert(keeper);
      const calls: [string, (x: string) => Promise<unknown>, unknown][] = [
        ['get', (x) => store.get(x), null],
        ['delete', (x) => store.delete(x), false],
        ['deleteBySubject', (x) => store.deleteBySubject(x), 0],
        ['listBySubject', (x) => store.listBySubject(x), 'empty'],
      ];
      for (const hostile of HOSTILE) {
        const shown = JSON.stringify(hostile.slice(0, 24));
        for (const [method, call, missing] of calls) {
          const result = await outcome(() => call(hostile));
          if (result.ok) {
            const v = result.value;
            const asMissing =
              missing === 'empty' ? Array.isArray(v) && v.length === 0 : v === missing;
            ensure(
              asMissing,
              () =>
                `${method}(${shown}) must answer as missing, got ${Array.isArray(v) ? `${v.length} records` : String(v)}`,
            );
          } else {
            ensure(
              hasCode(result.error, 'ERR_INVALID_ARGUMENT'),
              () =>
                `${method}(${shown}) threw ${describeError(result.error)}, want InvalidArgument or a missing answer`,
            );
          }
        }
      }
      expectRecord(await store.get(keeper.id), keeper, 'a real record after the hostile calls');
    });
  },
};
