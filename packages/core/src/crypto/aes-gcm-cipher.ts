import { openAesGcm } from './aes-gcm';
import { NONCE_BYTES, maskKeyOf } from './format';
import { isBoundRecord, parseBoundRecord } from './bound-layout';
import { parseHeader, sealUnder, sealedLengthUnder } from './storage-layout';
import type { Cipher } from '../contracts/cipher';
import { ConfigInvalid, DecryptionFailed } from '../errors';
import type { StorageKey, StorageKeyRing } from '../contracts/keys';

/** Options of {@link createAesGcmCipher}. A `KeyProvider` satisfies `keys`. */
export interface AesGcmCipherOptions {
  /** Source of the storage key ring: `primary` seals, `get(id)` opens. */
  readonly keys: {
    /** The storage key ring in force: `primary` seals, `get(id)` opens. */
    storageKeys(): Promise<StorageKeyRing> | StorageKeyRing;
    /**
     * Optional: the keys in memory now (`KeyProvider.snapshot`); the cipher
     * reads its `storage` ring without an await when it is there, and
     * awaits `storageKeys()` when `undefined`.
     */
    snapshot?(): { readonly storage: StorageKeyRing } | undefined;
    /**
     * Optional: called once when `open` meets a key id the ring does not
     * hold, before giving up. A rotating provider re-reads its shared key
     * set here (rate-limited), so a key another instance just created is
     * found; `open` then looks the id up once more.
     */
    onUnknownKey?(keyId: string): Promise<void>;
  };
  /**
   * Seals this process may make under one storage key id (counted across
   * every cipher in the process) before `seal` throws `KeyExhausted` (SEC-11). With random 96-bit nonces NIST SP
   * 800-38D §8.3 caps a key at 2^32 invocations in total, and that budget is
   * shared by every instance of a fleet using the key. The default, 2^30,
   * leaves room for four busy instances; rotating keys are retired long
   * before that, while a static key that reaches it must be rotated.
   * @default 2 ** 30
   */
  readonly maxSealsPerKey?: number;
}

const KEY_BYTES = 32;
const KEY_ID = /^[A-Za-z0-9_-]{1,64}$/;
const DEFAULT_MAX_SEALS = 2 ** 30;
const GCM_RANDOM_NONCE_LIMIT = 2 ** 32;

/**
 * The storage-key PRF keys of a cipher this module made (crypto/format.ts,
 * layer 3): what the ticket-bound record format needs beyond the `Cipher`
 * contract. Internal.
 */
export interface RecordMaskKeys {
  /**
   * The primary storage key, read once, for a new record: its mask key and
   * a seal of the operator copy straight into the record's bytes.
   * @throws ConfigInvalid for a malformed primary key.
   */
  primarySealer(): Promise<PrimarySealer>;
  /**
   * {@link primarySealer} without the await, when the key source has a
   * snapshot in memory; `undefined` otherwise (the caller then awaits
   * `primarySealer`). Reads the primary once, as `primarySealer` does.
   * @throws ConfigInvalid for a malformed primary key.
   */
  primarySealerNow(): PrimarySealer | undefined;
  /**
   * The mask key of storage key `id`, found as `open` finds keys (asking the
   * source once about an unknown id). @throws DecryptionFailed when the key
   * is unknown or disabled.
   */
  forKeyId(id: string): Promise<Uint8Array>;
  /**
   * {@link forKeyId} without the await, when the key source has the ring in
   * memory and it holds `id` as a usable, well-formed key; `undefined`
   * otherwise (the caller then awaits `forKeyId`, which decides).
   */
  forKeyIdNow(id: string): Uint8Array | undefined;
}

/** One storage key sealing as the cipher's `seal` does, into a caller's buffer. Internal. */
export interface PrimarySealer {
  /** The key's mask key (crypto/format.ts, layer 3). */
  readonly maskKey: Uint8Array;
  /** Bytes `seal` makes of an `n`-byte plaintext under this key. */
  sealedLength(n: number): number;
  /**
   * Exactly what `cipher.seal(plaintext, aad)` would return under this key
   * (same layout, a fresh nonce, one seal of the key's budget), written into
   * `out` from `at` to its end, which must be `sealedLength` bytes.
   * @throws KeyExhausted once the key reached its seal budget; RangeError for a wrong size.
   */
  sealInto(plaintext: Uint8Array, aad: Uint8Array, out: Uint8Array, at: number): void;
}

