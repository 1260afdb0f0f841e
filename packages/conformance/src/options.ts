import type { Cipher, KeySetStore, SessionStore } from '@cloakroom/core';

/**
 * Builds a fresh, empty store. Called once per check (and once per model run).
 * @example
 * ```ts
 * const factory: SessionStoreFactory = () => createMyStore({ prefix: `t${randomUUID()}:` });
 * ```
 */
export type SessionStoreFactory = () => SessionStore | Promise<SessionStore>;

/**
 * Builds a fresh key-set store with no documents in it.
 * @example
 * ```ts
 * const factory: KeySetStoreFactory = () => createMyKeySets({ prefix: `t${randomUUID()}:` });
 * ```
 */
export type KeySetStoreFactory = () => KeySetStore | Promise<KeySetStore>;

/**
 * Builds a cipher; every call must give one that opens what the others sealed
 * (same keys), which is how the suite checks instances agree.
 * @example
 * ```ts
 * const factory: CipherFactory = () => createAesGcmCipher({ keys });
 * ```
 */
export type CipherFactory = () => Cipher | Promise<Cipher>;

/**
 * A store built over a client the test owns (a connection, pool or database
 * handle passed in through the store's options), with a probe of that client.
 * The suite closes the store (twice) and then requires `clientUsable()` to
 * resolve `true`: a store never closes a client the caller passed in. It then
 * calls `release()` and requires `clientUsable()` to answer `false` (or
 * reject), which proves the probe can tell a closed client from an open one.
 *
 * @example
 * ```ts
 * import type { CallerClientFixture } from '@cloakroom/conformance';
 * import type { SessionStore } from '@cloakroom/core';
 * interface Client { ping(): Promise<string>; quit(): Promise<unknown> }
 * declare function connect(): Promise<Client>;
 * declare function createMyStore(options: { client: Client }): SessionStore;
 *
 * const callerClient = async (): Promise<CallerClientFixture<SessionStore>> => {
 *   const client = await connect();
 *   return {
 *     store: createMyStore({ client }),
 *     clientUsable: async () => (await client.ping()) === 'PONG',
 *     release: async () => {
 *       await client.quit();
 *     },
 *   };
 * };
 * ```
 */
export interface CallerClientFixture<Store> {
  /** A fresh, empty store built over the test's own client. */
  readonly store: Store;
  /** Resolves `true` while the test's client still works; `false` or a rejection once it does not. */
  readonly clientUsable: () => Promise<boolean>;
  /** Closes the test's client (the suite calls it last, after `cleanup`). */
  readonly release: () => Promise<void>;
}

/**
 * An optional {@link SessionStore} method that has checks of its own. They run
 * when the store has the method and have nothing to check when it does not,
 * unless {@link SessionStoreSuiteOptions.requiredMethods} lists it.
 * @example
 * ```ts
 * const required: OptionalStoreMethod[] = ['insertWithLimit', 'watch'];
 * ```
 */
export type OptionalStoreMethod = 'insertWithLimit' | 'watch';

/**
 * What the session-store suite needs to know about the store under test.
 * Every field is optional; the defaults suit a store on a real clock with
 * millisecond expiry.
 *
 * @example
 * ```ts
 * const clock = { t: Date.now() };
 * describeSessionStore('my-store', () => createMyStore({ now: () => clock.t }), {
 *   now: () => clock.t,
 *   advanceTime: (ms) => { clock.t += ms; },
 *   inspect: async (store) => dumpEverything(),
 *   unreachable: () => createMyStore({ url: 'mydb://127.0.0.1:1' }),
 * });
 * ```
 */
