// The reasons a token is rejected. A leaf module: jwt.ts and jws-preparse.ts
// both need the type, and keeping it here keeps them out of an import cycle.

/**
 * Why a token was rejected: on `TokenRejected#reason`, safe to log (no
 * token data).
 *
 * @example
 * ```ts
 * try {
 *   await verifyToken(token, options);
 * } catch (error) {
 *   if (error instanceof TokenRejected) log.info({ reason: (error as { reason?: TokenRejectReason }).reason });
 * }
 * ```
 */
export type TokenRejectReason =
  | 'malformed'
  | 'too-long'
  | 'unknown-kid'
  | 'alg-not-allowed'
  | 'unsupported-header'
  | 'signature'
  | 'expired'
  | 'claims';

/**
 * Why an external token (a trusted issuer's) was rejected: every
 * {@link TokenRejectReason}, plus `'jwks-unavailable'` when the provider's
 * keys could not be had. Safe to log.
 *
 * @example
 * ```ts
 * const reason: ExternalTokenRejectReason = 'jwks-unavailable';
 * ```
 */
export type ExternalTokenRejectReason = TokenRejectReason | 'jwks-unavailable';
