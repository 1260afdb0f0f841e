// The cached key-set document of one process and how it stays in step with
// the shared store: compare-and-swap writes, single-flight refreshes, the
// unknown-id re-read, and this process's seal counts. Internal.
import { ConfigInvalid, StoreConflict, isCloakroomError } from '../../errors';
import {
  type DataKey,
  type KeySetDocument,
  newDataKey,
  openKeySetDocument,
  sealKeySetDocument,
} from './key-set-document';
import type { MasterKey } from './master-key';
import type { ResolvedRotatingOptions } from './options';
import { maintain } from './maintain';
import { type KeyFactory, createDocument, primaryAt } from './plan';
import { type KeySetStatus, describeKeys } from './status';
import { type KeyView, type Material, buildView, importMaterial } from './view';
import { type KeySyncState, keySyncTraced, traceKeySync } from './trace-sync';

const MAX_ATTEMPTS = 8;
const UNKNOWN_REFRESH_MS = 1000;

interface Cached {
  readonly version: number;
  readonly doc: KeySetDocument;
  readonly material: Material;
  readonly dataKey: DataKey;
}

/** A change to the document: `doc` to write (or none), and what to return. */
export type Change<T> = (
  doc: KeySetDocument,
  now: number,
) => Promise<{ doc?: KeySetDocument; result: T }>;

/** One process's synchronised view of the shared key set. */
export interface KeySetSync {
  /** The view, loading the document on first use and starting a background refresh when stale. */
  ready(): Promise<KeyView>;
  /** What `ready` resolves to, without the await: `undefined` until the first load. */
  viewNow(): KeyView | undefined;
  /** The view from the cache (call `ready` once first). */
  currentView(): KeyView;
  /** Re-read once for an id never seen (rate-limited); whether a re-read happened. */
  lookAgain(id: string): Promise<boolean>;
  /** Apply `change` (after housekeeping) by compare-and-swap, serialised in this process. */
  run<T>(change: Change<T>, sealWith?: MasterKey): Promise<T>;
  /** The current master key. */
  master(): MasterKey;
  /** The subject-index key of the cached document. */
  index(): Uint8Array;
  status(): Promise<KeySetStatus>;
}

/** Keep one process's copy of the key set in step with the store. */
export function createKeySetSync(opts: ResolvedRotatingOptions, factory: KeyFactory): KeySetSync {
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

  // Read, maintain, apply `change`, write by compare-and-swap; on a lost
  // write, read again and re-decide from what is there now.
  async function transact<T>(change: Change<T>, sealWith?: MasterKey): Promise<T> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const now = clock();
      attemptedAt = now;
      const entry = await store.read(name);
      let doc: KeySetDocument;
      let dataKey: DataKey | undefined;
      if (entry === null && cache !== undefined) {
        // Recreating it would mint a new index key and lose every storage
        // key: refuse, keep serving from the cache, and let an operator decide.
        throw new ConfigInvalid(
          `key set "${name}" is gone from the store; not recreating it (restore it, or restart to start a new one)`,
        );
      }
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

  // What `cloakroom:keys.sync` reports once a sync finished: ids and numbers only.
  const syncState = (): KeySyncState | undefined => {
    if (cache === undefined) return undefined;
    const now = clock();
    return {
      version: cache.version,
      loadedAt,
      signingKeyId: primaryAt(cache.doc.signing, now)?.id,
      storageKeyId: primaryAt(cache.doc.storage, now)?.id,
    };
  };
  const traced = <T>(reason: 'load' | 'refresh' | 'change', sync: () => Promise<T>) =>
    keySyncTraced()
      ? traceKeySync({ keySet: name, store: store.name, reason }, sync, syncState)
      : sync();

  async function run<T>(change: Change<T>, sealWith?: MasterKey): Promise<T> {
    try {
      return await serial(() => traced('change', () => transact(change, sealWith)));
    } catch (error) {
      record(error);
      throw error;
    }
  }

  function refreshOnce(): Promise<void> {
    if (inflight === undefined) {
      wantFlush = false;
      const reason = cache === undefined ? 'load' : 'refresh';
      inflight = serial(() => traced(reason, () => transact(noChange))).finally(() => {
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
    return viewNow() as KeyView;
  }

  // `ready` without the await once the document is loaded: the same
  // background refresh when one is due, the same view.
  function viewNow(): KeyView | undefined {
    if (cache === undefined) return undefined;
    if (wantFlush || clock() - Math.max(loadedAt, attemptedAt) >= schedule.refreshEvery) {
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

  return {
    ready,
    viewNow,
    currentView,
    lookAgain,
    run,
    master: () => master,
    index: () => (cache as Cached).material.index,
    status,
  };
}