// Ciphers made by createAesGcmCipher, with their key source: only those can
// derive a mask key. A custom Cipher is not in here and keeps the two-layer
// format (it exposes seal/open only).
const maskSources = new WeakMap<Cipher, RecordMaskKeys>();
// One derivation per storage key's bytes (a rebuilt ring derives again, once).
const maskKeyCache = new WeakMap<Uint8Array, Uint8Array>();

function cachedMaskKey(key: StorageKey): Uint8Array {
  let maskKey = maskKeyCache.get(key.key);
  if (maskKey === undefined) {
    maskKey = maskKeyOf(key.key);
    maskKeyCache.set(key.key, maskKey);
  }
  return maskKey;
}

// The mask key of a storage key that may open records (known, not
// disabled, 32 bytes), or why not: forKeyId throws it, forKeyIdNow defers.
function usableMaskKey(key: StorageKey | undefined): Uint8Array | DecryptionFailed {
  if (key === undefined || key.state === 'disabled') {
    return new DecryptionFailed('sealed payload is under an unknown or disabled key');
  }
  if (!(key.key instanceof Uint8Array) || key.key.byteLength !== KEY_BYTES) {
    return new DecryptionFailed('sealed payload is under a malformed key');
  }
  return cachedMaskKey(key);
}

/**
 * The mask keys behind `cipher` when it is one {@link createAesGcmCipher}
 * made; `undefined` for any other `Cipher`. Internal.
 *
 * @example
 * ```ts
 * const masks = recordMaskKeysOf(ctx.cipher);
 * if (masks !== undefined) await masks.forKeyId('2026-01');
 * ```
 */
export function recordMaskKeysOf(cipher: Cipher): RecordMaskKeys | undefined {
  return maskSources.get(cipher);
}

function checkStorageKey(key: StorageKey): void {
  if (typeof key?.id !== 'string' || !KEY_ID.test(key.id)) {
    throw new ConfigInvalid('storage key id must match [A-Za-z0-9_-]{1,64}');
  }
  if (!(key.key instanceof Uint8Array) || key.key.byteLength !== KEY_BYTES) {
    throw new ConfigInvalid(`storage key "${key.id}" must be ${KEY_BYTES} bytes`);
  }
}

/**
 * The default {@link Cipher}: AES-256-GCM with `node:crypto`, a fresh random
 * 96-bit nonce per seal and the storage key id in an authenticated header.
 *
 * Sealed layout (specified in `crypto/format.ts`): `version (1) ‖ algorithm
 * (1 = AES-256-GCM) ‖ key id length L (1..64) ‖ key id (L ASCII bytes) ‖
 * nonce (12) ‖ ciphertext ‖ tag (16)`. The GCM AAD is the header (up to the
 * end of the nonce) followed by the caller's `aad`, so an edited header or a
 * payload moved to another record fails to open.
 *
 * Edge behaviour: `open` throws `DecryptionFailed` for every malformed,
 * truncated, tampered or unknown-key input, and never returns unauthenticated
 * bytes (for an unknown key id it first calls `keys.onUnknownKey(id)`, when
 * the key source has one, and looks the id up once more); errors from the key source itself (e.g. `StoreUnavailable`) pass
 * through unchanged so they are not mistaken for tampering. `seal` throws
 * `KeyExhausted` once the primary key reached `maxSealsPerKey` in this
 * process, and `ConfigInvalid` for a malformed primary key.
 *
 * @throws ConfigInvalid when `maxSealsPerKey` is not an integer in 1..2^32.
 * @example
 * ```ts
 * const cipher = createAesGcmCipher({ keys: staticKeys({ ... }) });
 * const sealed = await cipher.seal(payload, concat(utf8(sessionId), utf8(subjectIndex)));
 * ```
 */
