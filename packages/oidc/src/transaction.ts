// The short-lived sign-in transaction: state, nonce and PKCE verifier,
// sealed (AES-256-GCM, a JWE) into a cookie of the browser that started the
// sign-in, so the callback needs no server-side state.
import { EncryptJWT, jwtDecrypt } from 'jose';
import { SignInFailed } from './errors';

/** What the transaction cookie holds. */
export interface Transaction {
  readonly state: string;
  readonly nonce: string;
  readonly verifier: string;
  /** Where to send the user after sign-in (app-supplied, checked by the app). */
  readonly returnTo?: string;
  /** The `max_age` requested, checked against `auth_time`. */
  readonly maxAge?: number;
}

export async function sealTransaction(
  key: Uint8Array,
  tx: Transaction,
  ttlSec: number,
): Promise<string> {
  return new EncryptJWT({ ...tx })
    .setProtectedHeader({ alg: 'dir', enc: 'A256GCM', typ: 'cloakroom-oidc-tx' })
    .setIssuedAt()
    .setExpirationTime(`${ttlSec}s`)
    .encrypt(key);
}

export async function openTransaction(key: Uint8Array, sealed: unknown): Promise<Transaction> {
  if (typeof sealed !== 'string' || sealed.length === 0 || sealed.length > 4096) {
    throw new SignInFailed('transaction', 'no sign-in transaction cookie');
  }
  try {
    const { payload } = await jwtDecrypt(sealed, key, {
      keyManagementAlgorithms: ['dir'],
      contentEncryptionAlgorithms: ['A256GCM'],
      typ: 'cloakroom-oidc-tx',
    });
    const { state, nonce, verifier } = payload;
    if (typeof state !== 'string' || typeof nonce !== 'string' || typeof verifier !== 'string') {
      throw new Error('shape');
    }
    return payload as unknown as Transaction;
  } catch (cause) {
    throw new SignInFailed(
      'transaction',
      'the sign-in transaction is invalid or expired',
      undefined,
      {
        cause,
      },
    );
  }
}
