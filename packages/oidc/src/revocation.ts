// RFC 7009 token revocation at the provider, on sign-out. Best effort, under
// a deadline, reported per token; a token never appears in a report or event.
import type { VaultConfig } from './config';

/** The outcome for one token: revoked (200), failed (with a status or error name), or the provider has no revocation endpoint. */
export type RevocationOutcome = 'revoked' | 'failed' | 'unsupported' | 'none';

/** What upstream revocation did, per token. */
export interface RevocationReport {
  readonly refreshToken: RevocationOutcome;
  readonly accessToken: RevocationOutcome;
}

async function revokeOne(
  c: VaultConfig,
  endpoint: string | undefined | null,
  token: string | undefined,
  hint: 'refresh_token' | 'access_token',
  sessionId: string | undefined,
): Promise<RevocationOutcome> {
  if (token === undefined) return 'none';
  const base = {
    type: 'oidc.upstream_revocation' as const,
    token: hint,
    ...(sessionId === undefined ? {} : { sessionId }),
  };
  if (endpoint === undefined) {
    c.emit({ ...base, outcome: 'unsupported' });
    return 'unsupported';
  }
  if (endpoint === null) {
    c.emit({ ...base, outcome: 'failed', detail: 'discovery' });
    return 'failed';
  }
  try {
    const { status, body } = await c.post(endpoint, { token, token_type_hint: hint });
    // RFC 7009 §2.2: 200 whether or not the token was valid.
    if (status === 200) {
      c.emit({ ...base, outcome: 'revoked' });
      return 'revoked';
    }
    // §2.2.1: the provider cannot revoke this kind of token (e.g. a JWT access token: it lives until exp).
    if (status === 400 && body?.error === 'unsupported_token_type') {
      c.emit({ ...base, outcome: 'unsupported' });
      return 'unsupported';
    }
    c.emit({ ...base, outcome: 'failed', detail: `HTTP ${status}` });
  } catch (error) {
    c.emit({ ...base, outcome: 'failed', detail: error instanceof Error ? error.name : 'error' });
  }
  return 'failed';
}

/** Revoke a refresh token (first: it outlives the access token) and an access token at the provider. */
export async function revokeUpstream(
  c: VaultConfig,
  tokens: { readonly refreshToken?: string | undefined; readonly accessToken?: string | undefined },
  sessionId?: string,
): Promise<RevocationReport> {
  let endpoint: string | undefined | null;
  try {
    endpoint = (await c.metadata()).revocation_endpoint;
  } catch {
    // Discovery failed: no request can be made, which is a failure, not "unsupported".
    endpoint = null;
  }
  const refreshToken = await revokeOne(
    c,
    endpoint,
    tokens.refreshToken,
    'refresh_token',
    sessionId,
  );
  const accessToken = await revokeOne(c, endpoint, tokens.accessToken, 'access_token', sessionId);
  return { refreshToken, accessToken };
}
