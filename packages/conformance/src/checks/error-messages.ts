import type { ScanOptions, SessionRecord, SessionStore, SubjectLimit } from '@cloakroom/core';
import {
  bounded,
  ensure,
  type SessionStoreCheck,
  suiteClock,
  TIMED_OUT,
  withStore,
} from '../harness';
import { expectNoPayloadIn, markedPayload } from '../leaks';
import { makeRecord, outcome, withFields } from '../records';
import { everyMethod } from './closed';

const HOUR = 3_600_000;

/**
 * Runs `call`, requires it to fail (with `code` when given) and searches the
 * error and its cause chain for any of `payloads`. A call that may legitimately
 * succeed (a malformed id read as missing) passes `mayAnswer`.
 */
async function provoke(
  payloads: readonly Uint8Array[],
  context: string,
  call: () => Promise<unknown>,
  want: { code?: string; mayAnswer?: boolean } = {},
): Promise<void> {
  const result = await outcome(call);
  if (result.ok) {
    ensure(want.mayAnswer === true, `${context}: expected an error, the call returned`);
    return;
  }
  if (want.code !== undefined) {
    const code = (result.error as { code?: unknown } | null)?.code;
    ensure(code === want.code, () => `${context}: expected ${want.code}, got ${String(code)}`);
  }
  expectNoPayloadIn(result.error, payloads, context);
}

/** A record with a recognisable payload, remembered so every later error is searched for it. */
function marked(payloads: Uint8Array[], fields: Partial<SessionRecord> & { expiresAt: number }) {
  const payload = markedPayload();
  payloads.push(payload);
  return makeRecord({ ...fields, payload });
}

export const errorMessagesCheck: SessionStoreCheck = {
  id: 'error-messages',
  name: 'SEC-27 no error message holds payload bytes (text, hex, base64, base64url, byte lists), cause chains included: conflicts, invalid arguments, a closed store, an unreachable backend',
  timeoutMs: (options) => (options.unreachableTimeoutMs ?? 5_000) * 2 + 30_000,
  async run(factory, options) {
    const clock = suiteClock(options);
    const payloads: Uint8Array[] = [];
    const exp = () => clock.now() + HOUR;
    await withStore(factory, options, async (store) => {
      const a = marked(payloads, { expiresAt: exp() });
      const b = marked(payloads, { expiresAt: exp() });
      await store.insert(a);
      await store.insert(b);
      const conflict = 'ERR_STORE_CONFLICT';
      const invalid = 'ERR_INVALID_ARGUMENT';
      await provoke(
        payloads,
        'insert of a live id',
        () => store.insert(marked(payloads, { id: a.id, expiresAt: exp() })),
        { code: conflict },
      );
      await provoke(
        payloads,
        'rotate into a live id',
        () =>
          store.rotate(
            { record: withFields(a, { version: 2, payload: markedPayload() }), expectedVersion: 1 },
            marked(payloads, { id: b.id, expiresAt: exp() }),
          ),
        { code: conflict },
      );
      const insertWithLimit = store.insertWithLimit;
      if (typeof insertWithLimit === 'function') {
        const limited = (record: SessionRecord, limit: unknown) => () =>
          insertWithLimit.call(store, record, limit as SubjectLimit);
        await provoke(
          payloads,
          'insertWithLimit of a live id',
          // Room to spare, so only the id is in the way.
          limited(marked(payloads, { id: b.id, subject: b.subject, expiresAt: exp() }), {
            max: 10,
            evict: 'oldest',
          }),
          { code: conflict },
        );
        await provoke(
          payloads,
          'insertWithLimit with max 0',
          limited(marked(payloads, { expiresAt: exp() }), { max: 0, evict: 'oldest' }),
          { code: invalid },
        );
        await provoke(
          payloads,
          'insertWithLimit of a record with a malformed id',
          limited(
            { ...marked(payloads, { expiresAt: exp() }), id: `${a.id.slice(0, 42)}/` },
            { max: 1, evict: 'oldest' },
          ),
          { code: invalid },
        );
      }
      const badId = { id: `${a.id.slice(0, 42)}/` };
      const badVersion = { version: 0 };
      for (const [what, fields] of [
        ['a malformed id', badId],
        ['version 0', badVersion],
      ] as const) {
        const bad = { ...marked(payloads, { expiresAt: exp() }), ...fields };
        await provoke(payloads, `insert of a record with ${what}`, () => store.insert(bad), {
          code: invalid,
        });
        await provoke(payloads, `replace with a record with ${what}`, () => store.replace(bad, 1), {
          code: invalid,
        });
        await provoke(
          payloads,
          `rotate into a record with ${what}`,
          () => store.rotate({ record: withFields(a, { version: 2 }), expectedVersion: 1 }, bad),
          { code: invalid },
        );
        await provoke(
          payloads,
          `rotate of an old record with ${what}`,
          () =>
            store.rotate(
              { record: bad, expectedVersion: 1 },
              marked(payloads, { expiresAt: exp() }),
            ),
          { code: invalid },
        );
      }
      const notAKey = `${a.id}\u0000`;
      for (const [method, call] of [
        ['get', () => store.get(notAKey)],
        ['delete', () => store.delete(notAKey)],
        ['deleteBySubject', () => store.deleteBySubject(notAKey)],
        ['listBySubject', () => store.listBySubject(notAKey)],
      ] as const) {
        await provoke(payloads, `${method} of a malformed id`, call, { mayAnswer: true });
      }
      await provoke(payloads, 'scan with limit 0', () => store.scan({ limit: 0 }), {
        code: invalid,
      });
      await provoke(
        payloads,
        'scan with a made-up cursor',
        () => store.scan({ cursor: 'forged', limit: 2 } as ScanOptions),
        { code: invalid },
      );

      await store.close();
      const fresh = marked(payloads, { expiresAt: exp() });
      for (const [method, call] of everyMethod(store, a, fresh, clock.now())) {
        await provoke(payloads, `${method} after close()`, call, { code: 'ERR_CLOSED' });
      }
    });

    const unreachable = options.unreachable;
    if (!unreachable) return;
    const down: SessionStore = await unreachable();
    try {
      const live = marked(payloads, { expiresAt: exp() });
      const fresh = marked(payloads, { expiresAt: exp() });
      const calls = everyMethod(down, live, fresh, clock.now());
      const bound = options.unreachableTimeoutMs ?? 5_000;
      // In parallel: each call may wait out the store's own timeout. A call that
      // hangs is the unreachable check's finding; this one only reads messages.
      const results = await Promise.all(calls.map(([, call]) => bounded(call, bound)));
      results.forEach((result, i) => {
        if (result === TIMED_OUT || result.ok) return;
        expectNoPayloadIn(result.error, payloads, `${calls[i]![0]} on an unreachable backend`);
      });
    } finally {
      await bounded(() => down.close(), options.unreachableTimeoutMs ?? 5_000);
    }
  },
};
