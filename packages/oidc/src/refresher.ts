// The provider side of an upstream refresh: `grant_type=refresh_token` at the
// token endpoint, mapped onto core's UpstreamGrant. Core's refreshUpstream
// makes sure only one caller in the fleet runs this per refresh token.
import type { UpstreamGrant, UpstreamRefresher } from '@cloakroom/core';
import type { VaultConfig } from './config';
import { verifyIdToken } from './id-token';

export function providerRefresher(c: VaultConfig, subject: string): UpstreamRefresher {
  return async (refreshToken, { signal }): Promise<UpstreamGrant> => {
    const meta = await c.metadata();
    const { status, body } = await c.post(
      meta.token_endpoint,
      {
        grant_type: 'refresh_token',
        refresh_token: refreshToken,
        ...(c.o.resource === undefined ? {} : { resource: c.o.resource }),
      },
      signal,
    );
    // invalid_grant: the refresh token is dead (revoked, expired, reused): final.
    if (status === 400 && body?.error === 'invalid_grant') return { rejected: 'invalid_grant' };
    if (status !== 200 || body === undefined || typeof body.access_token !== 'string') {
      // 5xx, 429, other 4xx, garbage: a failed call; core releases the lease.
      throw new Error(`token endpoint answered ${status}`);
    }
    let idToken: string | undefined;
    if (typeof body.id_token === 'string') {
      // Kept only when it verifies and is the same user (Core §12.2); else the old one stays.
      const ok = await verifyIdToken(body.id_token, {
        jwks: await c.jwks(),
        issuer: c.o.issuer,
        clientId: c.o.clientId,
        clockToleranceSec: c.tolerance,
        subject,
      }).then(
        () => true,
        () => false,
      );
      if (ok) idToken = body.id_token;
    }
    return {
      tokens: {
        accessToken: body.access_token,
        ...(typeof body.refresh_token === 'string' ? { refreshToken: body.refresh_token } : {}),
        ...(idToken === undefined ? {} : { idToken }),
      },
    };
  };
}
