// One BFF instance of the fleet test, in its own OS process: its own
// Cloakroom manager and vault over the shared Redis store, `inFlight`
// request loops calling vault.session() on the shared tickets until the
// duration is over, then a report to the parent.
import { createCloakroom, staticKeys, trustedIssuer } from '@cloakroom/core';
import { createOidcVault } from '@cloakroom/oidc';
import { createRedisStore } from '@cloakroom/store-redis';
import { decodeJwt } from 'jose';
import type { FromInstance, InstanceConfig, ToInstance } from './protocol';

const send = (m: FromInstance) => process.send?.(m);
const bytes = (b64: string) => new Uint8Array(Buffer.from(b64, 'base64url'));

async function main(): Promise<void> {
  const c = JSON.parse(process.env.FLEET_CONFIG as string) as InstanceConfig;
  const store = createRedisStore({ url: c.redisUrl, prefix: c.prefix });
  const cloakroom = createCloakroom({
    store,
    keys: staticKeys({
      signing: [{ alg: 'EdDSA', privateKey: c.signingJwk as never }],
      storage: [{ key: bytes(c.storage) }],
      index: bytes(c.index),
    }),
    issuer: 'https://bff.test',
    audience: 'https://bff.test',
    trustedIssuers: [
      trustedIssuer({
        issuer: c.issuer,
        jwksUri: `${c.issuer}/jwks`,
        audience: c.resource,
        typ: 'at+jwt',
        allowInsecureLoopback: true,
      }),
    ],
  });
  const vault = createOidcVault({
    cloakroom,
    store,
    issuer: c.issuer,
    clientId: c.clientId,
    clientSecret: c.clientSecret,
    redirectUri: c.redirectUri,
    secret: bytes(c.secret),
    resource: c.resource,
    allowInsecureLoopback: true,
    refresh: { earlyMs: c.earlyMs, leaseMs: 15_000, timeoutMs: 10_000 },
  });
  const tokens = c.tickets.map(() => new Set<string>());
  const errors: Record<string, number> = {};
  const upstream: Record<string, number> = {};
  const latencies: number[] = [];
  let requests = 0;
  let loggedOut = 0;
  let expiredTokens = 0;
  await new Promise<void>((resolve) =>
    process.once('message', (m: ToInstance) => m.type === 'go' && resolve()),
  );
  const end = Date.now() + c.durationMs;
  const loop = async (n: number) => {
    let i = n;
    while (Date.now() < end) {
      const k = i++ % c.tickets.length;
      const t0 = performance.now();
      try {
        const s = await vault.session(c.tickets[k]);
        requests++;
        if (s === null) loggedOut++;
        else {
          upstream[s.upstream] = (upstream[s.upstream] ?? 0) + 1;
          const claims = decodeJwt(s.accessToken);
          if ((claims.exp as number) * 1000 <= Date.now()) expiredTokens++;
          tokens[k]?.add(String(claims.jti));
        }
      } catch (error) {
        requests++;
        const name = error instanceof Error ? error.name : 'unknown';
        errors[name] = (errors[name] ?? 0) + 1;
      }
      latencies.push(performance.now() - t0);
      // A breath between requests: the provider shares these two cores.
      await new Promise((r) => setTimeout(r, 5));
    }
  };
  await Promise.all(Array.from({ length: c.inFlight }, (_, n) => loop(n)));
  latencies.sort((a, b) => a - b);
  send({
    type: 'report',
    requests,
    loggedOut,
    expiredTokens,
    errors,
    tokens: tokens.map((s) => [...s]),
    upstream,
    latencyMsP99: Math.round(latencies[Math.floor(latencies.length * 0.99)] ?? 0),
  });
  await cloakroom.close();
}

process.on('message', () => undefined);
main().catch((error: unknown) => {
  send({ type: 'error', message: error instanceof Error ? error.message : String(error) });
  process.exitCode = 1;
});
send({ type: 'ready' });
