// What the hot path reads: the decoded key material of the cached document
// and, for one stretch of time, each key's state. Rebuilt only when the
// document changes or a timestamp in it passes. Internal.
import { fromBase64Url } from '../../lib/encoding';
import { ConfigInvalid } from '../../errors';
import type {
  KeySnapshot,
  PublicJwk,
  SigningKey,
  StorageKey,
  StorageKeyRing,
  VerifyKey,
} from '../../contracts/keys';
import { type ImportedSigningKey, importSigningKey } from '../key-import';
import type { KeySetDocument } from './key-set-document';
import { nextChange, primaryAt, stateAt } from './plan';

/** Key material decoded from one document. */
export interface Material {
  readonly signing: ReadonlyMap<string, ImportedSigningKey>;
  readonly storage: ReadonlyMap<string, Uint8Array>;
  readonly index: Uint8Array;
}

/** Decode (and validate) the document's keys, reusing imports from `previous` by id. */
export function importMaterial(doc: KeySetDocument, previous?: Material): Material {
  const signing = new Map<string, ImportedSigningKey>();
  for (const e of doc.signing) {
    if (e.jwk === undefined) continue;
    const known = previous?.signing.get(e.id);
    const imported =
      known ?? importSigningKey({ alg: e.alg, privateKey: e.jwk }, `signing key ${e.id}`);
    if (imported.kid !== e.id) {
      throw new ConfigInvalid('key-set document: a signing key does not match its kid');
    }
    signing.set(e.id, imported);
  }
  const storage = new Map<string, Uint8Array>();
  for (const e of doc.storage) {
    if (e.key === undefined) continue;
    storage.set(e.id, previous?.storage.get(e.id) ?? (fromBase64Url(e.key) as Uint8Array));
  }
  const index = fromBase64Url(doc.index) as Uint8Array;
  return { signing, storage, index };
}

/** The answers of the hot-path methods, valid until `validUntil`. */
export interface KeyView {
  readonly validUntil: number;
  readonly signing: SigningKey | undefined;
  readonly verify: ReadonlyMap<string, VerifyKey>;
  readonly jwks: readonly PublicJwk[];
  readonly ring: StorageKeyRing | undefined;
  /** The provider's `snapshot()` while this view holds: `undefined` without both primaries. */
  readonly snapshot: KeySnapshot | undefined;
  /** Every id the document names, disabled ones included (no refresh for those). */
  readonly known: ReadonlySet<string>;
}

/**
 * The view at `now`. `onSeal(id)` runs each time the ring's `primary` is
 * read: the cipher reads it exactly once per seal, which is how this
 * process counts seals per storage key (other readers only overcount,
 * the safe direction).
 */
export function buildView(
  doc: KeySetDocument,
  material: Material,
  now: number,
  onSeal: (id: string) => void,
): KeyView {
  const known = new Set<string>();
  const verify = new Map<string, VerifyKey>();
  const jwks: PublicJwk[] = [];
  const byNewest = [...doc.signing].sort((a, b) => b.activatesAt - a.activatesAt);
  for (const e of byNewest) {
    known.add(e.id);
    const state = stateAt(e, now);
    const key = material.signing.get(e.id);
    if (key === undefined || state === 'disabled' || state === 'destroyed') continue;
    verify.set(e.id, Object.freeze({ kid: e.id, alg: key.alg, key: key.verifyKey, state }));
    if (key.publicJwk !== undefined) jwks.push(Object.freeze({ ...key.publicJwk }));
  }
  const sp = primaryAt(doc.signing, now);
  const spKey = sp === undefined ? undefined : material.signing.get(sp.id);
  const signing: SigningKey | undefined =
    spKey === undefined
      ? undefined
      : Object.freeze({ kid: spKey.kid, alg: spKey.alg, key: spKey.signKey });

  const open = new Map<string, StorageKey>();
  for (const e of doc.storage) {
    known.add(e.id);
    const state = stateAt(e, now);
    const bytes = material.storage.get(e.id);
    if (bytes === undefined || state === 'disabled' || state === 'destroyed') continue;
    open.set(e.id, Object.freeze({ id: e.id, key: bytes, state }));
  }
  const tp = primaryAt(doc.storage, now);
  const primary = tp === undefined ? undefined : open.get(tp.id);
  let ring: StorageKeyRing | undefined;
  if (primary !== undefined) {
    const keys = Object.freeze([...open.values()]);
    ring = Object.freeze({
      get primary() {
        onSeal(primary.id);
        return primary;
      },
      keys,
      get: (id: string) => (typeof id === 'string' ? open.get(id) : undefined),
    });
  }
  const snapshot: KeySnapshot | undefined =
    signing === undefined || ring === undefined
      ? undefined
      : Object.freeze({
          signing,
          storage: ring,
          // Same answers as the provider's verificationKey for known kids; the rest goes to it.
          verificationKey: (kid: string) => (typeof kid === 'string' ? verify.get(kid) : undefined),
        });
  return { validUntil: nextChange(doc, now), signing, verify, jwks, ring, snapshot, known };
}
