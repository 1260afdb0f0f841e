// The rotating key set as stored in a KeySetStore: a JSON document sealed
// with AES-256-GCM under a data key, itself wrapped by the master key.
// Internal: the provider is the public face.
//
// Sealed layout (all lengths in bytes):
//   "CRKS" (4) ‖ format 1 (1) ‖ name length (1) ‖ name ‖ master key id
//   length (1) ‖ master key id ‖ wrapped data key length (2, big-endian) ‖
//   wrapped data key ‖ nonce (12) ‖ ciphertext ‖ tag (16)
// The GCM AAD is everything up to the end of the nonce: the format tag, the
// set name and the master key id are bound, so a document renamed, moved to
// another set or relabelled with another master key fails to open (SEC-15).
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { Jwk } from '../../contracts/keys';
import { concat, fromBase64Url, fromUtf8, utf8 } from '../../lib/encoding';
import { ConfigInvalid, DecryptionFailed } from '../../errors';
import type { AsymmetricAlgorithm } from '../key-import';
import { isAsymmetricAlgorithm } from '../key-import';
import type { MasterKey } from './master-key';

/** Timestamps (epoch ms) every key carries; its state is derived from them. */
export interface KeyLifecycle {
  readonly id: string;
  readonly createdAt: number;
  /** Pending before this instant, primary from it. */
  readonly activatesAt: number;
  /** Retired (verify/open only) from this instant; set when a successor is scheduled. */
  readonly retiresAt?: number;
  /** Destroyed from this instant (end of the retired grace). */
  readonly expiresAt?: number;
  /** Disabled (compromised or withdrawn) from this instant; its material is already gone. */
  readonly disabledAt?: number;
}

/** A signing key in the document. `id` is the kid (RFC 7638 thumbprint). */
export interface SigningEntry extends KeyLifecycle {
  readonly alg: AsymmetricAlgorithm;
  /** The private JWK; absent once disabled. */
  readonly jwk?: Jwk;
}

/** A storage key in the document. */
export interface StorageEntry extends KeyLifecycle {
  /** 32 bytes, base64url; absent once disabled. */
  readonly key?: string;
  /** Seals counted across the fleet so far (persisted by each instance's refresh). */
  readonly seals: number;
}

/** The plaintext key-set document (format 1). */
export interface KeySetDocument {
  readonly format: 1;
  readonly createdAt: number;
  /** The subject-index key, base64url: generated once with the document, never changed. */
  readonly index: string;
  readonly signing: readonly SigningEntry[];
  readonly storage: readonly StorageEntry[];
}

/** The unwrapped data key of a sealed document, kept so unchanged documents skip the KMS. */
export interface DataKey {
  readonly masterKeyId: string;
  readonly key: Uint8Array;
  readonly wrapped: Uint8Array;
}

const MAGIC = [0x43, 0x52, 0x4b, 0x53]; // "CRKS"
const FORMAT = 1;
const NONCE = 12;
const TAG = 16;
const MAX_KEYS = 256;
const KID = /^[A-Za-z0-9_-]{43}$/;
const STORAGE_ID = /^[A-Za-z0-9_-]{1,64}$/;
const MASTER_ID = /^[A-Za-z0-9._:/+=@-]{1,200}$/;

/** A fresh data key, wrapped under `masterKey`. */
export async function newDataKey(masterKey: MasterKey): Promise<DataKey> {
  const key = new Uint8Array(randomBytes(32));
  return { masterKeyId: masterKey.id, key, wrapped: await masterKey.wrap(key) };
}

/** Seal `doc` for the set `name` under `dataKey`. */
export function sealKeySetDocument(
  doc: KeySetDocument,
  name: string,
  dataKey: DataKey,
): Uint8Array {
  const nameBytes = utf8(name);
  const idBytes = utf8(dataKey.masterKeyId);
  const wrappedLength = new Uint8Array([
    dataKey.wrapped.byteLength >> 8,
    dataKey.wrapped.byteLength & 0xff,
  ]);
  const header = concat(
    new Uint8Array([...MAGIC, FORMAT, nameBytes.byteLength]),
    nameBytes,
    new Uint8Array([idBytes.byteLength]),
    idBytes,
    wrappedLength,
    dataKey.wrapped,
    randomBytes(NONCE),
  );
  const plain = utf8(JSON.stringify(doc));
  const gcm = createCipheriv(
    'aes-256-gcm',
    dataKey.key,
    header.subarray(header.byteLength - NONCE),
    {
      authTagLength: TAG,
    },
  );
  gcm.setAAD(header);
  const out = concat(header, gcm.update(plain), gcm.final(), gcm.getAuthTag());
  plain.fill(0);
  return out;
}

interface Envelope {
  readonly name: string;
  readonly masterKeyId: string;
  readonly wrapped: Uint8Array;
  readonly headerLength: number;
}

function parseEnvelope(bytes: Uint8Array): Envelope | undefined {
  if (!(bytes instanceof Uint8Array) || bytes.byteLength < 8) return undefined;
  for (const [i, b] of MAGIC.entries()) if (bytes[i] !== b) return undefined;
  if (bytes[4] !== FORMAT) return undefined;
  let at = 5;
  const take = (length: number): Uint8Array | undefined => {
    if (at + length > bytes.byteLength) return undefined;
    const part = bytes.subarray(at, at + length);
    at += length;
    return part;
  };
  const nameLength = take(1)?.[0];
  const name = nameLength === undefined ? undefined : take(nameLength);
  const idLength = take(1)?.[0];
  const id = idLength === undefined ? undefined : take(idLength);
  const wl = take(2);
  const wrapped = wl === undefined ? undefined : take(((wl[0] as number) << 8) | (wl[1] as number));
  if (name === undefined || id === undefined || wrapped === undefined || wrapped.byteLength === 0) {
    return undefined;
  }
  if (take(NONCE) === undefined || bytes.byteLength - at < TAG + 2) return undefined;
  let nameText: string;
  let idText: string;
  try {
    nameText = fromUtf8(name);
    idText = fromUtf8(id);
  } catch {
    return undefined;
  }
  if (!MASTER_ID.test(idText)) return undefined;
  return { name: nameText, masterKeyId: idText, wrapped, headerLength: at };
}

