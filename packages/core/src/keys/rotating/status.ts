// The operator's view of a rotating key set: ids, states and timestamps only.
import type { KeyState, SigningAlgorithm } from '../../contracts/keys';
import type { KeyLifecycle, KeySetDocument } from './key-set-document';
import { stateAt } from './plan';

/** One key as `status()` shows it: never any key material. */
export interface KeyStatus {
  /** The kid (signing) or storage key id. */
  readonly id: string;
  readonly kind: 'signing' | 'storage';
  /** Signing keys only. */
  readonly alg?: SigningAlgorithm;
  /** State at the time of the call; `destroyed` for a key past its grace not yet pruned. */
  readonly state: KeyState | 'destroyed';
  readonly createdAt: number;
  readonly activatesAt: number;
  readonly retiresAt?: number;
  readonly expiresAt?: number;
  readonly disabledAt?: number;
  /** Storage keys only: seals counted so far (the fleet's persisted total plus this process's unflushed ones). */
  readonly seals?: number;
}

/** What `status()` returns. */
export interface KeySetStatus {
  readonly name: string;
  /** Store version of the cached document. */
  readonly version: number;
  /** Id of the master key the cached document was sealed under. */
  readonly masterKeyId: string;
  /** When (this instance's clock) the document was last read successfully. */
  readonly loadedAt: number;
  /** The last refresh failed; the instance keeps answering from the cached document. */
  readonly lastError?: { readonly code: string; readonly message: string };
  readonly signing: readonly KeyStatus[];
  readonly storage: readonly KeyStatus[];
}

function times(e: KeyLifecycle) {
  return {
    createdAt: e.createdAt,
    activatesAt: e.activatesAt,
    ...(e.retiresAt === undefined ? {} : { retiresAt: e.retiresAt }),
    ...(e.expiresAt === undefined ? {} : { expiresAt: e.expiresAt }),
    ...(e.disabledAt === undefined ? {} : { disabledAt: e.disabledAt }),
  };
}

/** The key list of a document at `now`, newest first. */
export function describeKeys(
  doc: KeySetDocument,
  now: number,
  unflushed: ReadonlyMap<string, number>,
): { signing: KeyStatus[]; storage: KeyStatus[] } {
  const newest = (a: KeyLifecycle, b: KeyLifecycle) => b.activatesAt - a.activatesAt;
  return {
    signing: [...doc.signing].sort(newest).map((e) => ({
      id: e.id,
      kind: 'signing' as const,
      alg: e.alg,
      state: stateAt(e, now),
      ...times(e),
    })),
    storage: [...doc.storage].sort(newest).map((e) => ({
      id: e.id,
      kind: 'storage' as const,
      state: stateAt(e, now),
      ...times(e),
      seals: e.seals + (unflushed.get(e.id) ?? 0),
    })),
  };
}