export function createAesGcmCipher(options: AesGcmCipherOptions): Cipher {
  const keys = options?.keys;
  if (typeof keys?.storageKeys !== 'function') {
    throw new ConfigInvalid('createAesGcmCipher needs keys with a storageKeys() method');
  }
  const maxSeals = options.maxSealsPerKey ?? DEFAULT_MAX_SEALS;
  if (!Number.isSafeInteger(maxSeals) || maxSeals < 1 || maxSeals > GCM_RANDOM_NONCE_LIMIT) {
    throw new ConfigInvalid('maxSealsPerKey must be an integer from 1 to 2^32');
  }

  const cipher: Cipher = {
    name: 'aes-256-gcm',

    async seal(plaintext, aad) {
      const key = (await keys.storageKeys()).primary;
      checkStorageKey(key);
      const out = new Uint8Array(sealedLengthUnder(key.id, plaintext.byteLength));
      sealUnder(key, maxSeals, plaintext, aad, out, 0);
      return out;
    },

    async open(sealed, aad) {
      const header = parseHeader(sealed);
      if (header === undefined) throw new DecryptionFailed('sealed payload is malformed');
      let key = (await keys.storageKeys()).get(header.keyId);
      if (key === undefined && typeof keys.onUnknownKey === 'function') {
        await keys.onUnknownKey(header.keyId);
        key = (await keys.storageKeys()).get(header.keyId);
      }
      if (key === undefined || key.state === 'disabled') {
        throw new DecryptionFailed('sealed payload is under an unknown or disabled key');
      }
      try {
        const nonce = sealed.subarray(header.length - NONCE_BYTES, header.length);
        return openAesGcm(
          key.key,
          nonce,
          sealed.subarray(0, header.length),
          aad,
          sealed,
          header.length,
        );
      } catch (cause) {
        throw new DecryptionFailed('sealed payload failed to open', { cause });
      }
    },

    keyIdOf(sealed) {
      // A ticket-bound record (crypto/format.ts, layer 3) is under the key
      // its operator copy names: one id for reports, census and rewrap.
      const inner = isBoundRecord(sealed) ? parseBoundRecord(sealed)?.meta : sealed;
      const header = inner === undefined ? undefined : parseHeader(inner);
      if (header === undefined) throw new DecryptionFailed('sealed payload is malformed');
      return header.keyId;
    },
  };
  // One sealer per primary key (its object and its bytes): `create` asks for one every time.
  const sealers = new WeakMap<StorageKey, { bytes: Uint8Array; sealer: PrimarySealer }>();
  const sealerOf = (key: StorageKey): PrimarySealer => {
    checkStorageKey(key);
    const kept = sealers.get(key);
    if (kept !== undefined && kept.bytes === key.key) return kept.sealer;
    const sealer: PrimarySealer = {
      maskKey: cachedMaskKey(key),
      sealedLength: (n) => sealedLengthUnder(key.id, n),
      sealInto: (plaintext, aad, out, at) => sealUnder(key, maxSeals, plaintext, aad, out, at),
    };
    sealers.set(key, { bytes: key.key, sealer });
    return sealer;
  };
  maskSources.set(cipher, {
    async primarySealer() {
      return sealerOf((await keys.storageKeys()).primary);
    },
    primarySealerNow() {
      const ring = keys.snapshot?.()?.storage;
      return ring === undefined ? undefined : sealerOf(ring.primary);
    },
    forKeyIdNow(id) {
      const found = usableMaskKey(keys.snapshot?.()?.storage.get(id));
      return found instanceof Uint8Array ? found : undefined;
    },
    async forKeyId(id) {
      let key = (await keys.storageKeys()).get(id);
      if (key === undefined && typeof keys.onUnknownKey === 'function') {
        await keys.onUnknownKey(id);
        key = (await keys.storageKeys()).get(id);
      }
      const found = usableMaskKey(key);
      if (found instanceof DecryptionFailed) throw found;
      return found;
    },
  });
  return cipher;
}
