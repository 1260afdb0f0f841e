// A real OpenID provider (oidc-provider 9) in the test process on 127.0.0.1:
// code + PKCE, JWT access tokens for one resource, rotating refresh tokens
// (a reused one revokes the grant), revocation, back-channel logout. Login
// and consent are answered by code standing in for the user.
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type JWTPayload, SignJWT, exportJWK, generateKeyPair } from 'jose';
import Provider from 'oidc-provider';

export const RESOURCE = 'https://api.test/';
export const CLIENT_ID = 'bff';
export const CLIENT_SECRET = 'bff-client-secret-for-tests-only-0123456789';

/** Who "types the password" at the next login: account, acr and amr. */
export interface LoginAs {
  account: string;
  acr?: string;
  amr?: string[];
}

export interface TestProvider {
  readonly issuer: string;
  readonly provider: Provider;
  /** Refresh grants that succeeded, errors by description, grants revoked. */
  readonly counts: {
    refreshes: number;
    reuse: number;
    grantErrors: number;
    revokedGrants: number;
    revocations: number;
    backchannel: number;
    backchannelErrors: string[];
  };
  login: LoginAs;
  /** Sign claims with the provider's own key (attack tests: only the claim under test is wrong). */
  sign(claims: JWTPayload, header?: Record<string, unknown>): Promise<string>;
  /** Stop answering (close the server): a provider that is down. */
  close(): Promise<void>;
}

