// Options of rotatingKeys and their validation. Internal except the types.
import { ConfigInvalid } from '../../errors';
import type { AsymmetricAlgorithm } from '../key-import';
import { isAsymmetricAlgorithm } from '../key-import';
import { type MasterKey, type MasterKeyInput, toMasterKey } from './master-key';
import type { KeySetStore } from '../../contracts/store';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** Signing-key rotation settings of {@link RotatingKeysOptions}. */
export interface RotatingSigningOptions {
  /** Algorithm of generated keys. @default 'EdDSA' */
  readonly alg?: AsymmetricAlgorithm;
  /** Age at which a primary signing key is replaced. @default 30 days */
  readonly rotateEvery?: number;
  /**
   * How long a new key is published in the JWKS (state `pending`) before any
   * instance signs with it. Must exceed `refreshEvery` plus the JWKS cache
   * lifetime (see `jwksHeaders`), so every resource server holds the key
   * before the first token signed with it arrives.
   * @default 1 hour
   */
  readonly publishAhead?: number;
  /**
   * Grace of a retired signing key: it still verifies for this long, then is
   * destroyed. At least max token lifetime + clock tolerance + JWKS cache
   * time; with `createCloakroom`, also at least the idle timeout plus the
   * token lifetime, because a session whose token was signed by a key past
   * its grace no longer resolves.
   * @default 2 hours
   */
  readonly retireAfter?: number;
}

/** Storage-key rotation settings of {@link RotatingKeysOptions}. */
export interface RotatingStorageOptions {
  /** Age at which a primary storage key is replaced. @default 30 days */
  readonly rotateEvery?: number;
  /**
   * Seals (fleet-wide, as persisted in the document) after which the
   * primary storage key is replaced (SEC-11). The old key keeps sealing
   * while its successor is pending, and unflushed counts come on top, so
   * the default stays far below the 2^32 GCM budget and below the cipher's
   * own per-process limit (2^30 by default).
   * @default 2 ** 28
   */
  readonly maxSeals?: number;
  /** How long a new storage key can open before it seals. @default 2 × refreshEvery */
  readonly publishAhead?: number;
  /**
   * How long a retired storage key keeps opening before it is destroyed. Leave
   * unset to keep it until an operator disables it after `rewrap` (safe default).
   */
  readonly retainFor?: number;
}

/** Options of {@link rotatingKeys}. */
export interface RotatingKeysOptions {
  /** Where the sealed key-set document is shared (each store package exports one). */
  readonly store: KeySetStore;
  /** Document name in the store, `[A-Za-z0-9._-]{1,64}`. @default 'default' */
  readonly name?: string;
  /** The master key (KEK) the document is sealed under: 32 bytes, base64url, or a KMS wrapper. */
  readonly masterKey: MasterKeyInput;
  /**
   * Older master keys still accepted for reading during a master key
   * rollout; the next write re-seals under `masterKey`.
   * @default []
   */
  readonly previousMasterKeys?: readonly MasterKeyInput[];
  readonly signing?: RotatingSigningOptions;
  readonly storage?: RotatingStorageOptions;
  /** How often the shared document is re-read (lazily, on the next call after this long). @default 30 seconds */
  readonly refreshEvery?: number;
  /** Epoch milliseconds. @default Date.now */
  readonly clock?: () => number;
}

/** The timings in force, as exposed on the provider (no secrets). */
export interface RotatingSchedule {
  readonly name: string;
  readonly alg: AsymmetricAlgorithm;
  readonly rotateEvery: number;
  /** The signing pre-publish window (ms); `jwksHeaders(keys.schedule)` keeps caches under it. */
  readonly publishAhead: number;
  readonly retireAfter: number;
  readonly refreshEvery: number;
  readonly storageRotateEvery: number;
  readonly storagePublishAhead: number;
  readonly maxSeals: number;
  readonly storageRetainFor?: number;
}

/** Validated options. Internal. */
export interface ResolvedRotatingOptions {
  readonly store: KeySetStore;
  readonly masterKey: MasterKey;
  readonly previousMasterKeys: readonly MasterKey[];
  readonly clock: () => number;
  readonly schedule: RotatingSchedule;
}

const NAME = /^[A-Za-z0-9._-]{1,64}$/;

