// A real identity-provider stand-in for trustedIssuer tests: a node:http
// server on 127.0.0.1 serving a JWKS the test controls, counting requests,
// and able to misbehave (hang, fail, redirect, send too much).
import { type KeyObject, type JsonWebKey, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { SignJWT } from 'jose';

export type Mode =
  | { readonly kind: 'ok' }
  | { readonly kind: 'hang' }
  | { readonly kind: 'status'; readonly status: number; readonly location?: string }
  | { readonly kind: 'raw'; readonly body: string; readonly chunked?: boolean };

export interface JwksServer {
  /** URL of the JWKS document. */
  readonly url: string;
  /** Requests received so far. */
  readonly requests: () => number;
  /** TCP connections currently open to the server. */
  readonly openConnections: () => number;
  /** Replace the served key set. */
  setKeys(keys: readonly unknown[]): void;
  /** Change how the server answers. */
  setMode(mode: Mode): void;
  /** Stop listening and drop every open connection. */
  close(): Promise<void>;
}

/**
 * A throwaway self-signed certificate for 127.0.0.1 and localhost, made by
 * the openssl command line (Node has no certificate-issuing API). Fails,
 * rather than skips, when openssl is missing.
 */
export function selfSignedCertificate(): { key: string; cert: string } {
  const dir = mkdtempSync(join(tmpdir(), 'cloakroom-tls-'));
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
        '-days',
        '1',
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=IP:127.0.0.1,DNS:localhost',
      ],
      { stdio: 'ignore' },
    );
    return {
      key: readFileSync(join(dir, 'key.pem'), 'utf8'),
      cert: readFileSync(join(dir, 'cert.pem'), 'utf8'),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Start a JWKS server on an ephemeral loopback port (HTTPS when `tls` is given). */
export async function startJwksServer(
  keys: readonly unknown[] = [],
  tls?: { readonly key: string; readonly cert: string },
): Promise<JwksServer> {
  let served: readonly unknown[] = keys;
  let mode: Mode = { kind: 'ok' };
  let count = 0;
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    count += 1;
    req.resume();
    switch (mode.kind) {
      case 'hang':
        return; // never answer; the client's deadline must end the exchange
      case 'status':
        res.writeHead(mode.status, mode.location ? { location: mode.location } : {});
        res.end('{}');
        return;
      case 'raw':
        if (mode.chunked) {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.write(mode.body.slice(0, 10));
          res.end(mode.body.slice(10));
        } else {
          res.writeHead(200, { 'content-type': 'application/json' }).end(mode.body);
        }
        return;
      default:
        res.writeHead(200, { 'content-type': 'application/jwk-set+json' });
        res.end(JSON.stringify({ keys: served }));
    }
  };
  const server: Server = tls ? createHttpsServer(tls, handler) : createServer(handler);
  let open = 0;
  server.on('connection', (socket) => {
    open += 1;
    socket.on('close', () => {
      open -= 1;
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  let closed = false;
  return {
    url: `${tls ? 'https' : 'http'}://127.0.0.1:${port}/.well-known/jwks.json`,
    requests: () => count,
    openConnections: () => open,
    setKeys: (next) => {
      served = next;
    },
    setMode: (next) => {
      mode = next;
    },
    close: async () => {
      if (closed) return;
      closed = true;
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export type TestAlg = 'RS256' | 'PS256' | 'ES256' | 'EdDSA';

/** A provider key pair: its private key signs, `jwk` is what the JWKS publishes. */
export interface ProviderKey {
  readonly kid: string;
  readonly alg: TestAlg;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  readonly jwk: JsonWebKey & { kid: string };
}

/** Generate a key pair; `jwkAlg: false` leaves `alg` out of the JWK, `extra` adds members. */
export function providerKey(
  alg: TestAlg,
  kid: string,
  opts: { jwkAlg?: boolean; extra?: Record<string, unknown>; rsaBits?: number } = {},
): ProviderKey {
  const pair =
    alg === 'ES256'
      ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
      : alg === 'EdDSA'
        ? generateKeyPairSync('ed25519')
        : generateKeyPairSync('rsa', { modulusLength: opts.rsaBits ?? 2048 });
  const publicKey = createPublicKey(pair.privateKey);
  const jwk = {
    ...publicKey.export({ format: 'jwk' }),
    kid,
    use: 'sig',
    ...(opts.jwkAlg === false ? {} : { alg }),
    ...opts.extra,
  } as JsonWebKey & { kid: string };
  return { kid, alg, privateKey: pair.privateKey, publicKey, jwk };
}

/** Sign `claims` with `key`; `header` overrides or adds protected header members. */
export function signExternal(
  key: ProviderKey,
  claims: Record<string, unknown>,
  header: Record<string, unknown> = {},
): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT', ...header } as { alg: string })
    .sign(key.privateKey);
}

/** A controllable clock in milliseconds. */
export function fakeClock(start: number) {
  let t = start;
  return {
    now: () => t,
    advance: (ms: number) => {
      t += ms;
    },
    seconds: () => Math.floor(t / 1000),
  };
}