export interface SessionStoreSuiteOptions {
  /**
   * Runs after each check, after the suite has called `store.close()`: drop
   * the table, key prefix or directory the factory created. Not called for
   * the `unreachable` store.
   */
  readonly cleanup?: (store: SessionStore) => Promise<void>;
  /**
   * How coarse the backend's expiry is, in ms. The suite requires a record
   * to be returned while `now <= expiresAt - g` and to be gone once
   * `now >= expiresAt + g - 1`; with the default 1 that is exactly "alive
   * before `expiresAt`, dead from `expiresAt` on".
   * @default 1
   */
  readonly expiryGranularityMs?: number;
  /**
   * Advances the clock the store reads (for stores built with an injectable
   * clock). When given, the suite moves time with it, lands exactly on
   * expiry boundaries and adds clock steps to the model test; give `now` too.
   * When absent the suite waits real time, a few short waits in all.
   */
  readonly advanceTime?: (ms: number) => void | Promise<void>;
  /**
   * Reads the clock the store uses (epoch ms). Give it with `advanceTime`.
   * @default Date.now
   */
  readonly now?: () => number;
  /**
   * Dumps every key, value, row or file the backend holds for this store,
   * read from the backend directly (never through the store). Enables the
   * SEC-02 at-rest check.
   */
  readonly inspect?: (store: SessionStore) => Promise<ReadonlyArray<Uint8Array | string>>;
  /**
   * Builds a store pointed at a backend that cannot be reached (closed port,
   * missing host). Enables the check that every method throws
   * `StoreUnavailable` within `unreachableTimeoutMs`.
   */
  readonly unreachable?: SessionStoreFactory;
  /**
   * Bound on how long a call to an unreachable backend may take to throw.
   * @default 5000
   */
  readonly unreachableTimeoutMs?: number;
  /**
   * fast-check runs for the model-based test. The environment variable
   * `CLOAKROOM_CONFORMANCE_RUNS` overrides it (for longer CI runs);
   * `CLOAKROOM_CONFORMANCE_SEED` (and `CLOAKROOM_CONFORMANCE_PATH`) replay a
   * reported failure.
   * @default 25
   */
  readonly numRuns?: number;
  /**
   * Builds a second store over the same data as `store` (another connection,
   * client or process view), for stores that declare `shared: true`. The
   * concurrency and scan checks then split their calls across the two, so
   * atomicity is proven across instances, not just within one. Closed by the
   * suite before `store`.
   */
  readonly sibling?: (store: SessionStore) => SessionStore | Promise<SessionStore>;
  /**
   * Number of parallel calls in the concurrency checks.
   * @default 20
   */
  readonly concurrency?: number;
  /**
   * For stores whose options accept a client the caller built (a Redis
   * client, a `pg` pool): builds a store over a client the test owns. Enables
   * the check that `close()` leaves that client usable. `cleanup` runs for
   * this store too, before `release`.
   */
  readonly callerClient?: () => Promise<CallerClientFixture<SessionStore>>;
  /**
   * For stores with `watch` (SEC-32): extra time, in ms, an invalidation may
   * take beyond the channel's own `boundMs` before the watch checks fail.
   * Keep it 0 to hold the store to its documented bound; raise it only on a
   * loaded CI machine, and say so.
   * @default 0
   */
  readonly invalidationSlackMs?: number;
  /**
   * Optional methods this store promises to have. Without this option the
   * checks of an optional method (`insertWithLimit`, `watch`) pass with
   * nothing to check when the store lacks it; a method listed here must be
   * there, or each of its checks fails. List what your store implements, so
   * it cannot lose a method unnoticed (core refuses `sessionLimit` over a
   * store without `insertWithLimit`, and a near cache over one without `watch`).
   * @default []
   */
  readonly requiredMethods?: readonly OptionalStoreMethod[];
}

/**
 * Options for {@link describeKeySetStore}.
 *
 * @example
 * ```ts
 * describeKeySetStore('my-key-sets', () => createMyKeySetStore(), { cleanup: dropAll });
 * ```
 */
export interface KeySetStoreSuiteOptions {
  /** Runs after each check (after `close()` when the store has one). */
  readonly cleanup?: (store: KeySetStore) => Promise<void>;
  /**
   * fast-check runs for the model-based test; `CLOAKROOM_CONFORMANCE_RUNS` overrides it.
   * @default 25
   */
  readonly numRuns?: number;
  /**
   * Number of parallel writes in the concurrency checks.
   * @default 20
   */
  readonly concurrency?: number;
  /**
   * Builds a key-set store pointed at a backend that cannot be reached.
   * Enables the check that `read` and `write` throw `StoreUnavailable` with
   * the driver error as `cause` within `unreachableTimeoutMs`, and that no
   * message holds document bytes.
   */
  readonly unreachable?: KeySetStoreFactory;
  /**
   * Bound on how long a call to an unreachable backend may take to throw.
   * @default 5000
   */
  readonly unreachableTimeoutMs?: number;
  /**
   * For key-set stores whose options accept a client the caller built: as
   * {@link SessionStoreSuiteOptions.callerClient}, enables the check that
   * `close()` leaves that client usable.
   */
  readonly callerClient?: () => Promise<CallerClientFixture<KeySetStore>>;
}

/**
 * Options for {@link describeCipher}.
 *
 * @example
 * ```ts
 * describeCipher('kms', () => createKmsCipher(client), { numRuns: 10 });
 * ```
 */
export interface CipherSuiteOptions {
  /**
   * fast-check runs for the property checks; `CLOAKROOM_CONFORMANCE_RUNS` overrides it.
   * @default 25
   */
  readonly numRuns?: number;
}
