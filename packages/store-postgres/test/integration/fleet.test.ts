// SEC-32 across OS processes: instance A revokes, instance B (a near cache
// over store.watch(), under load) must stop answering with the session. The
// LISTEN backend of B is terminated mid-run. Figures are printed; the
// issue's 5 ms p99 target is asserted when CLOAKROOM_FLEET_STRICT=1 (a timed
// figure on a loaded shared machine), the SEC-32 guarantees always.
import { type ChildProcess, fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReaderReport, ToWorker } from './fleet-worker';
import { createWorld, type PgWorld, randomId, TEST_URL, uniqueName, urlWith } from './pg-harness';

const REVOKES = Number(process.env.CLOAKROOM_FLEET_REVOKES ?? 5000);
const HOT = 1000;
const STRICT = process.env.CLOAKROOM_FLEET_STRICT === '1';
const root = fileURLToPath(new URL('../../../../', import.meta.url));
const worker = fileURLToPath(new URL('./fleet-worker.ts', import.meta.url));

let world: PgWorld;
const children: ChildProcess[] = [];

beforeAll(async () => {
  world = await createWorld('crpg_fleet');
});
afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill();
  await world?.teardown();
});

function spawn(): ChildProcess {
  const child = fork(worker, [], {
    cwd: root,
    execArgv: ['--import', 'tsx'],
    // Workspace packages from source, as vitest resolves them.
    env: { ...process.env, TSX_TSCONFIG_PATH: `${root}tsconfig.json` },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  children.push(child);
  return child;
}

function ask<T>(child: ChildProcess, message: ToWorker | null, key: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: Record<string, unknown>) => {
      if (typeof m.error === 'string') {
        child.off('message', onMessage);
        reject(new Error(m.error));
      } else if (key in m) {
        child.off('message', onMessage);
        resolve(m[key] as T);
      }
    };
    child.on('message', onMessage);
    child.once('exit', (code) => reject(new Error(`worker exited with ${code}`)));
    if (message) child.send(message);
  });
}

const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? Number.NaN;
};

describe('SEC-32 fleet: a revoke on one process reaches the near cache of another', () => {
  it(`SEC-32 ${REVOKES} revokes under load, LISTEN backend terminated mid-run: no stale answer past the bound`, async () => {
    const table = `"${world.schema}"."cloakroom_sessions"`;
    const ids = Array.from({ length: REVOKES + HOT }, randomId);
    await world.admin.query(
      `INSERT INTO ${table} (id, subject, expires_at, version, payload)
       SELECT id, id, 4000000000000, 1, $2::bytea FROM unnest($1::text[]) AS id`,
      [ids, randomBytes(200)],
    );
    const tag = uniqueName('crpg_fleet_listen');
    const reader = spawn();
    const writer = spawn();
    const start = (role: 'reader' | 'writer', c: ChildProcess) =>
      ask(
        c,
        {
          cmd: 'start',
          role,
          url: TEST_URL,
          listenUrl: urlWith({ applicationName: tag }),
          schema: world.schema,
          ids,
          load: 4,
        },
        'ready',
      );
    await start('reader', reader);
    await start('writer', writer);

    let seen = 0;
    let terminated = 0;
    writer.on('message', (m: { revoked?: string; at?: number }) => {
      if (m.revoked === undefined || m.at === undefined) return;
      reader.send({ cmd: 'check', id: m.revoked, at: m.at } satisfies ToWorker);
      seen += 1;
      if (seen === Math.floor(REVOKES / 2)) {
        void world.admin
          .query(
            'SELECT pg_terminate_backend(pid) AS t FROM pg_stat_activity WHERE application_name = $1',
            [tag],
          )
          .then((r) => {
            terminated = r.rowCount ?? 0;
          });
      }
    });
    const began = performance.now();
    await ask(writer, { cmd: 'revoke', ids: ids.slice(0, REVOKES), concurrency: 2 }, 'done');
    const revokeMs = performance.now() - began;
    const report = await ask<ReaderReport>(reader, { cmd: 'report' }, 'report');
    for (const c of [reader, writer]) c.send({ cmd: 'stop' } satisfies ToWorker);

    const figures = {
      revokes: REVOKES,
      revokeSeconds: +(revokeMs / 1000).toFixed(1),
      invalidationDelayMs: {
        p50: +quantile(report.delays, 0.5).toFixed(3),
        p99: +quantile(report.delays, 0.99).toFixed(3),
        max: +quantile(report.delays, 1).toFixed(3),
        heard: report.delays.length,
      },
      nullAfterMs: {
        p50: +quantile(report.nullAfter, 0.5).toFixed(3),
        p99: +quantile(report.nullAfter, 0.99).toFixed(3),
      },
      staleAfter5ms: report.staleAfter5ms,
      staleAfterInvalidate: report.staleAfterInvalidate,
      staleAfterBound: report.staleAfterBound,
      cachedAtRevoke: report.cachedAtRevoke,
      resets: report.resets,
      cacheHits: report.hits,
      cacheMisses: report.misses,
    };
    console.log(`fleet figures: ${JSON.stringify(figures)}`);

    expect(terminated).toBe(1);
    expect(report.checked).toBe(REVOKES);
    // The guarantees: nothing answered after the invalidation arrived, nor past the channel's bound.
    expect(report.staleAfterInvalidate).toBe(0);
    expect(report.staleAfterBound).toBe(0);
    // The test exercised the cache: most revokes met a cached entry; the kill caused resets.
    expect(report.cachedAtRevoke).toBeGreaterThan(REVOKES / 2);
    expect(report.resets).toBeGreaterThanOrEqual(3);
    // Only invalidations sent while the connection was down go unheard (they are covered by reset).
    expect(report.delays.length).toBeGreaterThan(REVOKES * 0.9);
    expect(quantile(report.delays, 1)).toBeLessThan(report.boundMs);
    if (STRICT) {
      expect(quantile(report.nullAfter, 0.99)).toBeLessThanOrEqual(5);
      expect(report.staleAfter5ms).toBe(0);
    }
  }, 120_000);
});
