import { type KeyObject, createHmac, createSecretKey } from 'node:crypto';
import { CompactEncrypt } from 'jose';
import { canonicalJson } from './claim-canonical';
import { MAX_PROTECTED_CLAIMS_LENGTH } from './claim-open';
import { utf8 } from '../lib/encoding';
import { ConfigInvalid, InvalidArgument } from '../errors';
import { forbiddenKeyIn } from '../lib/forbidden-keys';
import { import256BitKey, sameBytes } from '../keys/key-import';

/** Key management algorithm of the claims JWE: the key itself (`dir`) or AES key wrap of a fresh key per token (`A256KW`). */
export type ClaimEncryptionAlgorithm = 'dir' | 'A256KW';

/** Options of {@link claimProtection}. */
export interface ClaimProtectionOptions {
  /** Names of sensitive claims: removed from the payload and carried, encrypted, in one JWE in the `enc` claim. */
  readonly encrypt?: readonly string[];
  /** Names of lookup claims: each value is replaced by its keyed hash (see {@link ClaimProtector.hashValue}). */
  readonly hash?: readonly string[];
  /** 32 bytes (or their base64url text) used only for claim encryption. Required when `encrypt` is not empty. */
  readonly encryptionKey?: Uint8Array | string;
  /** 32 bytes (or their base64url text) used only for claim hashing. Required when `hash` is not empty. */
  readonly hashKey?: Uint8Array | string;
  /** How the JWE's content key is derived from `encryptionKey`. @default 'dir' */
  readonly alg?: ClaimEncryptionAlgorithm;
  /** Written as `kid` in the JWE header so holders of several keys can pick one. Never used to select a key here. */
  readonly keyId?: string;
}

/** Protects the sensitive and lookup claims of a token payload before it is signed. */
export interface ClaimProtector {
  readonly name: 'claim-protection';
  /** The configured sensitive claim names. */
  readonly encrypted: readonly string[];
  /** The configured lookup claim names. */
  readonly hashed: readonly string[];
  /**
   * Return new claims: each `encrypt` claim present is removed and all of
   * them travel together, as a JSON object, in one compact JWE in the `enc`
   * claim (absent when none is present); each `hash` claim present is
   * replaced by {@link ClaimProtector.hashValue} of its value; other claims
   * pass through. The input is not changed.
   *
   * Throws {@link InvalidArgument} when `claims` is not a plain object,
   * already has an `enc` claim while encryption is configured, or holds a
   * value JSON cannot carry.
   */
  protect(claims: Record<string, unknown>): Promise<Record<string, unknown>>;
  /**
   * The lookup hash of `value` in the claim named `claim`: base64url (no
   * padding) of HMAC-SHA-256(hashKey, canonical JSON of `[claim, value]`),
   * where canonical JSON is RFC 8785 (sorted members, no whitespace). Equal
   * values give equal hashes whatever their member order; the value cannot
   * be read back. The claim name is part of the input, so one value in two
   * hashed claims (an e-mail as `email` and as `login`) gives two unrelated
   * hashes: tokens cannot be linked across claims by their hashes.
   *
   * Throws {@link ConfigInvalid} when no `hashKey` was configured, and
   * {@link InvalidArgument} for a value JSON cannot carry or one whose
   * canonical JSON exceeds 16 KiB.
   *
   * @example
   * ```ts
   * // A resource server finds the customer a token is for:
   * const lookup = protector.hashValue('cust-42', 'customer_id');
   * ```
   */
  hashValue(value: unknown, claim: string): string;
}

/** Claim names Cloakroom sets itself, plus `enc`, which carries the encrypted claims. */
const RESERVED = new Set(['iss', 'aud', 'sub', 'exp', 'iat', 'nbf', 'jti', 'enc']);
const MAX_NAME_LENGTH = 256;
// As large as all of a session's claims may be (MAX_CLAIMS_BYTES in session/context.ts).
const MAX_HASHED_JSON = 16 * 1024;
const MAX_KEY_ID_LENGTH = 256;

