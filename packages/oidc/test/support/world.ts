// A BFF world: the provider above, a Cloakroom manager trusting it, and the vault.
import { type IncomingMessage, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  type CloakroomEvent,
  type CloakroomOptions,
  type SessionStore,
  createCloakroom,
  generateSecret,
  generateSigningKey,
  staticKeys,
  trustedIssuer,
} from '@cloakroom/core';
import { type OidcEvent, type OidcVault, createOidcVault } from '@cloakroom/oidc';
import { createMemoryStore } from '@cloakroom/store-memory';
import {
  CLIENT_ID,
  CLIENT_SECRET,
  RESOURCE,
  type TestProvider,
  browser,
  startProvider,
} from './provider';

const body = (req: IncomingMessage) =>
  new Promise<string>((resolve) => {
    let text = '';
    req.on('data', (chunk) => {
      text += chunk;
    });
    req.on('end', () => resolve(text));
  });

export async function bffWorld(
  options: {
    accessTokenTtlSec?: number;
    store?: SessionStore;
    earlyMs?: number;
    sessionLimit?: CloakroomOptions['sessionLimit'];
  } = {},
) {
  // The BFF's back-channel endpoint; it calls whichever vault the test set.
  let vaultRef: OidcVault | undefined;
  const bff = createServer(async (req, res) => {
    if (req.method === 'POST' && req.url === '/backchannel' && vaultRef !== undefined) {
      const answer = await vaultRef.handleBackchannelLogout(await body(req));
      res.writeHead(answer.status, answer.headers).end(answer.body);
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => bff.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(bff.address() as AddressInfo).port}`;
  const redirectUri = `${base}/callback`;
  const idp: TestProvider = await startProvider({
    redirectUri,
    backchannelUri: `${base}/backchannel`,
    ...(options.accessTokenTtlSec === undefined
      ? {}
      : { accessTokenTtlSec: options.accessTokenTtlSec }),
  });
  const signing = await generateSigningKey('EdDSA');
  const store = options.store ?? createMemoryStore();
  const events: CloakroomEvent[] = [];
  const oidcEvents: OidcEvent[] = [];
  const material = {
    signingJwk: signing.privateJwk as unknown as Record<string, unknown>,
    storage: generateSecret(),
    index: generateSecret(),
  };
  const keys = staticKeys({
    signing: [{ alg: 'EdDSA', privateKey: signing.privateJwk }],
    storage: [{ key: material.storage }],
    index: material.index,
  });
  const cloakroom = createCloakroom({
    store,
    keys,
    issuer: 'https://bff.test',
    audience: 'https://bff.test',
    trustedIssuers: [
      trustedIssuer({
        issuer: idp.issuer,
        jwksUri: `${idp.issuer}/jwks`,
        audience: RESOURCE,
        typ: 'at+jwt',
        allowInsecureLoopback: true,
      }),
    ],
    onEvent: (e) => events.push(e),
    ...(options.sessionLimit === undefined ? {} : { sessionLimit: options.sessionLimit }),
  });
  const secret = generateSecret();
  const vault = createOidcVault({
    cloakroom,
    store,
    issuer: idp.issuer,
    clientId: CLIENT_ID,
    clientSecret: CLIENT_SECRET,
    redirectUri,
    secret,
    scope: 'openid offline_access api:read',
    resource: RESOURCE,
    secureCookies: false,
    allowInsecureLoopback: true,
    refresh: { earlyMs: options.earlyMs ?? 30_000, leaseMs: 10_000, timeoutMs: 5_000 },
    onEvent: (e) => oidcEvents.push(e),
  });
  vaultRef = vault;
  /** A user signs in through a browser: the ticket and what completeSignIn returned. */
  const signIn = async (opts: Parameters<OidcVault['beginSignIn']>[0] = {}) => {
    const start = await vault.beginSignIn(opts);
    const callback = await browser().authorize(start.url, redirectUri);
    const cookie = vault.readTransactionCookie(start.setCookie.split(';')[0]);
    return vault.completeSignIn(callback, cookie);
  };
  return {
    idp,
    cloakroom,
    vault,
    store,
    keys,
    material,
    secret,
    redirectUri,
    events,
    oidcEvents,
    signIn,
    setVault(v: OidcVault) {
      vaultRef = v;
    },
    async close() {
      await cloakroom.close();
      await idp.close().catch(() => undefined);
      bff.closeAllConnections();
      await new Promise<void>((r) => bff.close(() => r()));
    },
  };
}
