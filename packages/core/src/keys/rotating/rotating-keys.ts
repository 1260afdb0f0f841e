import { ConfigInvalid, InvalidArgument, KeyNotFound } from '../../errors';
import type {
  KeyProvider,
  KeySnapshot,
  PublicJwk,
  SigningKey,
  StorageKeyRing,
  VerifyKey,
} from '../../contracts/keys';
import { type MasterKeyInput, toMasterKey } from './master-key';
import { type RotatingKeysOptions, type RotatingSchedule, resolveRotatingOptions } from './options';
import { type KeyFactory, cryptoKeyFactory, disableKey, rotateKind } from './plan';
import type { KeySetStatus, KeyStatus } from './status';
import { type Change, createKeySetSync } from './sync';

/**
 * A {@link KeyProvider} whose keys rotate, shared by a fleet through a
 * `KeySetStore`, plus the operator's methods. Returned by {@link rotatingKeys}.
 *
 * @example
 * ```ts
 * await keys.rotate('storage');                  // pending now, primary after storage.publishAhead
 * const { storage } = await keys.status();       // ids, states, timestamps, seal counts
 * await keys.compromise(leakedKid);              // disabled at once; a primary is replaced at once
 * ```
 */
export interface RotatingKeyProvider extends KeyProvider {
  readonly name: 'rotating';
  /** The timings in force (no secrets); `jwksHeaders(keys.schedule)` derives a safe cache lifetime. */
  readonly schedule: RotatingSchedule;
  /**
   * The cached key set's keys (`undefined` until the first load, or while
   * it has no primary signing or storage key). Like every other read, it
   * starts a background refresh when one is due and answers from the cache.
   */
  snapshot(): KeySnapshot | undefined;
  /**
   * Called by the cipher when a sealed payload names a storage key id this
   * instance does not know: re-reads the document (at most once per second
   * across unknown ids), so a key another instance just created is found.
   */
  onUnknownKey(keyId: string): Promise<void>;
  /**
   * Start a rotation: a new key, pending for the pre-publish window, then
   * primary. When a successor is already pending (scheduled, or created by
   * another instance racing this call) that one is returned and nothing is written.
   */
  rotate(kind: 'signing' | 'storage'): Promise<KeyStatus>;
  /**
   * Emergency: disable a signing or storage key now and destroy its material.
   * Tokens signed and sessions sealed under it stop resolving on this
   * instance at once, on others at their next refresh. A primary key is
   * replaced at once (its pending successor is promoted, or a new key is made).
   */
  compromise(id: string): Promise<KeySetStatus>;
  /** Routine: disable a retired or pending key (e.g. a storage key after `rewrap`). Refuses a primary. */
  disable(id: string): Promise<KeySetStatus>;
  /** Re-read the shared document now, run due rotations, and return the status. Throws on failure. */
  refresh(): Promise<KeySetStatus>;
  /** Ids, states and timestamps of every key: never key material. */
  status(): Promise<KeySetStatus>;
  /**
   * Re-seal the document under a new master key; keys and sessions are
   * untouched. Other instances need the new key (as `masterKey`, or in
   * `previousMasterKeys` during a rollout) to read the document from now on;
   * until restarted they keep serving from their cached key set and report
   * the failure in `status().lastError` (see the key rotation runbook).
   */
  rotateMasterKey(next: MasterKeyInput): Promise<KeySetStatus>;
}

const KID = /^[A-Za-z0-9_-]{43}$/;
const STORAGE_ID = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * A {@link KeyProvider} over a key-set document shared in a `KeySetStore`,
 * sealed (AES-256-GCM) under a master key so the store never holds raw key
 * bytes (SEC-15). Signing and storage keys move through pending → primary →
 * retired → destroyed by timestamps in the document, so every instance agrees
 * on states without talking to the others; changes are written by
 * compare-and-swap, and an instance that loses re-reads and re-checks.
 *
 * Hot path: `signingKey`, `verificationKey`, `storageKeys`, `indexKey` and
 * `jwks` answer from the cached, decoded document. The first call loads it;
 * after `refreshEvery` the next call starts one background refresh (never
 * more than one in flight) and still answers from the cache. An unknown kid
 * or storage key id triggers one refresh, rate-limited to one per second;
 * `verificationKey` returns `undefined` for any other text (`__proto__`,
 * 10 KB strings) without touching the store.
 * A refresh that fails (store down, document sealed under a master key this
 * instance lacks) leaves the cache in force and shows in `status().lastError`.
 *
 * Rotation by age (`rotateEvery`) and, for storage keys, by use (`maxSeals`,
 * SEC-11): each process counts its seals and adds them to the document's
 * fleet total when the count reaches 1/256 of `maxSeals` or would cross it.
 *
 * @throws ConfigInvalid for invalid options (see {@link RotatingKeysOptions}).
 * @example
 * ```ts
 * import { createCloakroom, rotatingKeys } from '@cloakroom/core';
 * import { createPostgresKeySetStore } from '@cloakroom/store-postgres';
 *
 * const keys = rotatingKeys({
 *   store: createPostgresKeySetStore({ pool }),
 *   masterKey: process.env.CLOAKROOM_MASTER_KEY!, // 32 bytes, base64url
 *   signing: { rotateEvery: 30 * 86_400_000 },
 * });
 * const cloakroom = createCloakroom({ store, keys, issuer, audience });
 * ```
 */