async function listen(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<Server> {
  const server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return server;
}

export async function startProvider(options: {
  redirectUri: string;
  backchannelUri?: string;
  accessTokenTtlSec?: number;
}): Promise<TestProvider> {
  let handle: (req: IncomingMessage, res: ServerResponse) => void = (_q, s) => s.end();
  const server = await listen((req, res) => handle(req, res));
  const port = (server.address() as AddressInfo).port;
  const issuer = `http://127.0.0.1:${port}`;
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const jwk = { ...(await exportJWK(privateKey)), alg: 'RS256', use: 'sig', kid: 'test-rs256' };
  const ttl = options.accessTokenTtlSec ?? 300;
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: CLIENT_ID,
        client_secret: CLIENT_SECRET,
        redirect_uris: [options.redirectUri],
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_basic',
        require_auth_time: true,
        ...(options.backchannelUri === undefined
          ? {}
          : {
              backchannel_logout_uri: options.backchannelUri,
              backchannel_logout_session_required: true,
            }),
      },
    ],
    jwks: { keys: [jwk] },
    cookies: { keys: ['test-cookie-key-0123456789'] },
    acrValues: ['urn:loa:1', 'urn:loa:2'],
    scopes: ['openid', 'offline_access', 'api:read'],
    claims: { openid: ['sub'], acr: null, amr: null, auth_time: null, sid: null } as never,
    pkce: { required: () => true },
    // The BFF listens on 127.0.0.1 in tests: drop the provider's SSRF guard
    // (which refuses loopback addresses) for its outgoing back-channel calls.
    fetch: (url: string, init: RequestInit & { dispatcher?: unknown }) => {
      const { dispatcher: _guard, ...rest } = init;
      return globalThis.fetch(url, rest);
    },
    rotateRefreshToken: true,
    issueRefreshToken: async () => true,
    interactions: {
      url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}`,
    },
    findAccount: async (_ctx: unknown, id: string) => ({
      accountId: id,
      claims: async () => ({ sub: id }),
    }),
    ttl: { IdToken: 3600, RefreshToken: 86_400, Grant: 86_400, Session: 86_400, Interaction: 600 },
    features: {
      devInteractions: { enabled: false },
      claimsParameter: { enabled: true },
      revocation: { enabled: true },
      backchannelLogout: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => RESOURCE,
        useGrantedResource: () => true,
        getResourceServerInfo: () => ({
          scope: 'api:read',
          audience: RESOURCE,
          accessTokenTTL: ttl,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'RS256' } },
        }),
      },
    },
  } as never);
  const counts = {
    refreshes: 0,
    reuse: 0,
    grantErrors: 0,
    revokedGrants: 0,
    revocations: 0,
    backchannel: 0,
    backchannelErrors: [] as string[],
  };
  // The typings list fewer events than the provider emits: a loose view of `on`.
  const on = provider.on.bind(provider) as unknown as (
    event: string,
    listener: (...args: never[]) => void,
  ) => void;
  on('grant.success', (ctx: { oidc: { params?: { grant_type?: string } } }) => {
    if (ctx.oidc.params?.grant_type === 'refresh_token') counts.refreshes++;
  });
  on(
    'grant.error',
    (
      _ctx: unknown,
      err: { error_description?: string; error_detail?: string; message?: string },
    ) => {
      counts.grantErrors++;
      const text = `${err.error_description} ${err.error_detail} ${err.message}`;
      if (text.includes('refresh token already used')) counts.reuse++;
    },
  );
  on('grant.revoked', () => counts.revokedGrants++);
  on('revocation.success', () => counts.revocations++);
  on('backchannel.success', () => counts.backchannel++);
  on('backchannel.error', (_ctx: unknown, err: Error) =>
    counts.backchannelErrors.push(err.message),
  );
  const tp: TestProvider = {
    issuer,
    provider,
    counts,
    login: { account: 'alice', acr: 'urn:loa:1', amr: ['pwd'] },
    sign: (claims, header = {}) =>
      new SignJWT(claims)
        .setProtectedHeader({ alg: 'RS256', kid: jwk.kid, typ: 'logout+jwt', ...header })
        .sign(privateKey),
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
  const callback = provider.callback();
  handle = (req, res) => {
    if (req.url?.startsWith('/interaction/')) {
      interact(tp, req, res).catch((error: unknown) => {
        res.statusCode = 500;
        res.end(String(error));
      });
      return;
    }
    callback(req, res);
  };
  return tp;
}

/** Stands in for the user at the provider's login and consent screens. */
async function interact(
  tp: TestProvider,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const { provider } = tp;
  const details = await provider.interactionDetails(req, res);
  if (details.prompt.name === 'login') {
    await provider.interactionFinished(
      req,
      res,
      { login: { accountId: tp.login.account, acr: tp.login.acr, amr: tp.login.amr } },
      { mergeWithLastSubmission: false },
    );
    return;
  }
  const accountId = details.session?.accountId as string;
  const grant = details.grantId
    ? ((await provider.Grant.find(details.grantId)) as InstanceType<typeof provider.Grant>)
    : new provider.Grant({ accountId, clientId: CLIENT_ID });
  // The user consents to whatever is missing.
  const missing = details.prompt.details as {
    missingOIDCScope?: string[];
    missingResourceScopes?: Record<string, string[]>;
  };
  if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
  for (const [resource, scopes] of Object.entries(missing.missingResourceScopes ?? {})) {
    grant.addResourceScope(resource, scopes.join(' '));
  }
  const grantId = await grant.save();
  await provider.interactionFinished(
    req,
    res,
    { consent: { grantId } },
    { mergeWithLastSubmission: true },
  );
}

/** A browser: follows redirects by hand with a cookie jar until the app's redirect URI. */
export function browser() {
  const jar = new Map<string, string>();
  const cookieHeader = () => [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
  return {
    jar,
    /** Follow from the authorization URL to the callback URL the provider sends the browser to. */
    async authorize(url: string, redirectUri: string): Promise<string> {
      let next = url;
      for (let hop = 0; hop < 12; hop++) {
        if (next.startsWith(redirectUri)) return next;
        const res = await fetch(next, { redirect: 'manual', headers: { cookie: cookieHeader() } });
        for (const c of res.headers.getSetCookie()) {
          const [pair] = c.split(';');
          const eq = (pair as string).indexOf('=');
          const name = (pair as string).slice(0, eq);
          const value = (pair as string).slice(eq + 1);
          if (/expires=Thu, 01 Jan 1970/i.test(c) || value === '') jar.delete(name);
          else jar.set(name, value);
        }
        await res.arrayBuffer();
        const location = res.headers.get('location');
        if (location === null)
          throw new Error(`the provider answered ${res.status} without a redirect`);
        next = new URL(location, next).href;
      }
      throw new Error('too many redirects');
    },
  };
}