function fail(message: string): never {
  throw new ConfigInvalid(`claimProtection: ${message}`);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function readNames(value: unknown, option: string): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) fail(`${option} must be an array of claim names`);
  const names: string[] = [];
  for (const name of value as unknown[]) {
    if (typeof name !== 'string' || name.length === 0 || name.length > MAX_NAME_LENGTH) {
      fail(`${option} entries must be non-empty strings of at most ${MAX_NAME_LENGTH} characters`);
    }
    if (RESERVED.has(name)) fail(`claim "${name}" is reserved and cannot be protected`);
    // Would alter the prototype of the restored claims object in careless consumers.
    if (name === '__proto__') fail(`claim "__proto__" cannot be protected`);
    if (names.includes(name)) fail(`claim "${name}" is listed twice in ${option}`);
    names.push(name);
  }
  return names;
}

function readKey(value: unknown, label: string): Uint8Array | undefined {
  if (value === undefined) return undefined;
  // import256BitKey throws ConfigInvalid naming only the label, never key bytes.
  return import256BitKey(value, `claimProtection: ${label}`);
}

/** Key bytes per protector, for the manager's one-key-per-purpose check; never on the public object. */
const KEYS = new WeakMap<ClaimProtector, readonly Uint8Array[]>();

/**
 * The key bytes a protector holds. Internal (not re-exported): lets the
 * session manager refuse a claim key that equals one of its signing,
 * storage or index keys (SEC-12).
 */
export function claimProtectionKeys(protector: ClaimProtector): readonly Uint8Array[] {
  return KEYS.get(protector) ?? [];
}

/**
 * Configure claim protection (SEC-25): sensitive claims are encrypted into a
 * nested JWE (`dir` or `A256KW` with `A256GCM`, header
 * `{ alg, enc: 'A256GCM', cty: 'json', kid? }`, never `zip`) and lookup
 * claims are replaced by a keyed hash, so a token forwarded to another
 * service or written to a log reveals neither. Services holding
 * `encryptionKey` restore the sensitive claims with `openProtectedClaims`.
 *
 * Checked here, each failure a {@link ConfigInvalid}: at least one claim to
 * protect; names non-empty, unique, not in both lists, not a registered
 * claim (`iss aud sub exp iat nbf jti`) nor `enc`; each key exactly 32
 * bytes from a CSPRNG (repeated-byte keys refused), present when its list
 * is non-empty, and the two keys different (SEC-12); `alg` `dir` or
 * `A256KW`; `keyId` a non-empty string.
 *
 * With `dir` every token is one AES-GCM encryption under the same key with
 * a random 96-bit IV; past ~2³² tokens per key rotate it or use `A256KW`,
 * which wraps a fresh content key per token.
 *
 * @default alg `'dir'`
 * @example
 * ```ts
 * const protector = claimProtection({
 *   encrypt: ['email', 'address'],
 *   hash: ['customer_id'],
 *   encryptionKey: process.env.CLAIM_ENCRYPTION_KEY, // 43 base64url characters
 *   hashKey: process.env.CLAIM_HASH_KEY,
 * });
 * const claims = await protector.protect({ email: 'a@example.com', customer_id: 'c-17', plan: 'pro' });
 * // { plan: 'pro', customer_id: '<43 base64url chars>', enc: '<compact JWE>' }
 * ```
 */
