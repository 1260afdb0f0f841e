import { ConfigInvalid, KeyNotFound, StoreConflict, isCloakroomError } from './errors';
import type { KeyProvider, PublicJwk, SigningKey, StorageKeyRing, VerifyKey } from './key-contract';
import {
  type DataKey,
  type KeySetDocument,
  newDataKey,
  openKeySetDocument,
  sealKeySetDocument,
} from './key-set-document';
import { type MasterKey, type MasterKeyInput, toMasterKey } from './rotating-master-key';
import {
  type RotatingKeysOptions,
  type RotatingSchedule,
  resolveRotatingOptions,
} from './rotating-options';
import {
  type KeyFactory,
  type KeyKind,
  createDocument,
  cryptoKeyFactory,
  disableKey,
  maintain,
  rotateKind,
} from './rotating-plan';
import { type KeySetStatus, type KeyStatus, describeKeys } from './rotating-status';
import { type KeyView, type Material, buildView, importMaterial } from './rotating-view';

/** A {@link KeyProvider} whose keys rotate, shared by a fleet through a `KeySetStore`. */
export interface RotatingKeyProvider extends KeyProvider {
  readonly name: 'rotating';
  /** The timings in force (no secrets); `jwksHeaders(keys.schedule)` derives a safe cache lifetime. */
  readonly schedule: RotatingSchedule;
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
  rotate(kind: KeyKind): Promise<KeyStatus>;
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

const MAX_ATTEMPTS = 8;
const UNKNOWN_REFRESH_MS = 1000;
const KID = /^[A-Za-z0-9_-]{43}$/;
const STORAGE_ID = /^[A-Za-z0-9_-]{1,64}$/;

interface Cached {
  readonly version: number;
  readonly doc: KeySetDocument;
  readonly material: Material;
  readonly dataKey: DataKey;
}

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
 * or storage key id triggers one refresh, rate-limited to one per second.
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
  const { store, clock, schedule } = opts;
  const name = schedule.name;
  let master: MasterKey = opts.masterKey;
  let accepted: readonly MasterKey[] = [master, ...opts.previousMasterKeys];
  let cache: Cached | undefined;
  let view: KeyView | undefined;
  let viewAt = 0;
  let loadedAt = 0;
  let attemptedAt = Number.NEGATIVE_INFINITY;
  let lastError: { code: string; message: string } | undefined;
  let unknownAt = Number.NEGATIVE_INFINITY;
  let inflight: Promise<void> | undefined;
  let chain: Promise<unknown> = Promise.resolve();
  let wantFlush = false;
  const unflushed = new Map<string, number>();
  const persisted = new Map<string, number>();
  const flushAt = Math.max(1, Math.ceil(schedule.maxSeals / 256));

