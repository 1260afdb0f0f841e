import type { SessionStore } from '@cloakroom/core';
import type { OptionalStoreMethod, SessionStoreFactory, SessionStoreSuiteOptions } from './options';

/**
 * One conformance check, callable on its own (that is how the suite's own
 * tests prove each check fails against a broken store). `run` resolves when
 * the subject conforms and rejects with a readable error when it does not.
 *
 * @example
 * ```ts
 * for (const check of sessionStoreChecks) await check.run(factory, options);
 * ```
 */
export interface ConformanceCheck<Factory, Options> {
  /** Stable short identifier (e.g. `'concurrent-replace'`), for selecting a check in code. */
  readonly id: string;
  /** Test title; names the requirement it proves. */
  readonly name: string;
  /** Whether the check applies with these options (e.g. at-rest needs `inspect`). */
  readonly appliesTo?: (options: Options) => boolean;
  /** Per-check time limit for the test runner, in ms. */
  readonly timeoutMs?: (options: Options) => number;
  /** Runs the check; rejects on the first violation. */
  readonly run: (factory: Factory, options: Options) => Promise<void>;
}

/**
 * A check of the session-store suite.
 * @example
 * ```ts
 * const atRest: SessionStoreCheck = sessionStoreChecks.find((c) => c.id === 'at-rest')!;
 * ```
 */
export type SessionStoreCheck = ConformanceCheck<SessionStoreFactory, SessionStoreSuiteOptions>;

/**
 * A violation found by the suite. Messages hold shortened ids and sizes, never payload bytes.
 * @example
 * ```ts
 * await check.run(factory, options).catch((err) => {
 *   if (err instanceof ConformanceFailure) console.error(err.message);
 * });
 * ```
 */
export class ConformanceFailure extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ConformanceFailure';
  }
}

/** Throws a {@link ConformanceFailure} unless `condition` holds. */
export function ensure(condition: unknown, message: string | (() => string)): asserts condition {
  if (!condition) throw new ConformanceFailure(typeof message === 'string' ? message : message());
}

/**
 * An error a store method threw where the check expected an answer is the
 * store's failure, reported as one (with the error as `cause`); a failure of
 * the factory itself stays as it is, so a crash in setup is never mistaken
 * for a verdict.
 */
export function asVerdict(err: unknown): unknown {
  if (err instanceof ConformanceFailure) return err;
  // A property that failed (fast-check) already explains itself: seed, path, counterexample.
  if (err instanceof Error && err.message.startsWith('Property failed')) {
    return new ConformanceFailure(err.message, { cause: err });
  }
  const code = (err as { code?: unknown } | null)?.code;
  const what =
    err instanceof Error
      ? `${err.name}${typeof code === 'string' ? ` (${code})` : ''}`
      : typeof err;
  return new ConformanceFailure(`the store threw ${what} where the check expected an answer`, {
    cause: err,
  });
}

/**
 * The check with its verdicts made uniform: whatever the subject (or a
 * property run over it) throws becomes a {@link ConformanceFailure}, while an
 * error thrown by the factory itself is passed through untouched, so a crash in
 * setup is never mistaken for a finding.
 */
export function judged<F extends (...args: never[]) => unknown, O>(
  checks: readonly ConformanceCheck<F, O>[],
): ConformanceCheck<F, O>[] {
  return checks.map((check) => ({
    ...check,
    async run(factory, options) {
      const fromSetup = new WeakSet<object>();
      const guarded = (async (...args: never[]) => {
        try {
          return await factory(...args);
        } catch (err) {
          if (typeof err === 'object' && err !== null) fromSetup.add(err);
          throw err;
        }
      }) as unknown as F;
      try {
        await check.run(guarded, options);
      } catch (err) {
        if (typeof err === 'object' && err !== null && fromSetup.has(err)) throw err;
        throw asVerdict(err);
      }
    },
  }));
}

/** Builds a store, runs `fn`, then closes and cleans up, reporting the first error. */
export async function withStore<T>(
  factory: SessionStoreFactory,
  options: SessionStoreSuiteOptions,
  fn: (store: SessionStore) => Promise<T>,
): Promise<T> {
  const store = await factory();
  let result: T;
  try {
    result = await fn(store);
  } catch (err) {
    // The check's own failure is the one worth reporting; teardown errors
    // after it would only hide it.
    await teardown(store, options).catch(() => undefined);
    throw asVerdict(err);
  }
  await teardown(store, options);
  return result;
}

/**
 * Like {@link withStore}, with a second handle on the same data: the
 * `sibling` store when the options give one (another connection or process
 * view), else the store itself. Concurrency checks split their calls across
 * the two, so a shared store proves its atomicity across instances.
 */
