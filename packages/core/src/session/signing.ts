// Signing the app's own session tokens: the claims (protected when
// configured), the registered claims, and the key, read without an await
// when the key provider has a snapshot. Internal.
import type { KeyProvider, SigningKey } from '../contracts/keys';
import { type ClaimProtector, claimProtectionKeys } from '../claims/claim-protection';
import { publicRandomId } from '../crypto/random-pool';
import { ConfigInvalid } from '../errors';
import { signTokenNow } from '../jwt/jwt';
import { sameBytes } from '../keys/key-import';

/** A signed session token, its key id and its `exp` in milliseconds. */
export interface SignedToken {
  readonly token: string;
  readonly kid: string;
  readonly tokenExp: number;
}

/** What {@link createSigner} needs of the manager's options. */
export interface SignerOptions {
  readonly keys: KeyProvider;
  readonly protector: ClaimProtector | undefined;
  readonly issuer: string;
  readonly audience: string;
  readonly typ: string;
  /** Token lifetime (ms); a token never outlives the session's absolute deadline. */
  readonly tokenMs: number;
}

/**
 * The manager's `signFor`: a token for `subject` with `claims`, issued at
 * `at`, expiring at `at + tokenMs` or `abs`, whichever is first (SEC-05).
 * Synchronous in the usual case (a key snapshot, no claim protection); a
 * promise otherwise. May throw synchronously.
 */
export function createSigner(
  options: SignerOptions,
): (
  subject: string,
  claims: Record<string, unknown>,
  at: number,
  abs: number,
) => SignedToken | Promise<SignedToken> {
  const { keys, protector } = options;
  let protectorChecked = false;

  const signClaims = (
    key: SigningKey,
    visible: Record<string, unknown>,
    subject: string,
    at: number,
    abs: number,
  ): SignedToken => {
    const tokenExp = Math.min(at + options.tokenMs, abs);
    const token = signTokenNow(
      key,
      {
        ...visible,
        iss: options.issuer,
        aud: options.audience,
        sub: subject,
        iat: Math.floor(at / 1000),
        // Floor keeps `exp` at or before the absolute deadline (SEC-05).
        exp: Math.floor(tokenExp / 1000),
        jti: publicRandomId(16),
      },
      { typ: options.typ },
    );
    return { token, kid: key.kid, tokenExp: Math.floor(tokenExp / 1000) * 1000 };
  };

  const signAfterAwaits = async (
    subject: string,
    claims: Record<string, unknown>,
    at: number,
    abs: number,
  ): Promise<SignedToken> => {
    const key = await keys.signingKey();
    if (protector !== undefined && !protectorChecked) {
      await checkProtectorKeys(protector, keys, key);
      protectorChecked = true;
    }
    const visible = protector === undefined ? claims : await protector.protect(claims);
    return signClaims(key, visible, subject, at, abs);
  };

  return (subject, claims, at, abs) => {
    // The usual case (keys in memory, no claim protection): signed without an await.
    const key = protector === undefined ? keys.snapshot?.()?.signing : undefined;
    if (key !== undefined) return signClaims(key, claims, subject, at, abs);
    return signAfterAwaits(subject, claims, at, abs);
  };
}

/** SEC-12: the claim keys must not reuse bytes of any other purpose's key. Checked once, lazily (key lookups are async). */
async function checkProtectorKeys(
  protector: ClaimProtector,
  keys: KeyProvider,
  signing: SigningKey,
): Promise<void> {
  const others: Uint8Array[] = [
    await keys.indexKey(),
    ...(await keys.storageKeys()).keys.map((k) => k.key),
  ];
  if (signing.key.type === 'secret') others.push(new Uint8Array(signing.key.export()));
  for (const mine of claimProtectionKeys(protector)) {
    if (others.some((o) => sameBytes(o, mine))) {
      throw new ConfigInvalid(
        'a claim protection key reuses the bytes of another key; use one key per purpose',
      );
    }
  }
}