/**
 * Open a sealed document of the set `name` with one of `masterKeys`.
 * `cached` (the data key of the last document opened) skips the unwrap when
 * the document still carries the same wrapped data key.
 *
 * @throws ConfigInvalid when the bytes are not a key-set document, belong to
 *   another set, or are sealed under a master key this instance lacks.
 * @throws DecryptionFailed when authentication fails (tampered, or a wrong
 *   master key that claims the right id).
 */
export async function openKeySetDocument(
  bytes: Uint8Array,
  name: string,
  masterKeys: readonly MasterKey[],
  cached?: DataKey,
): Promise<{ doc: KeySetDocument; dataKey: DataKey }> {
  const env = parseEnvelope(bytes);
  if (env === undefined) {
    throw new ConfigInvalid(
      `key set "${name}": the stored document is not a sealed key set (damaged or foreign)`,
    );
  }
  if (env.name !== name) {
    throw new ConfigInvalid(`key set "${name}": the stored document belongs to another key set`);
  }
  const master = masterKeys.find((m) => m.id === env.masterKeyId);
  if (master === undefined) {
    throw new ConfigInvalid(
      `key set "${name}" is sealed under master key "${env.masterKeyId}", which this instance is not configured with (it has ${masterKeys.map((m) => `"${m.id}"`).join(', ')})`,
    );
  }
  let dataKey: DataKey;
  if (
    cached !== undefined &&
    cached.masterKeyId === master.id &&
    sameBytes(cached.wrapped, env.wrapped)
  ) {
    dataKey = cached;
  } else {
    const key = await master.unwrap(env.wrapped);
    dataKey = { masterKeyId: master.id, key, wrapped: new Uint8Array(env.wrapped) };
  }
  const header = bytes.subarray(0, env.headerLength);
  let plain: Uint8Array;
  try {
    const gcm = createDecipheriv(
      'aes-256-gcm',
      dataKey.key,
      header.subarray(header.byteLength - NONCE),
      {
        authTagLength: TAG,
      },
    );
    gcm.setAAD(header);
    gcm.setAuthTag(bytes.subarray(bytes.byteLength - TAG));
    plain = concat(
      gcm.update(bytes.subarray(env.headerLength, bytes.byteLength - TAG)),
      gcm.final(),
    );
  } catch (cause) {
    throw new DecryptionFailed(
      `key set "${name}": the document failed authentication (tampered, or the wrong master key)`,
      { cause },
    );
  }
  try {
    return { doc: decodeDocument(plain, name), dataKey };
  } finally {
    plain.fill(0);
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && Buffer.compare(a, b) === 0;
}

const isTime = (v: unknown): v is number =>
  typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const optTime = (v: unknown): boolean => v === undefined || isTime(v);

function lifecycleOk(e: Record<string, unknown>): boolean {
  return (
    isTime(e.createdAt) &&
    isTime(e.activatesAt) &&
    optTime(e.retiresAt) &&
    optTime(e.expiresAt) &&
    optTime(e.disabledAt)
  );
}

function is32Bytes(v: unknown): boolean {
  return typeof v === 'string' && fromBase64Url(v)?.byteLength === 32;
}

function signingOk(v: unknown): boolean {
  if (typeof v !== 'object' || v === null) return false;
  const e = v as Record<string, unknown>;
  if (typeof e.id !== 'string' || !KID.test(e.id) || !isAsymmetricAlgorithm(e.alg)) return false;
  if (!lifecycleOk(e)) return false;
  if (e.jwk === undefined) return e.disabledAt !== undefined;
  return typeof e.jwk === 'object' && e.jwk !== null && !Array.isArray(e.jwk);
}

function storageOk(v: unknown): boolean {
  if (typeof v !== 'object' || v === null) return false;
  const e = v as Record<string, unknown>;
  if (typeof e.id !== 'string' || !STORAGE_ID.test(e.id) || !lifecycleOk(e)) return false;
  if (!isTime(e.seals)) return false;
  if (e.key === undefined) return e.disabledAt !== undefined;
  return is32Bytes(e.key);
}

// The document authenticated, so a failure here means a writer bug or a
// newer format: refuse it rather than guess.
function decodeDocument(plain: Uint8Array, name: string): KeySetDocument {
  let value: unknown;
  try {
    value = JSON.parse(fromUtf8(plain));
  } catch {
    value = undefined;
  }
  const d = (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>;
  const ok =
    d.format === 1 &&
    isTime(d.createdAt) &&
    is32Bytes(d.index) &&
    Array.isArray(d.signing) &&
    Array.isArray(d.storage) &&
    d.signing.length <= MAX_KEYS &&
    d.storage.length <= MAX_KEYS &&
    d.signing.every(signingOk) &&
    d.storage.every(storageOk);
  if (!ok) {
    throw new ConfigInvalid(`key set "${name}": the document is not a valid format-1 key set`);
  }
  return d as unknown as KeySetDocument;
}
