// Pure transforms of the key-set document: creation, scheduled rotation,
// compromise, usage accounting and pruning. Every instance derives key states
// from the timestamps alone, so the fleet agrees without coordinating beyond
// the compare-and-swap write of the document. Internal.
import { toBase64Url } from '../../lib/encoding';
import { InvalidArgument, KeyNotFound } from '../../errors';
import { generateSecret, generateSigningKey } from '../generate-keys';
import { jwkThumbprint } from '../jwk-thumbprint';
import type { KeyState } from '../../contracts/keys';
import type { KeyLifecycle, KeySetDocument, SigningEntry, StorageEntry } from './key-set-document';
import type { RotatingSchedule } from './options';

/** A key's state at an instant; `destroyed` once its grace is over. */
export type DerivedState = KeyState | 'destroyed';

/** Which family of keys. */
export type KeyKind = 'signing' | 'storage';

/** The state of `e` at `now`, from its timestamps alone. */
export function stateAt(e: KeyLifecycle, now: number): DerivedState {
  if (e.disabledAt !== undefined) return 'disabled';
  if (e.expiresAt !== undefined && e.expiresAt <= now) return 'destroyed';
  if (e.retiresAt !== undefined && e.retiresAt <= now) return 'retired';
  return now < e.activatesAt ? 'pending' : 'primary';
}

/** The key that signs or seals at `now`: the latest-activated one in state primary. */
export function primaryAt<E extends KeyLifecycle>(
  entries: readonly E[],
  now: number,
): E | undefined {
  let best: E | undefined;
  for (const e of entries) {
    if (stateAt(e, now) === 'primary' && (best === undefined || e.activatesAt > best.activatesAt)) {
      best = e;
    }
  }
  return best;
}

/** The scheduled successor (earliest pending key), if any. */
export function pendingAt<E extends KeyLifecycle>(
  entries: readonly E[],
  now: number,
): E | undefined {
  let best: E | undefined;
  for (const e of entries) {
    if (stateAt(e, now) === 'pending' && (best === undefined || e.activatesAt < best.activatesAt)) {
      best = e;
    }
  }
  return best;
}

/** The next instant after `now` at which some key changes state (Infinity when none). */
export function nextChange(doc: KeySetDocument, now: number): number {
  let next = Number.POSITIVE_INFINITY;
  for (const e of [...doc.signing, ...doc.storage]) {
    if (e.disabledAt !== undefined) continue;
    for (const t of [e.activatesAt, e.retiresAt, e.expiresAt]) {
      if (t !== undefined && t > now && t < next) next = t;
    }
  }
  return next;
}

/** New key material; injected so tests can count generations. */
export interface KeyFactory {
  signing(alg: RotatingSchedule['alg']): Promise<Pick<SigningEntry, 'id' | 'alg' | 'jwk'>>;
  storage(): Pick<StorageEntry, 'id' | 'key'>;
}

/** Generates keys from the CSPRNG (SEC-12) with the existing generators. */
export const cryptoKeyFactory: KeyFactory = {
  async signing(alg) {
    const g = await generateSigningKey(alg);
    return { id: g.kid, alg, jwk: g.privateJwk };
  },
  storage() {
    const key = toBase64Url(generateSecret());
    return { id: `sk_${jwkThumbprint({ kty: 'oct', k: key }).slice(0, 22)}`, key };
  },
};

/** A brand-new document: index key, one primary signing key, one primary storage key. */
export async function createDocument(
  now: number,
  schedule: RotatingSchedule,
  factory: KeyFactory,
): Promise<KeySetDocument> {
  const times = { createdAt: now, activatesAt: now };
  return {
    format: 1,
    createdAt: now,
    index: toBase64Url(generateSecret()),
    signing: [{ ...(await factory.signing(schedule.alg)), ...times }],
    storage: [{ ...factory.storage(), ...times, seals: 0 }],
  };
}

// Schedule `fresh` to take over at `activatesAt`: the current primary retires
// at that same instant, so there is never a moment with two or no primaries.
function withSuccessor<E extends KeyLifecycle>(
  entries: readonly E[],
  now: number,
  activatesAt: number,
  grace: number | undefined,
  fresh: E,
): E[] {
  const current = primaryAt(entries, now);
  const out = entries.map((e) => {
    if (e !== current) return e;
    const retired: E = { ...e, retiresAt: activatesAt };
    if (grace === undefined) delete (retired as { expiresAt?: number }).expiresAt;
    else (retired as { expiresAt?: number }).expiresAt = activatesAt + grace;
    return retired;
  });
  out.push(fresh);
  return out;
}