  // Operations on the document run one at a time in this process, so usage
  // counts are never flushed twice; other processes are handled by the CAS.
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const p = chain.then(fn);
    chain = p.catch(() => undefined);
    return p;
  };

  const countSeal = (id: string) => {
    const n = (unflushed.get(id) ?? 0) + 1;
    unflushed.set(id, n);
    if (n >= flushAt || (persisted.get(id) ?? 0) + n >= schedule.maxSeals) wantFlush = true;
  };

  function toFlush(doc: KeySetDocument): Map<string, number> {
    const out = new Map<string, number>();
    for (const e of doc.storage) {
      const n = unflushed.get(e.id) ?? 0;
      if (n > 0 && (n >= flushAt || e.seals + n >= schedule.maxSeals)) out.set(e.id, n);
    }
    return out;
  }

  function install(doc: KeySetDocument, version: number, dataKey: DataKey): void {
    if (cache !== undefined && version < cache.version) return;
    const material = importMaterial(doc, cache?.material);
    cache = { version, doc, material, dataKey };
    view = undefined;
    loadedAt = clock();
    lastError = undefined;
    persisted.clear();
    for (const e of doc.storage) persisted.set(e.id, e.seals);
    for (const id of unflushed.keys()) if (!persisted.has(id)) unflushed.delete(id);
  }

  type Change<T> = (
    doc: KeySetDocument,
    now: number,
  ) => Promise<{ doc?: KeySetDocument; result: T }>;

  // Read, maintain, apply `change`, write by compare-and-swap; on a lost
  // write, read again and re-decide from what is there now.
  async function transact<T>(change: Change<T>, sealWith?: MasterKey): Promise<T> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const now = clock();
      attemptedAt = now;
      const entry = await store.read(name);
      let doc: KeySetDocument;
      let dataKey: DataKey | undefined;
      if (entry === null) {
        doc = await createDocument(now, schedule, factory);
      } else {
        ({ doc, dataKey } = await openKeySetDocument(
          entry.document,
          name,
          accepted,
          cache?.dataKey,
        ));
      }
      const flushed = toFlush(doc);
      const maintained = await maintain(doc, now, schedule, factory, flushed);
      const changed = await change(maintained ?? doc, now);
      const target = sealWith ?? master;
      const next = changed.doc ?? maintained;
      if (entry !== null && next === undefined && dataKey?.masterKeyId === target.id) {
        install(doc, entry.version, dataKey);
        return changed.result;
      }
      const key =
        dataKey?.masterKeyId === target.id
          ? dataKey
          : cache?.dataKey.masterKeyId === target.id
            ? cache.dataKey
            : await newDataKey(target);
      const final = next ?? doc;
      const version = entry?.version ?? null;
      if (await store.write(name, sealKeySetDocument(final, name, key), version)) {
        for (const [id, n] of flushed) unflushed.set(id, (unflushed.get(id) ?? 0) - n);
        if (sealWith !== undefined) {
          master = sealWith;
          accepted = [sealWith, ...opts.previousMasterKeys.filter((m) => m.id !== sealWith.id)];
        }
        install(final, (version ?? 0) + 1, key);
        return changed.result;
      }
    }
    throw new StoreConflict(
      `key set "${name}" kept changing under concurrent writers (${MAX_ATTEMPTS} attempts); try again`,
    );
  }

  const noChange: Change<void> = async () => ({ result: undefined });

  function refreshOnce(): Promise<void> {
    if (inflight === undefined) {
      wantFlush = false;
      inflight = serial(() => transact(noChange)).finally(() => {
        inflight = undefined;
      });
    }
    return inflight;
  }

  function record(error: unknown): void {
    const code = isCloakroomError(error) ? error.code : 'ERR_UNKNOWN';
    const message = error instanceof Error ? error.message : 'refresh failed';
    lastError = { code, message };
  }

  function currentView(): KeyView {
    const now = clock();
    if (view === undefined || now >= view.validUntil || now < viewAt) {
      view = buildView((cache as Cached).doc, (cache as Cached).material, now, countSeal);
      viewAt = now;
    }
    return view;
  }

  async function ready(): Promise<KeyView> {
    if (cache === undefined) await refreshOnce();
    else if (wantFlush || clock() - Math.max(loadedAt, attemptedAt) >= schedule.refreshEvery) {
      refreshOnce().catch(record);
    }
    return currentView();
  }

  // One extra read for an id we have never seen, at most once per second
  // whatever the ids, so junk kids cannot turn into a store flood.
  async function lookAgain(id: string): Promise<boolean> {
    if (currentView().known.has(id)) return false;
    const now = clock();
    if (now - unknownAt < UNKNOWN_REFRESH_MS && now >= unknownAt) return false;
    unknownAt = now;
    try {
      await refreshOnce();
    } catch (error) {
      if (isCloakroomError(error) && error.code === 'ERR_STORE_UNAVAILABLE') throw error;
      record(error);
      return false;
    }
    return true;
  }

  async function status(): Promise<KeySetStatus> {
    await ready();
    const c = cache as Cached;
    return {
      name,
      version: c.version,
      masterKeyId: c.dataKey.masterKeyId,
      loadedAt,
      ...(lastError === undefined ? {} : { lastError }),
      ...describeKeys(c.doc, clock(), unflushed),
    };
  }

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
    async indexKey(): Promise<Uint8Array> {
      await ready();
      return new Uint8Array((cache as Cached).material.index);
    },
    async jwks(): Promise<{ keys: PublicJwk[] }> {
      return { keys: [...(await ready()).jwks] };
    },
    async onUnknownKey(keyId: string): Promise<void> {
      if (typeof keyId !== 'string' || !STORAGE_ID.test(keyId)) return;
      await ready();
      await lookAgain(keyId);
    },
    async rotate(kind: KeyKind): Promise<KeyStatus> {
      if (kind !== 'signing' && kind !== 'storage') {
        throw new ConfigInvalid("rotate: kind must be 'signing' or 'storage'");
      }
      const id = await serial(() =>
        transact(async (doc, now) =>
          rotateKind(doc, kind, now, schedule, factory).then((r) => ({
            ...(r.doc === undefined ? {} : { doc: r.doc }),
            result: r.id,
          })),
        ),
      );
      const s = await status();
      return (s[kind] as KeyStatus[]).find((k) => k.id === id) as KeyStatus;
    },
    async compromise(id: string): Promise<KeySetStatus> {
      await serial(() =>
        transact(async (doc, now) => {
          const next = await disableKey(doc, String(id), now, schedule, factory, false);
          return { ...(next === undefined ? {} : { doc: next }), result: undefined };
        }),
      );
      return status();
    },
    async disable(id: string): Promise<KeySetStatus> {
      await serial(() =>
        transact(async (doc, now) => {
          const next = await disableKey(doc, String(id), now, schedule, factory, true);
          return { ...(next === undefined ? {} : { doc: next }), result: undefined };
        }),
      );
      return status();
    },
    async refresh(): Promise<KeySetStatus> {
      await serial(() => transact(noChange));
      return status();
    },
    status,
    async rotateMasterKey(next: MasterKeyInput): Promise<KeySetStatus> {
      const key = toMasterKey(next, 'new master key');
      if (key.id === master.id) throw new ConfigInvalid('the new master key is the current one');
      await serial(() => transact(noChange, key));
      return status();
    },
  });
}
