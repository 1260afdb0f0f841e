// The stateless alternatives beside Cloakroom's resolve, measured side by side
// in one process: iron-session's unseal (the encrypted-cookie session) and a
// JWT verify with jose (the bearer token in the browser), each holding the
// same claims and access token Cloakroom's session holds.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createMemoryStore } from '@cloakroom/store-memory';
import { unsealData, sealData } from 'iron-session';
import { SignJWT, importSPKI, jwtVerify } from 'jose';
import type { BenchConfig } from './config';
import { AUDIENCE, CLAIMS, type Fixture, ISSUER, cloakroomOver } from './fixture';
import { type Sample, type Stat, measure, pairedRatio, stat } from './measure';

export const STATELESS = [
  'cloakroom resolve (memory store)',
  'iron-session unsealData',
  'jose jwtVerify EdDSA',
  'jose jwtVerify ES256',
] as const;
export type StatelessCase = (typeof STATELESS)[number];

export interface StatelessRow {
  readonly name: StatelessCase;
  readonly stat: Stat;
  /** Median of per-round ratios: this case's ops/s over Cloakroom's resolve. */
  readonly vsResolve: number;
}

/** A signed access token like the one Cloakroom keeps: same claims, 15 minutes. */
async function accessToken(alg: 'EdDSA' | 'ES256') {
  const { privateKey, publicKey } =
    alg === 'EdDSA'
      ? generateKeyPairSync('ed25519')
      : generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const token = await new SignJWT({ ...CLAIMS })
    .setProtectedHeader({ alg, typ: 'at+jwt', kid: alg })
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setSubject('user-42')
    .setIssuedAt()
    .setExpirationTime('15m')
    .setJti(randomBytes(16).toString('base64url'))
    .sign(privateKey);
  // A verifier holds the imported CryptoKey (as createRemoteJWKSet caches it), not a PEM.
  const spki = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  return { token, publicKey: await importSPKI(spki, alg) };
}

/** One measured operation per case, each throwing on a wrong answer. */
async function cases(fixture: Fixture, pool: number) {
  const store = createMemoryStore({ maxSessions: pool + 10 });
  const cloakroom = cloakroomOver(fixture, store);
  const tickets: string[] = [];
  for (let i = 0; i < pool; i++) {
    tickets.push((await cloakroom.create(`user-${i % 97}`, { ...CLAIMS })).ticket);
  }
  const eddsa = await accessToken('EdDSA');
  const es256 = await accessToken('ES256');
  // iron-session's cookie carries what the app needs per request: subject,
  // claims and the access token (its documented pattern for a BFF).
  const password = randomBytes(32).toString('base64url');
  const cookie = await sealData(
    { sub: 'user-42', claims: CLAIMS, token: eddsa.token },
    { password, ttl: 14 * 24 * 3600 },
  );
  const verify = (t: Awaited<ReturnType<typeof accessToken>>) => async () => {
    const { payload } = await jwtVerify(t.token, t.publicKey, {
      issuer: ISSUER,
      audience: AUDIENCE,
      typ: 'at+jwt',
    });
    if (payload.sub !== 'user-42') throw new Error('jwtVerify: wrong subject');
  };
  const run: Record<StatelessCase, (i: number) => Promise<void>> = {
    'cloakroom resolve (memory store)': async (i) => {
      if ((await cloakroom.resolve(tickets[(i * 7919) % pool] as string)) === null) {
        throw new Error('cloakroom: resolve missed');
      }
    },
    'iron-session unsealData': async () => {
      const data = await unsealData<{ sub?: string }>(cookie, { password });
      if (data.sub !== 'user-42') throw new Error('iron-session: unseal failed');
    },
    'jose jwtVerify EdDSA': verify(eddsa),
    'jose jwtVerify ES256': verify(es256),
  };
  return { run, close: () => cloakroom.close() };
}

/**
 * Sequential calls (1 in flight: every case is CPU-bound in this process),
 * in alternating rounds with the order rotated each round; ratios are per
 * round against Cloakroom's resolve.
 */
export async function runStateless(
  fixture: Fixture,
  config: BenchConfig,
  log: (line: string) => void,
): Promise<StatelessRow[]> {
  const { run, close } = await cases(fixture, config.quick ? 16 : 1000);
  const samples = new Map<StatelessCase, Sample[]>(STATELESS.map((c) => [c, []]));
  try {
    if (!config.quick) {
      for (const c of STATELESS) await measure((i) => run[c](i).then(() => true), 1, 100, 10_000);
    }
    for (let round = 0; round < config.rounds; round++) {
      for (let k = 0; k < STATELESS.length; k++) {
        const c = STATELESS[(k + round) % STATELESS.length] as StatelessCase;
        const sample = await measure(
          (i) => run[c](i).then(() => true),
          1,
          config.durationMs,
          config.maxOps,
        );
        samples.get(c)?.push(sample);
      }
      log(`  stateless: round ${round + 1}/${config.rounds} done`);
    }
  } finally {
    await close();
  }
  const base = samples.get(STATELESS[0]) as Sample[];
  return STATELESS.map((name) => {
    const mine = samples.get(name) as Sample[];
    return { name, stat: stat(mine), vsResolve: pairedRatio(mine, base) };
  });
}

/** The comparison as Markdown. */
export function statelessMarkdown(rows: readonly StatelessRow[]): string {
  const f = (n: number) => (n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(1));
  const lines = [
    '| per request (1 in flight) | ops/s | CPU µs/op | ops/s vs Cloakroom resolve |',
    '|---|--:|--:|--:|',
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.name} | ${f(r.stat.median)} (${f(r.stat.min)}–${f(r.stat.max)}) | ${f(r.stat.cpuUsPerOp)} | ${r.vsResolve.toFixed(2)}x |`,
    );
  }
  return lines.join('\n');
}
