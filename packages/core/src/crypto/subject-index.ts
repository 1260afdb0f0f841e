import { createHmac } from 'node:crypto';
import { ConfigInvalid, InvalidArgument } from '../errors';
import { timingSafeEqual } from './constant-time';

const MAX_SUBJECT_BYTES = 1024;
// A lone surrogate encodes to U+FFFD, so two different subjects would share
// one index (revoking one would revoke the other): reject them instead.
const LONE_SURROGATE = /\p{Cs}/u;

/**
 * The subject index stored with each session: base64url HMAC-SHA-256 of
 * the subject's UTF-8 bytes under the index key (43 characters). It lets
 * "revoke all sessions of user X" work without the store holding user ids
 * in clear; without the key the index cannot be tied back to a subject.
 *
 * @param subject - non-empty, well-formed UTF-16 (no lone surrogates), at
 * most 1024 UTF-8 bytes.
 * @param indexKey - the dedicated index key from `KeyProvider.indexKey()`.
 * @throws InvalidArgument when the subject is not a string, is empty, is
 * too long or holds a lone surrogate (the message never includes the subject).
 * @throws ConfigInvalid when the index key is shorter than 32 bytes (SEC-12).
 * @example
 * ```ts
 * const index = subjectIndex('user-42', await keys.indexKey());
 * await store.deleteBySubject(index);
 * ```
 */
export function subjectIndex(subject: string, indexKey: Uint8Array): string {
  // Checking the string length first bounds the work for huge inputs: a
  // UTF-16 code unit encodes to at least one UTF-8 byte.
  if (
    typeof subject !== 'string' ||
    subject.length === 0 ||
    subject.length > MAX_SUBJECT_BYTES ||
    Buffer.byteLength(subject, 'utf8') > MAX_SUBJECT_BYTES ||
    LONE_SURROGATE.test(subject)
  ) {
    throw new InvalidArgument(
      'subject must be a non-empty, well-formed string of at most 1024 UTF-8 bytes',
    );
  }
  if (!(indexKey instanceof Uint8Array) || indexKey.byteLength < 32) {
    throw new ConfigInvalid('the index key must be at least 32 bytes');
  }
  return createHmac('sha256', indexKey).update(subject, 'utf8').digest('base64url');
}

// SEC-29: a subject is indexed within its namespace (tenant, and the issuer
// that vouches for it, or none for the app's own subjects). Each namespace
// gets its own HMAC key, derived from the index key by HMAC under a label, so
// indexes of two namespaces (and the pre-namespace index, HMAC of the subject
// under the index key itself) are outputs of independent PRFs and never meet.
// JSON of the pair keeps the encoding unambiguous whatever the names contain.
const NAMESPACE_LABEL = 'cloakroom/subject-namespace/v1\0';

/**
 * The index key of one namespace. Internal: not re-exported.
 * @param tenant - `''` when no tenant is configured.
 * @param issuer - the trusted issuer's name, `undefined` for the app's own subjects.
 */
export function namespaceIndexKey(
  indexKey: Uint8Array,
  tenant: string,
  issuer: string | undefined,
): Uint8Array {
  if (!(indexKey instanceof Uint8Array) || indexKey.byteLength < 32) {
    throw new ConfigInvalid('the index key must be at least 32 bytes');
  }
  const mac = createHmac('sha256', indexKey)
    .update(NAMESPACE_LABEL + JSON.stringify([tenant, issuer ?? null]), 'utf8')
    .digest();
  return new Uint8Array(mac.buffer, mac.byteOffset, mac.byteLength);
}

/**
 * Namespace index keys, derived once per index key and issuer: what
 * `indexOf` runs on every create. Keyed by the index key's bytes, not its
 * object, because a provider may hand out a fresh copy per call
 * (`rotatingKeys` does, so a caller cannot scribble on its key), and a cache
 * keyed by object would derive again on every create. Holds one index key
 * generation (its own copy): a rotated index key replaces it and its
 * derived keys. Internal: not re-exported.
 * @param tenant - `''` when no tenant is configured.
 */
export function namespaceKeyCache(
  tenant: string,
): (indexKey: Uint8Array, issuer: string | undefined) => Uint8Array {
  let generation: Uint8Array | undefined;
  let perIssuer = new Map<string, Uint8Array>();
  return (indexKey, issuer) => {
    if (
      !(indexKey instanceof Uint8Array) ||
      generation === undefined ||
      !timingSafeEqual(generation, indexKey)
    ) {
      // Derive first: it checks the key, and a bad one leaves the cache as it was.
      const derived = namespaceIndexKey(indexKey, tenant, issuer);
      generation = new Uint8Array(indexKey);
      perIssuer = new Map([[issuer ?? '', derived]]);
      return derived;
    }
    const name = issuer ?? '';
    let key = perIssuer.get(name);
    if (key === undefined) {
      key = namespaceIndexKey(indexKey, tenant, issuer);
      perIssuer.set(name, key);
    }
    return key;
  };
}
