// SEC-34 across OS processes: 3 BFF instances over one Redis, each with many
// requests in flight on the same sessions, the provider's access tokens
// expiring every few seconds. The provider (oidc-provider, rotating refresh
// tokens, a reused one revokes the grant) counts refreshes. Duration and load
// are parameters: OIDC_FLEET_MS (default 20 s in CI), OIDC_FLEET_IN_FLIGHT
// (default 64), OIDC_FLEET_TTL_SEC (default 6).
import { type ChildProcess, fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { createRedisStore } from '@cloakroom/store-redis';
import { Redis } from 'ioredis';
import { decodeJwt } from 'jose';
import { afterAll, describe, expect, it } from 'vitest';
import type { FromInstance, InstanceConfig, InstanceReport } from './fleet/protocol';
import { CLIENT_ID, CLIENT_SECRET, RESOURCE } from './support/provider';
import { bffWorld } from './support/world';

const REDIS_URL = process.env.CLOAKROOM_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const DURATION_MS = Number(process.env.OIDC_FLEET_MS ?? 20_000);
const IN_FLIGHT = Number(process.env.OIDC_FLEET_IN_FLIGHT ?? 64);
const TTL_SEC = Number(process.env.OIDC_FLEET_TTL_SEC ?? 6);
// Refresh in the last half of a token's life: room for a slow provider on a loaded machine.
const EARLY_MS = Math.floor((TTL_SEC * 1000) / 2);
const INSTANCES = 3;
const SESSIONS = 3;

const here = fileURLToPath(new URL('.', import.meta.url));
const tsx = createRequire(import.meta.url).resolve('tsx');
const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64url');

async function redisOrFail(): Promise<void> {
  const client = new Redis(REDIS_URL, {
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    retryStrategy: () => null,
  });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.ping();
  } catch (cause) {
    throw new Error(
      `Redis test server unreachable at ${REDIS_URL}: start it or set CLOAKROOM_TEST_REDIS_URL`,
      { cause },
    );
  } finally {
    client.disconnect();
  }
}

function runInstance(config: InstanceConfig): {
  child: ChildProcess;
  ready: Promise<void>;
  report: Promise<InstanceReport>;
} {
  const child = fork(`${here}fleet/instance.ts`, [], {
    execArgv: ['--import', tsx],
    env: { ...process.env, FLEET_CONFIG: JSON.stringify(config) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  let onReady: () => void = () => undefined;
  const ready = new Promise<void>((r) => {
    onReady = r;
  });
  const report = new Promise<InstanceReport>((resolve, reject) => {
    child.on('message', (m: FromInstance) => {
      if (m.type === 'ready') onReady();
      else if (m.type === 'report') resolve(m);
      else reject(new Error(`instance failed: ${m.message}`));
    });
    child.on('exit', (code) => reject(new Error(`instance exited with ${code} before reporting`)));
  });
  return { child, ready, report };
}

const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill();
});

describe('SEC-34 fleet: the provider sees one refresh per expiry across 3 processes', () => {
  it(
    `${INSTANCES} instances × ${IN_FLIGHT} requests in flight, tokens expiring every ${TTL_SEC} s, for ${DURATION_MS / 1000} s: no refresh token twice, no failure, nobody logged out`,
    async () => {
      await redisOrFail();
      const prefix = `cloakroom-test:oidc-fleet:${randomBytes(6).toString('hex')}:`;
      const store = createRedisStore({ url: REDIS_URL, prefix });
      const w = await bffWorld({ accessTokenTtlSec: TTL_SEC, store });
      try {
        const tickets: string[] = [];
        for (let i = 0; i < SESSIONS; i++) {
          w.idp.login = { account: `user-${i}`, acr: 'urn:loa:1', amr: ['pwd'] };
          tickets.push((await w.signIn()).ticket);
        }
        // The tokens deposited at sign-in (they may already be due when the fleet starts).
        const initial = await Promise.all(
          tickets.map(async (t) =>
            String(decodeJwt((await w.cloakroom.resolve(t))?.token ?? '').jti),
          ),
        );
        const config: InstanceConfig = {
          redisUrl: REDIS_URL,
          prefix,
          issuer: w.idp.issuer,
          resource: RESOURCE,
          clientId: CLIENT_ID,
          clientSecret: CLIENT_SECRET,
          redirectUri: w.redirectUri,
          secret: b64(w.secret),
          storage: b64(w.material.storage),
          index: b64(w.material.index),
          signingJwk: w.material.signingJwk,
          tickets,
          durationMs: DURATION_MS,
          inFlight: IN_FLIGHT,
          earlyMs: EARLY_MS,
        };
        const fleet = Array.from({ length: INSTANCES }, () => runInstance(config));
        children.push(...fleet.map((f) => f.child));
        await Promise.all(fleet.map((f) => f.ready));
        for (const f of fleet) f.child.send({ type: 'go' });
        const reports = await Promise.all(fleet.map((f) => f.report));

        const requests = reports.reduce((n, r) => n + r.requests, 0);
        // Per session: the access tokens the fleet used that a refresh produced.
        const perSession = tickets.map(
          (_, k) =>
            new Set(reports.flatMap((r) => r.tokens[k] ?? []).filter((j) => j !== initial[k])).size,
        );
        const renewed = perSession.reduce((a, b) => a + b, 0);
        const upstream: Record<string, number> = {};
        for (const r of reports)
          for (const [k, v] of Object.entries(r.upstream)) upstream[k] = (upstream[k] ?? 0) + v;
        const figures = {
          durationMs: DURATION_MS,
          instances: INSTANCES,
          inFlight: IN_FLIGHT,
          ttlSec: TTL_SEC,
          requests,
          refreshes: w.idp.counts.refreshes,
          renewedTokensPerSession: perSession,
          reuse: w.idp.counts.reuse,
          grantErrors: w.idp.counts.grantErrors,
          revokedGrants: w.idp.counts.revokedGrants,
          loggedOut: reports.reduce((n, r) => n + r.loggedOut, 0),
          expiredTokens: reports.reduce((n, r) => n + r.expiredTokens, 0),
          errors: reports.map((r) => r.errors),
          upstream,
          latencyMsP99: reports.map((r) => r.latencyMsP99),
        };
        console.log(`oidc fleet figures: ${JSON.stringify(figures)}`);

        // Never a refresh token twice: no reuse, no grant error, no grant revoked.
        expect(figures.reuse).toBe(0);
        expect(figures.grantErrors).toBe(0);
        expect(figures.revokedGrants).toBe(0);
        // No request failed, nobody was logged out, no expired token handed out.
        expect(figures.errors.every((e) => Object.keys(e).length === 0)).toBe(true);
        expect(figures.loggedOut).toBe(0);
        expect(figures.expiredTokens).toBe(0);
        // Exactly one refresh per expiry: every refresh the provider answered
        // produced a token the fleet used (none wasted by a duplicate refresh;
        // a second refresh of one expiry would also have shown as reuse above).
        expect(figures.refreshes).toBe(renewed);
        // ...and tokens were really renewed through the run, for every session.
        for (const n of perSession) expect(n).toBeGreaterThanOrEqual(1);
      } finally {
        await w.close();
      }
    },
    DURATION_MS + 120_000,
  );
});
