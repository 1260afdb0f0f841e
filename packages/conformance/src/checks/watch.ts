// SEC-32: the invalidation channel a near cache relies on
// (`SessionStore.watch`). Checked only for stores that have `watch`. Writes
// go through the sibling when the options give one (another instance of the
// fleet), and through the watching store itself (its own writes count too).
// Expiry is not announced by every store (PostgreSQL has no trigger for a
// row growing old) and core does not need it: a cached session's idle and
// absolute deadlines are checked against the clock on every hit.
import type {
  InvalidationChannel,
  InvalidationListener,
  SessionRecord,
  SessionStore,
} from '@cloakroom/core';
import { ensure, hasMethod, type SessionStoreCheck, suiteClock, withStorePair } from '../harness';
import { makeRecord, randomId, short, withFields } from '../records';
import type { SessionStoreSuiteOptions } from '../options';

const HOUR = 3_600_000;
/** How long a channel may take to become live after `watch` resolves. */
const LIVE_WITHIN_MS = 10_000;

interface Heard {
  readonly kind: 'invalidate' | 'reset';
  readonly id?: string;
  readonly at: number;
}

/** A listener that records what it hears, with the time, and never throws. */
class Recorder implements InvalidationListener {
  readonly heard: Heard[] = [];
  invalidate(id: string): void {
    this.heard.push({ kind: 'invalidate', id, at: performance.now() });
  }
  reset(): void {
    this.heard.push({ kind: 'reset', at: performance.now() });
  }
  /** The first invalidation of `id` (or reset) heard at or after index `from`. */
  find(id: string, from: number): Heard | undefined {
    return this.heard
      .slice(from)
      .find((h) => h.kind === 'reset' || (h.kind === 'invalidate' && h.id === id));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function untilLive(channel: InvalidationChannel): Promise<void> {
  const start = performance.now();
  while (!channel.live) {
    ensure(
      performance.now() - start < LIVE_WITHIN_MS,
      `watch() resolved but the channel did not become live within ${LIVE_WITHIN_MS} ms`,
    );
    await sleep(5);
  }
}

function checkBound(channel: InvalidationChannel): number {
  const bound = channel.boundMs;
  ensure(
    typeof bound === 'number' && Number.isFinite(bound) && bound > 0,
    `channel.boundMs must be a positive finite number of ms, got ${String(bound)}`,
  );
  return bound;
}

/**
 * Runs `fn` with the store watching (and live) and the writers to try: the
 * sibling when there is one, then the store itself. Nothing to check for a
 * store without `watch`.
 */
async function withChannel(
  factory: Parameters<SessionStoreCheck['run']>[0],
  options: SessionStoreSuiteOptions,
  fn: (ctx: {
    store: SessionStore;
    writers: { name: string; store: SessionStore }[];
    channel: InvalidationChannel;
    heard: Recorder;
    bound: number;
  }) => Promise<void>,
): Promise<void> {
  await withStorePair(factory, options, async (store, other) => {
    if (!hasMethod(store, 'watch', options)) return;
    const heard = new Recorder();
    const channel = await store.watch(heard);
    try {
      await untilLive(channel);
      const bound = checkBound(channel);
      const writers =
        other === store
          ? [{ name: 'the watching store', store }]
          : [
              { name: 'a second instance (sibling)', store: other },
              { name: 'the watching store', store },
            ];
      await fn({ store, writers, channel, heard, bound });
    } finally {
      await channel.close();
    }
  });
}

/**
 * Performs `write` (after the watching store read `id`, as a near cache
 * does before it caches), then requires `invalidate(id)` or `reset` within
 * the bound, measured from the moment the write was acknowledged.
 */
async function expectInvalidation(
  what: string,
  ctx: { store: SessionStore; channel: InvalidationChannel; heard: Recorder; bound: number },
  options: SessionStoreSuiteOptions,
  ids: readonly string[],
  write: () => Promise<unknown>,
): Promise<void> {
  for (const id of ids) await ctx.store.get(id);
  const from = ctx.heard.heard.length;
  await write();
  const acknowledged = performance.now();
  const slack = options.invalidationSlackMs ?? 0;
  const deadline = acknowledged + ctx.bound + slack;
  for (const id of ids) {
    let found = ctx.heard.find(id, from);
    while (found === undefined && performance.now() < deadline + 1000) {
      await sleep(1);
      found = ctx.heard.find(id, from);
    }
    ensure(
      found !== undefined,
      `${what}: no invalidate(${short(id)}) nor reset within ${ctx.bound} ms (boundMs) + 1 s`,
    );
    const late = found.at - acknowledged;
    ensure(
      late <= ctx.bound + slack,
      `${what}: invalidate(${short(id)}) arrived ${late.toFixed(1)} ms after the write was acknowledged, over boundMs ${ctx.bound}${slack ? ` + slack ${slack}` : ''}`,
    );
  }
  ensure(ctx.channel.live, `${what}: the channel stopped being live`);
}

export const watchWritesCheck: SessionStoreCheck = {
  id: 'watch-writes',
  name: 'SEC-32 watch: replace, rotate (old and new id), delete and an insertWithLimit eviction, by another instance or this one, reach invalidate(id) within boundMs',
  async run(factory, options) {
    const clock = suiteClock(options);
    await withChannel(factory, options, async (ctx) => {
      for (const writer of ctx.writers) {
        const w = writer.store;
        const r = makeRecord({ expiresAt: clock.now() + HOUR });
        await w.insert(r);
        await expectInvalidation(`replace by ${writer.name}`, ctx, options, [r.id], async () =>
          ensure((await w.replace(withFields(r, { version: 2 }), 1)) === true, 'replace failed'),
        );
        const next = makeRecord({ subject: r.subject, expiresAt: clock.now() + HOUR });
        await expectInvalidation(`rotate by ${writer.name}`, ctx, options, [r.id], async () =>
          ensure(
            (await w.rotate(
              { record: withFields(r, { version: 3 }), expectedVersion: 2 },
              next,
            )) === true,
            'rotate failed',
          ),
        );
        await expectInvalidation(`delete by ${writer.name}`, ctx, options, [next.id], async () =>
          ensure((await w.delete(next.id)) === true, 'delete failed'),
        );
        const insertWithLimit = w.insertWithLimit;
        if (typeof insertWithLimit !== 'function') continue;
        // An evicted session must stop resolving from every near cache at once.
        const seated = makeRecord({ expiresAt: clock.now() + HOUR });
        await w.insert(seated);
        await clock.until(clock.now() + 1); // seats taken 1 ms apart on the store's clock
        const newcomer = makeRecord({ subject: seated.subject, expiresAt: clock.now() + HOUR });
        await expectInvalidation(
          `an insertWithLimit eviction by ${writer.name}`,
          ctx,
          options,
          [seated.id],
          async () => {
            const answer = await insertWithLimit.call(w, newcomer, { max: 1, evict: 'oldest' });
            ensure(
              answer?.inserted === true && answer.evicted?.[0] === seated.id,
              'insertWithLimit at max 1 (oldest) did not evict the seated record',
            );
          },
        );
      }
    });
  },
  timeoutMs: () => 60_000,
};

export const watchSubjectCheck: SessionStoreCheck = {
  id: 'watch-subject',
  name: 'SEC-32 watch: deleteBySubject reaches invalidate(id) for every deleted record, or reset, within boundMs',
  async run(factory, options) {
    const clock = suiteClock(options);
    await withChannel(factory, options, async (ctx) => {
      for (const writer of ctx.writers) {
        const subject = randomId();
        const records: SessionRecord[] = [];
        for (let i = 0; i < 3; i++) {
          const r = makeRecord({ subject, expiresAt: clock.now() + HOUR });
          await writer.store.insert(r);
          records.push(r);
        }
        await expectInvalidation(
          `deleteBySubject by ${writer.name}`,
          ctx,
          options,
          records.map((r) => r.id),
          async () =>
            ensure((await writer.store.deleteBySubject(subject)) === 3, 'deleteBySubject failed'),
        );
      }
    });
  },
  timeoutMs: () => 60_000,
};

export const watchCloseCheck: SessionStoreCheck = {
  id: 'watch-close',
  name: 'SEC-32 watch: live is false after channel.close() (idempotent) and after store.close()',
  async run(factory, options) {
    await withStorePair(factory, options, async (store) => {
      if (!hasMethod(store, 'watch', options)) return;
      const first = await store.watch(new Recorder());
      await untilLive(first);
      await first.close();
      ensure(first.live === false, 'live is still true after channel.close()');
      await first.close();
      ensure(first.live === false, 'live is true after a second close()');
      const second = await store.watch(new Recorder());
      await untilLive(second);
      await store.close();
      ensure(second.live === false, 'live is still true after store.close()');
      await second.close();
    });
  },
};
