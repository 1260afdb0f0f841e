// Housekeeping run on every refresh of the key-set document. Internal.
import type { KeyLifecycle, KeySetDocument, SigningEntry, StorageEntry } from './key-set-document';
import type { RotatingSchedule } from './options';
import { type KeyFactory, pendingAt, primaryAt, rotateKind, stateAt } from './plan';

// Tombstones of disabled keys kept for `status()`; older ones are pruned.
const MAX_TOMBSTONES = 32;

function prune<E extends KeyLifecycle>(entries: readonly E[], now: number): E[] {
  const live = entries.filter((e) => stateAt(e, now) !== 'destroyed');
  const tombs = live
    .filter((e) => e.disabledAt !== undefined)
    .sort((a, b) => (b.disabledAt as number) - (a.disabledAt as number));
  const drop = new Set(tombs.slice(MAX_TOMBSTONES));
  return live.filter((e) => !drop.has(e));
}

/**
 * Housekeeping run on every refresh: add this instance's unflushed seal
 * counts, drop destroyed keys, and start a rotation that is due by age or
 * (storage) by use. Returns `undefined` when nothing needs writing.
 */
export async function maintain(
  doc: KeySetDocument,
  now: number,
  schedule: RotatingSchedule,
  factory: KeyFactory,
  usage: ReadonlyMap<string, number>,
): Promise<KeySetDocument | undefined> {
  let changed = false;
  let next: KeySetDocument = doc;
  if ([...usage.values()].some((n) => n > 0)) {
    const storage = doc.storage.map((e) => {
      const add = usage.get(e.id) ?? 0;
      if (add <= 0 || e.disabledAt !== undefined) return e;
      changed = true;
      return { ...e, seals: e.seals + add };
    });
    next = { ...next, storage };
  }
  const signing = prune(next.signing, now);
  const storage = prune(next.storage, now);
  if (signing.length !== next.signing.length || storage.length !== next.storage.length) {
    changed = true;
    next = { ...next, signing, storage };
  }
  // A document left without a primary (every key disabled by hand) gets one
  // at once: nothing can sign or seal until then.
  if (primaryAt(next.signing, now) === undefined) {
    const fresh = await factory.signing(schedule.alg);
    next = { ...next, signing: [...next.signing, { ...fresh, createdAt: now, activatesAt: now }] };
    changed = true;
  }
  if (primaryAt(next.storage, now) === undefined) {
    const fresh = { ...factory.storage(), createdAt: now, activatesAt: now, seals: 0 };
    next = { ...next, storage: [...next.storage, fresh] };
    changed = true;
  }
  const sp = primaryAt(next.signing, now) as SigningEntry;
  const signingDue = sp.activatesAt + schedule.rotateEvery;
  if (pendingAt(next.signing, now) === undefined && now >= signingDue - schedule.publishAhead) {
    const r = await rotateKind(next, 'signing', now, schedule, factory, signingDue);
    if (r.doc !== undefined) {
      changed = true;
      next = r.doc;
    }
  }
  const tp = primaryAt(next.storage, now) as StorageEntry;
  const storageDue = tp.activatesAt + schedule.storageRotateEvery;
  const byAge = now >= storageDue - schedule.storagePublishAhead;
  const byUse = tp.seals >= schedule.maxSeals;
  if ((byAge || byUse) && pendingAt(next.storage, now) === undefined) {
    const r = await rotateKind(next, 'storage', now, schedule, factory, byUse ? now : storageDue);
    if (r.doc !== undefined) {
      changed = true;
      next = r.doc;
    }
  }
  return changed ? next : undefined;
}