function strip<E extends KeyLifecycle>(e: E): E {
  const { jwk: _jwk, key: _key, ...rest } = e as E & { jwk?: unknown; key?: unknown };
  return rest as E;
}

// Disable `id` within one family; a disabled primary is replaced at once by
// promoting its pending successor or, failing that, by `fresh` (which is
// then primary from `now` and unknown to other instances until they refresh).
function disableIn<E extends KeyLifecycle>(
  entries: readonly E[],
  id: string,
  now: number,
  grace: number | undefined,
  fresh: () => E,
): E[] {
  const target = entries.find((e) => e.id === id);
  if (target === undefined) return [...entries];
  const state = stateAt(target, now);
  let out = entries.map((e) => (e === target ? { ...strip(e), disabledAt: now } : e));
  if (state === 'pending') {
    // A cancelled successor: its predecessor stays primary.
    out = out.map((e) => {
      if (e.retiresAt !== target.activatesAt || stateAt(e, now) !== 'primary') return e;
      const { retiresAt: _r, expiresAt: _x, ...rest } = e;
      return rest as E;
    });
  } else if (state === 'primary') {
    const next = pendingAt(out, now);
    if (next !== undefined) {
      out = out.map((e) => (e === next ? { ...e, activatesAt: now } : e));
    } else {
      out = withSuccessor(out, now, now, grace, fresh());
    }
  }
  return out;
}

/**
 * The document with `id` (a kid or storage key id) disabled and its material
 * destroyed. `routine` refuses a primary key (rotate first); a compromise
 * replaces a primary at once. Returns `undefined` when `id` is already disabled.
 * @throws KeyNotFound when no key has this id.
 */
export async function disableKey(
  doc: KeySetDocument,
  id: string,
  now: number,
  schedule: RotatingSchedule,
  factory: KeyFactory,
  routine: boolean,
): Promise<KeySetDocument | undefined> {
  const kind: KeyKind | undefined = doc.signing.some((e) => e.id === id)
    ? 'signing'
    : doc.storage.some((e) => e.id === id)
      ? 'storage'
      : undefined;
  if (kind === undefined) throw new KeyNotFound('no key with this id in the key set');
  const entry = (kind === 'signing' ? doc.signing : doc.storage).find((e) => e.id === id);
  const state = entry === undefined ? 'destroyed' : stateAt(entry, now);
  if (state === 'disabled') return undefined;
  if (routine && state === 'primary') {
    throw new InvalidArgument(
      'a primary key cannot be disabled routinely: rotate first, or use compromise',
    );
  }
  if (kind === 'signing') {
    const fresh = state === 'primary' ? await factory.signing(schedule.alg) : undefined;
    const make = (): SigningEntry => ({
      ...(fresh as SigningEntry),
      createdAt: now,
      activatesAt: now,
    });
    return { ...doc, signing: disableIn(doc.signing, id, now, schedule.retireAfter, make) };
  }
  const make = (): StorageEntry => ({
    ...factory.storage(),
    createdAt: now,
    activatesAt: now,
    seals: 0,
  });
  return { ...doc, storage: disableIn(doc.storage, id, now, schedule.storageRetainFor, make) };
}

/**
 * Ensure a rotation of `kind` is under way: the scheduled successor if one
 * is pending (no change), else a new key activating after the pre-publish
 * window. Two instances racing both end on the one successor, because the
 * loser of the compare-and-swap re-reads and finds it pending.
 */
export async function rotateKind(
  doc: KeySetDocument,
  kind: KeyKind,
  now: number,
  schedule: RotatingSchedule,
  factory: KeyFactory,
  activatesAt?: number,
): Promise<{ doc?: KeySetDocument; id: string }> {
  if (kind === 'signing') {
    const pending = pendingAt(doc.signing, now);
    if (pending !== undefined) return { id: pending.id };
    const at = Math.max(activatesAt ?? 0, now + schedule.publishAhead);
    const fresh: SigningEntry = {
      ...(await factory.signing(schedule.alg)),
      createdAt: now,
      activatesAt: at,
    };
    return {
      doc: { ...doc, signing: withSuccessor(doc.signing, now, at, schedule.retireAfter, fresh) },
      id: fresh.id,
    };
  }
  const pending = pendingAt(doc.storage, now);
  if (pending !== undefined) return { id: pending.id };
  const at = Math.max(activatesAt ?? 0, now + schedule.storagePublishAhead);
  const fresh: StorageEntry = { ...factory.storage(), createdAt: now, activatesAt: at, seals: 0 };
  return {
    doc: { ...doc, storage: withSuccessor(doc.storage, now, at, schedule.storageRetainFor, fresh) },
    id: fresh.id,
  };
}
