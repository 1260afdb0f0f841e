// Shared helpers for JWT tests: claims, hand-built compact JWS (for attacks
// jose refuses to produce) and the rejection reason of a verification.
import { type KeyObject, createHmac, sign } from 'node:crypto';
import { TokenRejected } from '@cloakroom/core';
import { expect } from 'vitest';

/** Seconds since the epoch the JWT tests are pinned to. */
export const JWT_NOW = 1_800_000_000;

/** `iss` of the JWT tests' own tokens. */
export const JWT_ISSUER = 'https://issuer.test';

/**
 * A complete, valid claims set for our own tokens at {@link JWT_NOW}
 * (`iss`, `aud: 'api'`, `sub: 'user-42'`, `iat`, `exp` five minutes on, `jti`);
 * `extra` overrides or adds members (`undefined` values are dropped by JSON).
 */
export const jwtClaims = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  iss: JWT_ISSUER,
  aud: 'api',
  sub: 'user-42',
  iat: JWT_NOW,
  exp: JWT_NOW + 300,
  jti: 'jti-1',
  ...extra,
});

/** base64url of a string as is, or of any other value's JSON. */
export const b64 = (value: unknown): string =>
  Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

/** Signs the exact JWS signing input. */
export type Signer = (input: Buffer) => Buffer;

export const edSigner =
  (key: KeyObject): Signer =>
  (input) =>
    sign(null, input, key);
export const esSigner =
  (key: KeyObject): Signer =>
  (input) =>
    sign('sha256', input, { key, dsaEncoding: 'ieee-p1363' });
export const rsSigner =
  (key: KeyObject): Signer =>
  (input) =>
    sign('sha256', input, key);
export const hsSigner =
  (secret: string | Uint8Array): Signer =>
  (input) =>
    createHmac('sha256', secret).update(input).digest();

/**
 * `header.payload.signature`, signed over the exact text (a string payload
 * is used verbatim); a string `signer` is the signature itself.
 */
export function forge(header: object, payload: object | string, signer: Signer | string): string {
  const input = `${b64(header)}.${b64(payload)}`;
  const sig =
    typeof signer === 'string' ? signer : signer(Buffer.from(input)).toString('base64url');
  return `${input}.${sig}`;
}

/** Awaits a verification that must fail; asserts a TokenRejected and returns it. */
export async function rejectionOf(
  attempt: Promise<unknown>,
): Promise<TokenRejected & { reason: string }> {
  const err = await attempt.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TokenRejected);
  return err as TokenRejected & { reason: string };
}

/** The `reason` of a verification that must fail with TokenRejected. */
export async function reasonOf(attempt: Promise<unknown>): Promise<string> {
  return (await rejectionOf(attempt)).reason;
}
