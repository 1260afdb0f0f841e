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

/**
 * Near misses of a real key: the strings a store that trims, truncates,
 * lower-cases or stringifies its argument would turn into `key`.
 */
function nearMisses(key: string): [string, unknown][] {
  return [
    ['the key and a newline', `${key}\n`],
    ['the key and a space', `${key} `],
    ['a space and the key', ` ${key}`],
    ['the key cut to 42 characters', key.slice(0, 42)],
    ['the key and one more character', `${key}A`],
    ['the key and a NUL', `${key}\u0000`],
    ['an object whose toString() is the key', { toString: () => key }],
    ['an array holding the key', [key]],
    ['a number', 42],
    ['undefined', undefined],
    ['null', null],
  ];
}

export const hostileIdCheck: SessionStoreCheck = {
  id: 'hostile-ids',
  name: 'ids and subjects that are not 43 chars of [A-Za-z0-9_-] (../, *, quotes, NUL, __proto__, 10 000 chars, near misses of a live key, non-strings) read as missing or throw InvalidArgument; never a crash or a hit',
  async run(factory, options) {
    const clock = suiteClock(options);
    await withStore(factory, options, async (store) => {
      const keeper = makeRecord({ expiresAt: clock.now() + HOUR });
      await store.insert(keeper);
      const calls: [string, 'id' | 'subject', (x: string) => Promise<unknown>, unknown][] = [
        ['get', 'id', (x) => store.get(x), null],
        ['delete', 'id', (x) => store.delete(x), false],
        ['deleteBySubject', 'subject', (x) => store.deleteBySubject(x), 0],
        ['listBySubject', 'subject', (x) => store.listBySubject(x), 'empty'],
      ];
      for (const [method, key, call, missing] of calls) {
        const hostile: [string, unknown][] = [
          ...HOSTILE.map((h): [string, unknown] => [JSON.stringify(h.slice(0, 24)), h]),
          ...nearMisses(key === 'id' ? keeper.id : keeper.subject),
        ];
        for (const [shown, value] of hostile) {
          const result = await outcome(() => call(value as string));
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
