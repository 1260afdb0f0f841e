// The claim checks that follow a verified signature, shared by `verifyToken`
// (our own tokens) and `trustedIssuer` (a provider's): one definition, so the
// two paths cannot drift apart again (one used to accept an empty `sub`, the
// other checked a future `iat` differently). Internal: not re-exported.
import { tokenRejected } from './jws-preparse';

/** What {@link checkVerifiedClaims} needs beyond the payload. */
export interface ClaimCheckRules {
  /** The verifier's clock, in epoch milliseconds (already checked finite). */
  readonly nowMs: number;
  /** Skew allowed on `exp`, `nbf` and `iat`, in seconds (finite, ≥ 0). */
  readonly toleranceSec: number;
  /** `iat` must be present (our own tokens always carry it). @default false */
  readonly requireIat?: boolean;
  /** `jti` must be a non-empty string (our own tokens always carry one). @default false */
  readonly requireJti?: boolean;
}

const isTime = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isText = (v: unknown): v is string => typeof v === 'string' && v.length > 0;

/**
 * Checks the registered claims of a payload whose signature, `iss`, `aud`
 * and `typ` jose already verified. Repeats jose's time checks on purpose, so
 * that neither path depends on a library default for them:
 *
 * - `iss` and `sub` are non-empty strings (an empty `sub` names no one);
 * - `exp` is a finite number and not past `now - tolerance` (reason `expired`);
 * - `nbf`, when present, is finite and not after `now + tolerance`;
 * - `iat`, when present (required with `requireIat`), is finite and not
 *   after `now + tolerance`: a token cannot have been issued in the future;
 * - with `requireJti`, `jti` is a non-empty string.
 *
 * Times compare like jose's: `exp` and `nbf` against whole seconds of
 * `nowMs`, `iat` against the exact instant.
 *
 * @throws TokenRejected with reason `'expired'` for a past `exp`, otherwise
 *   `'claims'`; the message and cause carry no claim values.
 * @example
 * ```ts
 * checkVerifiedClaims(result.payload, { nowMs, toleranceSec: 5, requireIat: true, requireJti: true });
 * ```
 */
export function checkVerifiedClaims(
  payload: Readonly<Record<string, unknown>>,
  rules: ClaimCheckRules,
): void {
  const { nowMs, toleranceSec } = rules;
  const nowSec = Math.floor(nowMs / 1000);
  const { iss, sub, exp, nbf, iat, jti } = payload;
  if (!isText(iss) || !isText(sub)) throw tokenRejected('claims');
  if (!isTime(exp)) throw tokenRejected('claims');
  if (exp <= nowSec - toleranceSec) throw tokenRejected('expired');
  if (nbf !== undefined && !(isTime(nbf) && nbf <= nowSec + toleranceSec)) {
    throw tokenRejected('claims');
  }
  if (iat === undefined) {
    if (rules.requireIat === true) throw tokenRejected('claims');
  } else if (!(isTime(iat) && iat <= nowMs / 1000 + toleranceSec)) {
    throw tokenRejected('claims');
  }
  if (rules.requireJti === true && !isText(jti)) throw tokenRejected('claims');
}
