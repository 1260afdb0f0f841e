// RFC 7638 JWK thumbprints, computed synchronously with node:crypto so key
// providers can derive ids at construction without awaiting Web Crypto.
// Internal: not re-exported.

import { createHash } from 'node:crypto';

/** The members a thumbprint may read; anything else in the JWK is ignored. */
export interface ThumbprintInput {
  readonly kty?: unknown;
  readonly crv?: unknown;
  readonly x?: unknown;
  readonly y?: unknown;
  readonly n?: unknown;
  readonly e?: unknown;
  readonly k?: unknown;
}

// Required members per key type, already in lexicographic order (RFC 7638 §3.2).
const REQUIRED: Readonly<Record<string, readonly (keyof ThumbprintInput)[]>> = {
  EC: ['crv', 'kty', 'x', 'y'],
  OKP: ['crv', 'kty', 'x'],
  RSA: ['e', 'kty', 'n'],
  oct: ['k', 'kty'],
};

/**
 * RFC 7638 thumbprint (base64url SHA-256) of a JWK of type EC, OKP, RSA or oct.
 * Throws a TypeError (naming only the member, never its value) when a
 * required member is missing or the key type is unsupported.
 */
export function jwkThumbprint(jwk: ThumbprintInput): string {
  const kty = jwk.kty;
  const members =
    typeof kty === 'string' && Object.hasOwn(REQUIRED, kty) ? REQUIRED[kty] : undefined;
  if (members === undefined) throw new TypeError('unsupported JWK key type for a thumbprint');
  const ordered: Record<string, string> = {};
  for (const name of members) {
    const value = jwk[name];
    if (typeof value !== 'string' || value.length === 0) {
      throw new TypeError(`JWK member "${name}" is missing`);
    }
    ordered[name] = value;
  }
  // JSON.stringify keeps insertion order and emits no whitespace, which is
  // exactly the canonical form RFC 7638 asks for (members are base64url/ASCII).
  return createHash('sha256').update(JSON.stringify(ordered)).digest('base64url');
}
