// SEC-32 across OS processes: instance A revokes, instance B (core's
// nearCache over store.watch(), under load) must stop answering with the
// session. B's LISTEN backend is terminated mid-run. Figures are printed;
// the 5 ms p99 target is asserted when CLOAKROOM_FLEET_STRICT=1 (a
// timed figure on a loaded shared machine), the SEC-32 guarantees always.
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { generateSecret, generateSigningKey } from '@cloakroom/core';
import { migrate } from '@cloakroom/store-postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FleetKeys, ReaderReport, ToWorker } from './fleet-worker';
import { createWorld, type PgWorld, TEST_URL, uniqueName, urlWith } from './pg-harness';

const REVOKES = Number(process.env.CLOAKROOM_FLEET_REVOKES ?? 3000);
const HOT = 500;
const LOAD = Number(process.env.CLOAKROOM_FLEET_LOAD ?? 2);
/** Tickets revoked together (by BATCH / 2 concurrent revokes), each watched by a tight resolve loop. */
const BATCH = 8;
/** Revoking stops after this long (once MIN_REVOKES are done) even when REVOKES are not all done, so CI stays bounded. */
const BUDGET_MS = Number(process.env.CLOAKROOM_FLEET_BUDGET_MS ?? 20_000);
const MIN_REVOKES = Math.min(REVOKES, 500);
/** Where the LISTEN backend is killed: within the revokes always done. */
const KILL_AT = Math.min(Math.floor(REVOKES / 2), 400);
const STRICT = process.env.CLOAKROOM_FLEET_STRICT === '1';
const root = fileURLToPath(new URL('../../../../', import.meta.url));
const worker = fileURLToPath(new URL('./fleet-worker.ts', import.meta.url));

let world: PgWorld;
const children: ChildProcess[] = [];

beforeAll(async () => {
  world = await createWorld('crpg_fleet');
  await migrate(world.admin, { ...world.tables, invalidationTriggers: true });
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
    // Structured clone, so key bytes cross as Uint8Array.
    serialization: 'advanced',
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
    const signing = await generateSigningKey('EdDSA');
    const keys: FleetKeys = {
      signing: signing.privateJwk,
      storage: generateSecret(),
      index: generateSecret(),
    };
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
          listenUrl: urlWith({ applicationName: role === 'reader' ? tag : `${tag}_w` }),
          schema: world.schema,
          keys,
        },
        'ready',
      );
    await start('reader', reader);
    await start('writer', writer);
    const created = await ask<{ ticket: string; id: string }[]>(
      writer,
      { cmd: 'create', count: REVOKES + HOT },
      'created',
    );
    const idOf = new Map(created.map((c) => [c.ticket, c.id]));
    const tickets = created.map((c) => c.ticket);
    await ask(reader, { cmd: 'warm', tickets, load: LOAD }, 'warmed');

    writer.on('message', (m: { revoked?: string; at?: number }) => {
      if (m.revoked === undefined || m.at === undefined) return;
      reader.send({ cmd: 'revoked', ticket: m.revoked, at: m.at } satisfies ToWorker);
    });
    let terminated = 0;
    const began = performance.now();
    // Batches: the reader starts resolving a batch in tight loops, then the writer revokes it.
    let revokes = 0;
    for (
      let i = 0;
      i < REVOKES && (i < MIN_REVOKES || performance.now() - began < BUDGET_MS);
      i += BATCH
    ) {
      const batch = tickets.slice(i, Math.min(i + BATCH, REVOKES));
      revokes += batch.length;
      const items = batch.map((ticket) => ({ ticket, id: idOf.get(ticket) as string }));
      await ask(reader, { cmd: 'watch', items }, 'watching');
      if (i <= KILL_AT && i + BATCH > KILL_AT) {
        // Mid-run, while this batch is revoked: kill the reader's LISTEN backend.
        void world.admin
          .query(
            'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1',
            [tag],
          )
          .then((r) => {
            terminated = r.rowCount ?? 0;
          });
      }
      await ask(writer, { cmd: 'revoke', tickets: batch, concurrency: BATCH / 2 }, 'done');
    }
    const revokeMs = performance.now() - began;
    const report = await ask<ReaderReport>(reader, { cmd: 'report' }, 'report');
    for (const c of [reader, writer]) c.send({ cmd: 'stop' } satisfies ToWorker);

    const figures = {
      revokes,
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
      resets: report.resets,
      resolves: report.resolves,
      storeGets: report.storeGets,
    };
    console.log(`fleet figures: ${JSON.stringify(figures)}`);

    expect(terminated).toBe(1);
    expect(report.checked).toBe(revokes);
    expect(revokes).toBeGreaterThanOrEqual(MIN_REVOKES);
    // The guarantees: nothing answered after the invalidation arrived, nor past the channel's bound.
    expect(report.staleAfterInvalidate).toBe(0);
    expect(report.staleAfterBound).toBe(0);
    expect(report.earlyNull).toBe(0);
    // The cache answered most resolves (they did not read the store); the kill caused resets.
    if (LOAD > 0) expect(report.resolves - report.storeGets).toBeGreaterThan(report.resolves / 2);
    expect(report.resets).toBeGreaterThanOrEqual(3);
    // Invalidations sent while the connection was down go unheard (a reset covers them); most are heard.
    // (No bound on the delay itself: a late one is allowed while the channel is not live, and
    // staleAfterBound above is what SEC-32 promises.)
    expect(report.delays.length).toBeGreaterThan(revokes / 2);
    if (STRICT) {
      expect(quantile(report.nullAfter, 0.99)).toBeLessThanOrEqual(5);
      expect(report.staleAfter5ms).toBe(0);
    }
  }, 120_000);
});