export async function withStorePair<T>(
  factory: SessionStoreFactory,
  options: SessionStoreSuiteOptions,
  fn: (store: SessionStore, other: SessionStore) => Promise<T>,
): Promise<T> {
  const makeSibling = options.sibling;
  if (!makeSibling) return withStore(factory, options, (store) => fn(store, store));
  return withStore(factory, options, async (store) => {
    const other = await makeSibling(store);
    let result: T;
    try {
      result = await fn(store, other);
    } catch (err) {
      await other.close().catch(() => undefined);
      throw err;
    }
    await other.close();
    return result;
  });
}

async function teardown(store: SessionStore, options: SessionStoreSuiteOptions): Promise<void> {
  try {
    await store.close();
  } catch (err) {
    // close() is idempotent by contract, and the check may have closed the store already.
    throw asVerdict(err);
  }
  if (options.cleanup) await options.cleanup(store);
}

/**
 * True when the store has this optional method, so its checks have something
 * to check; false when it lacks it, unless the options list it in
 * `requiredMethods`, which makes its absence a {@link ConformanceFailure}.
 */
export function hasMethod<M extends OptionalStoreMethod>(
  store: SessionStore,
  method: M,
  options: SessionStoreSuiteOptions,
): store is SessionStore & Required<Pick<SessionStore, M>> {
  if (typeof store[method] === 'function') return true;
  ensure(
    !options.requiredMethods?.includes(method),
    `requiredMethods lists ${method}, but the store has no ${method} method`,
  );
  return false;
}

/** The store's clock as the suite sees it. */
export interface SuiteClock {
  /** True when the suite moves the store's clock itself (`advanceTime`). */
  readonly virtual: boolean;
  /** Current time on the store's clock. */
  now(): number;
  /** Moves (virtual) or waits (real) until the store's clock reads at least `t`. */
  until(t: number): Promise<void>;
}

const MAX_REAL_WAIT_MS = 10_000;

/** The clock described by the options: virtual with `advanceTime`, else real time. */
export function suiteClock(options: SessionStoreSuiteOptions): SuiteClock {
  const now = options.now ?? Date.now;
  const advance = options.advanceTime;
  if (advance) {
    return {
      virtual: true,
      now,
      async until(t) {
        const d = t - now();
        if (d > 0) await advance(d);
        ensure(
          now() >= t,
          `advanceTime(${d}) did not move the store's clock (check the now option)`,
        );
      },
    };
  }
  return {
    virtual: false,
    now,
    async until(t) {
      ensure(t - now() <= MAX_REAL_WAIT_MS, 'suite bug: real-time wait too long');
      for (;;) {
        const d = t - now();
        if (d <= 0) return;
        await sleep(Math.min(d, 25));
      }
    },
  };
}

/** Expiry tolerance in ms (>= 1). */
export function granularity(options: SessionStoreSuiteOptions): number {
  return Math.max(1, Math.ceil(options.expiryGranularityMs ?? 1));
}

/** What {@link bounded} resolves with when the call did not settle in time. */
export const TIMED_OUT = Symbol('timed out');

/** Settles with the call's outcome, or {@link TIMED_OUT} once `ms` has passed. */
export async function bounded<T>(
  fn: () => Promise<T>,
  ms: number,
): Promise<{ ok: true; value: T } | { ok: false; error: unknown } | typeof TIMED_OUT> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<typeof TIMED_OUT>((resolve) => {
    timer = setTimeout(() => resolve(TIMED_OUT), ms);
  });
  try {
    const settled = Promise.resolve()
      .then(fn)
      .then(
        (value) => ({ ok: true as const, value }),
        (error: unknown) => ({ ok: false as const, error }),
      );
    return await Promise.race([settled, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Resolves after `ms` of real time. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** fast-check run count: env `CLOAKROOM_CONFORMANCE_RUNS` beats the option, which beats 25. */
export function runCount(numRuns: number | undefined): number {
  const env = Number(process.env.CLOAKROOM_CONFORMANCE_RUNS);
  if (Number.isInteger(env) && env > 0) return env;
  return numRuns ?? 25;
}

/** Replay parameters from `CLOAKROOM_CONFORMANCE_SEED` / `CLOAKROOM_CONFORMANCE_PATH`. */
export function replayParameters(): { seed?: number; path?: string } {
  const seed = Number(process.env.CLOAKROOM_CONFORMANCE_SEED);
  const path = process.env.CLOAKROOM_CONFORMANCE_PATH;
  return {
    ...(process.env.CLOAKROOM_CONFORMANCE_SEED && Number.isInteger(seed) ? { seed } : {}),
    ...(path ? { path } : {}),
  };
}

/** True when a caller-client fixture's probe says its client works; a rejecting probe means it does not. */
export async function clientUsable(fixture: {
  clientUsable: () => Promise<boolean>;
}): Promise<boolean> {
  try {
    return (await fixture.clientUsable()) === true;
  } catch {
    return false;
  }
}