function ms(label: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
    throw new ConfigInvalid(`${label} must be a positive integer number of milliseconds`);
  }
  return value;
}

/** Validate and fill defaults; throws ConfigInvalid. */
export function resolveRotatingOptions(options: RotatingKeysOptions): ResolvedRotatingOptions {
  if (typeof options !== 'object' || options === null) {
    throw new ConfigInvalid('rotatingKeys needs an options object');
  }
  const store = options.store as Partial<KeySetStore> | undefined;
  if (typeof store?.read !== 'function' || typeof store.write !== 'function') {
    throw new ConfigInvalid('rotatingKeys: store must be a KeySetStore (read and write)');
  }
  const name = options.name ?? 'default';
  if (typeof name !== 'string' || !NAME.test(name)) {
    throw new ConfigInvalid('rotatingKeys: name must match [A-Za-z0-9._-]{1,64}');
  }
  if (options.clock !== undefined && typeof options.clock !== 'function') {
    throw new ConfigInvalid('rotatingKeys: clock must be a function returning epoch milliseconds');
  }
  if (options.masterKey === undefined)
    throw new ConfigInvalid('rotatingKeys: masterKey is required');
  const masterKey = toMasterKey(options.masterKey, 'masterKey');
  const prev = options.previousMasterKeys ?? [];
  if (!Array.isArray(prev)) throw new ConfigInvalid('previousMasterKeys must be an array');
  const previousMasterKeys = prev.map((m, i) => toMasterKey(m, `previousMasterKeys[${i}]`));
  const ids = new Set([masterKey.id]);
  for (const m of previousMasterKeys) {
    if (ids.has(m.id)) throw new ConfigInvalid(`master key "${m.id}" is configured twice`);
    ids.add(m.id);
  }

  const s = options.signing ?? {};
  const alg = s.alg ?? 'EdDSA';
  if (!isAsymmetricAlgorithm(alg)) {
    throw new ConfigInvalid('signing.alg must be one of EdDSA, ES256, PS256, RS256');
  }
  const refreshEvery = ms('refreshEvery', options.refreshEvery, 30_000);
  const rotateEvery = ms('signing.rotateEvery', s.rotateEvery, 30 * DAY);
  const publishAhead = ms('signing.publishAhead', s.publishAhead, HOUR);
  const retireAfter = ms('signing.retireAfter', s.retireAfter, 2 * HOUR);
  const st = options.storage ?? {};
  const storageRotateEvery = ms('storage.rotateEvery', st.rotateEvery, 30 * DAY);
  const storagePublishAhead = ms('storage.publishAhead', st.publishAhead, 2 * refreshEvery);
  const storageRetainFor =
    st.retainFor === undefined ? undefined : ms('storage.retainFor', st.retainFor, 0);
  const maxSeals = st.maxSeals ?? 2 ** 28;
  if (!Number.isSafeInteger(maxSeals) || maxSeals < 1 || maxSeals > 2 ** 32) {
    throw new ConfigInvalid('storage.maxSeals must be an integer from 1 to 2^32');
  }
  if (publishAhead <= refreshEvery) {
    throw new ConfigInvalid(
      'signing.publishAhead must exceed refreshEvery, or instances could sign with a key others have not loaded',
    );
  }
  if (storagePublishAhead <= refreshEvery) {
    throw new ConfigInvalid(
      'storage.publishAhead must exceed refreshEvery, or instances could seal under a key others cannot open',
    );
  }
  if (publishAhead >= rotateEvery) {
    throw new ConfigInvalid('signing.publishAhead must be shorter than signing.rotateEvery');
  }
  if (storagePublishAhead >= storageRotateEvery) {
    throw new ConfigInvalid('storage.publishAhead must be shorter than storage.rotateEvery');
  }
  return {
    store: store as KeySetStore,
    masterKey,
    previousMasterKeys,
    clock: options.clock ?? Date.now,
    schedule: Object.freeze({
      name,
      alg,
      rotateEvery,
      publishAhead,
      retireAfter,
      refreshEvery,
      storageRotateEvery,
      storagePublishAhead,
      maxSeals,
      ...(storageRetainFor === undefined ? {} : { storageRetainFor }),
    }),
  };
}