export function claimProtection(options: ClaimProtectionOptions): ClaimProtector {
  if (!isPlainObject(options)) fail('options must be an object');
  const encrypted = readNames(options.encrypt, 'encrypt');
  const hashed = readNames(options.hash, 'hash');
  if (encrypted.length === 0 && hashed.length === 0) {
    fail('nothing to protect: list claim names in encrypt or hash');
  }
  for (const name of encrypted) {
    if (hashed.includes(name)) fail(`claim "${name}" cannot be both encrypted and hashed`);
  }
  const encryptionKey = readKey(options.encryptionKey, 'encryptionKey');
  const hashKey = readKey(options.hashKey, 'hashKey');
  if (encrypted.length > 0 && encryptionKey === undefined) {
    fail('encryptionKey is required when encrypt lists claims');
  }
  if (hashed.length > 0 && hashKey === undefined) {
    fail('hashKey is required when hash lists claims');
  }
  if (encryptionKey !== undefined && hashKey !== undefined && sameBytes(encryptionKey, hashKey)) {
    fail('encryptionKey and hashKey must be different keys');
  }
  const alg = options.alg ?? 'dir';
  if (alg !== 'dir' && alg !== 'A256KW') fail('alg must be "dir" or "A256KW"');
  const keyId = options.keyId;
  if (
    keyId !== undefined &&
    (typeof keyId !== 'string' || keyId.length === 0 || keyId.length > MAX_KEY_ID_LENGTH)
  ) {
    fail(`keyId must be a non-empty string of at most ${MAX_KEY_ID_LENGTH} characters`);
  }

  const encKeyObject: KeyObject | undefined =
    encryptionKey === undefined ? undefined : createSecretKey(encryptionKey);
  const hashKeyObject: KeyObject | undefined =
    hashKey === undefined ? undefined : createSecretKey(hashKey);
  const header =
    keyId === undefined
      ? { alg, enc: 'A256GCM', cty: 'json' }
      : { alg, enc: 'A256GCM', cty: 'json', kid: keyId };

  const hashValue = (value: unknown, claim: string): string => {
    if (hashKeyObject === undefined) {
      throw new ConfigInvalid('claimProtection: hashValue needs a configured hashKey');
    }
    if (typeof claim !== 'string' || claim.length === 0 || claim.length > MAX_NAME_LENGTH) {
      throw new InvalidArgument('claimProtection: hashValue needs the claim name');
    }
    const input = canonicalJson([claim, value]);
    if (input.length > MAX_HASHED_JSON) {
      throw new InvalidArgument(
        `claimProtection: a hashed claim value exceeds ${MAX_HASHED_JSON} characters of JSON`,
      );
    }
    return createHmac('sha256', hashKeyObject).update(input).digest('base64url');
  };

  const encryptClaims = async (secret: Record<string, unknown>): Promise<string> => {
    let body: string;
    try {
      body = JSON.stringify(secret);
    } catch (cause) {
      throw new InvalidArgument('claimProtection: sensitive claims are not JSON', { cause });
    }
    const jwe = await new CompactEncrypt(utf8(body))
      .setProtectedHeader(header)
      .encrypt(encKeyObject as KeyObject);
    // The holder's limit is checked before parsing; never mint what it would refuse.
    if (jwe.length > MAX_PROTECTED_CLAIMS_LENGTH) {
      throw new InvalidArgument(
        `claimProtection: sensitive claims exceed ${MAX_PROTECTED_CLAIMS_LENGTH} characters once encrypted`,
      );
    }
    return jwe;
  };

  const protector: ClaimProtector = {
    name: 'claim-protection',
    encrypted: Object.freeze([...encrypted]),
    hashed: Object.freeze([...hashed]),
    async protect(claims) {
      if (!isPlainObject(claims)) {
        throw new InvalidArgument('claimProtection: claims must be a plain object');
      }
      if (encrypted.length > 0 && Object.hasOwn(claims, 'enc')) {
        throw new InvalidArgument(
          'claimProtection: claim "enc" carries the encrypted claims and cannot be supplied',
        );
      }
      // Would alter the prototype of objects built from the claims by careless
      // consumers; a protected name nested under one would travel in clear.
      const forbidden = forbiddenKeyIn(claims);
      if (forbidden !== undefined) {
        throw new InvalidArgument(`claimProtection: claims must not contain ${forbidden}`);
      }
      const kept: [string, unknown][] = [];
      const secret: [string, unknown][] = [];
      for (const [name, value] of Object.entries(claims)) {
        // An undefined member would vanish from the JSON anyway; treat it as absent.
        if (value === undefined) continue;
        if (encrypted.includes(name)) secret.push([name, value]);
        else if (hashed.includes(name)) kept.push([name, hashValue(value, name)]);
        else {
          // Every claim, not only the protected ones: a value JSON cannot
          // carry is refused here rather than dropped or thrown at signing.
          canonicalJson(value);
          kept.push([name, value]);
        }
      }
      // fromEntries defines own properties, so a "__proto__" claim stays data.
      if (secret.length > 0) kept.push(['enc', await encryptClaims(Object.fromEntries(secret))]);
      return Object.fromEntries(kept);
    },
    hashValue,
  };
  const held = [encryptionKey, hashKey].filter((k): k is Uint8Array => k !== undefined);
  KEYS.set(protector, Object.freeze(held));
  return Object.freeze(protector);
}