export function rotatingKeys(options: RotatingKeysOptions): RotatingKeyProvider {
  return createRotatingKeys(options, cryptoKeyFactory);
}

/** {@link rotatingKeys} with an injectable key factory. Internal (tests). */
export function createRotatingKeys(
  options: RotatingKeysOptions,
  factory: KeyFactory,
): RotatingKeyProvider {
  const opts = resolveRotatingOptions(options);
  const { schedule } = opts;
  const name = schedule.name;
  const sync = createKeySetSync(opts, factory);
  const { ready, viewNow, currentView, lookAgain, status } = sync;
  const disabling =
    (id: string, routine: boolean): Change<void> =>
    async (doc, now) => {
      const next = await disableKey(doc, String(id), now, schedule, factory, routine);
      return { ...(next === undefined ? {} : { doc: next }), result: undefined };
    };

  return Object.freeze({
    name: 'rotating' as const,
    schedule,
    async signingKey(): Promise<SigningKey> {
      const key = (await ready()).signing;
      if (key === undefined) throw new KeyNotFound(`key set "${name}" has no primary signing key`);
      return key;
    },
    async verificationKey(kid: string): Promise<VerifyKey | undefined> {
      if (typeof kid !== 'string' || kid.length > 256) return undefined;
      const found = (await ready()).verify.get(kid);
      if (found !== undefined || !KID.test(kid)) return found;
      return (await lookAgain(kid)) ? currentView().verify.get(kid) : undefined;
    },
    async storageKeys(): Promise<StorageKeyRing> {
      const ring = (await ready()).ring;
      if (ring === undefined) throw new KeyNotFound(`key set "${name}" has no primary storage key`);
      return ring;
    },
    snapshot(): KeySnapshot | undefined {
      return viewNow()?.snapshot;
    },
    async indexKey(): Promise<Uint8Array> {
      await ready();
      // A copy: a caller that scribbles on it cannot change later HMACs.
      return new Uint8Array(sync.index());
    },
    async jwks(): Promise<{ keys: PublicJwk[] }> {
      return { keys: [...(await ready()).jwks] };
    },
    async onUnknownKey(keyId: string): Promise<void> {
      if (typeof keyId !== 'string' || !STORAGE_ID.test(keyId)) return;
      await ready();
      await lookAgain(keyId);
    },
    async rotate(kind: 'signing' | 'storage'): Promise<KeyStatus> {
      if (kind !== 'signing' && kind !== 'storage') {
        throw new InvalidArgument("rotate: kind must be 'signing' or 'storage'");
      }
      const id = await sync.run(async (doc, now) => {
        const r = await rotateKind(doc, kind, now, schedule, factory);
        return { ...(r.doc === undefined ? {} : { doc: r.doc }), result: r.id };
      });
      const s = await status();
      return s[kind].find((k) => k.id === id) as KeyStatus;
    },
    async compromise(id: string): Promise<KeySetStatus> {
      await sync.run(disabling(id, false));
      return status();
    },
    async disable(id: string): Promise<KeySetStatus> {
      await sync.run(disabling(id, true));
      return status();
    },
    async refresh(): Promise<KeySetStatus> {
      await sync.run(async () => ({ result: undefined }));
      return status();
    },
    status,
    async rotateMasterKey(next: MasterKeyInput): Promise<KeySetStatus> {
      const key = toMasterKey(next, 'new master key');
      if (key.id === sync.master().id) {
        throw new ConfigInvalid('the new master key is the current one');
      }
      await sync.run(async () => ({ result: undefined }), key);
      return status();
    },
  });
}
