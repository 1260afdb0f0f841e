import { type KeyObject, generateKeyPair, randomFillSync } from 'node:crypto';
import { InvalidArgument } from '../errors';
import type { Jwk, PublicJwk, SigningAlgorithm } from '../contracts/keys';
import { isAsymmetricAlgorithm, publicJwkOf } from './key-import';

type AsymmetricAlgorithm = Exclude<SigningAlgorithm, 'HS256'>;

/** A freshly generated signing key pair, as JWKs ready for configuration and a JWKS. */
export interface GeneratedSigningKey {
  readonly alg: Exclude<SigningAlgorithm, 'HS256'>;
  /** RFC 7638 thumbprint of the public key. */
  readonly kid: string;
  /** The private JWK (with `kid`, `alg`, `use: 'sig'`); keep it secret. Feeds `staticKeys`. */
  readonly privateJwk: Jwk;
  /** The public JWK for a JWKS. */
  readonly publicJwk: PublicJwk;
}

interface KeyPair {
  publicKey: KeyObject;
  privateKey: KeyObject;
}

function generatePair(alg: AsymmetricAlgorithm): Promise<KeyPair> {
  return new Promise((resolve, reject) => {
    const done = (err: Error | null, publicKey: KeyObject, privateKey: KeyObject) =>
      err ? reject(err) : resolve({ publicKey, privateKey });
    switch (alg) {
      case 'EdDSA':
        return generateKeyPair('ed25519', {}, done);
      case 'ES256':
        return generateKeyPair('ec', { namedCurve: 'prime256v1' }, done);
      case 'PS256':
      case 'RS256':
        return generateKeyPair('rsa', { modulusLength: 3072 }, done);
    }
  });
}

/**
 * Generate a signing key pair from the CSPRNG: Ed25519 for EdDSA (the
 * default), P-256 for ES256, RSA 3072 for PS256/RS256. For HS256 use
 * {@link generateSecret} instead. Key generation runs off the main thread.
 *
 * Throws {@link InvalidArgument} for any other algorithm.
 *
 * @default alg `'EdDSA'`
 * @example
 * ```ts
 * const { privateJwk, kid } = await generateSigningKey();
 * const keys = staticKeys({ signing: [{ alg: 'EdDSA', privateKey: privateJwk }], storage, index });
 * ```
 */
export async function generateSigningKey(
  alg: Exclude<SigningAlgorithm, 'HS256'> = 'EdDSA',
): Promise<GeneratedSigningKey> {
  if (!isAsymmetricAlgorithm(alg)) {
    throw new InvalidArgument('generateSigningKey: alg must be EdDSA, ES256, PS256 or RS256');
  }
  const { publicKey, privateKey } = await generatePair(alg);
  const publicJwk = publicJwkOf(publicKey, alg);
  const privateJwk: Jwk = {
    ...privateKey.export({ format: 'jwk' }),
    kid: publicJwk.kid,
    alg,
    use: 'sig',
  };
  return { alg, kid: publicJwk.kid, privateJwk, publicJwk };
}

/**
 * `bytes` random bytes from the CSPRNG, for HS256 secrets, storage keys and
 * the index key (SEC-12).
 *
 * Throws {@link InvalidArgument} when `bytes` is not an integer from 32 to 1024.
 *
 * @default bytes `32`
 * @example
 * ```ts
 * const storageKey = Buffer.from(generateSecret()).toString('base64url'); // 43 characters
 * ```
 */
export function generateSecret(bytes = 32): Uint8Array {
  if (!Number.isInteger(bytes) || bytes < 32 || bytes > 1024) {
    throw new InvalidArgument('generateSecret: bytes must be an integer from 32 to 1024');
  }
  // A dedicated buffer, never a slice of a shared pool another caller could read.
  return randomFillSync(new Uint8Array(bytes));
}
