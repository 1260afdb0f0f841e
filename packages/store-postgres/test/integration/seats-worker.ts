// One OS process of the two-process seat test (seats.test.ts), run with
// child_process.fork under tsx: its own pool and store on the shared table,
// firing insertWithLimit calls for one subject, then reporting what happened.
import { randomBytes } from 'node:crypto';
import type { SubjectLimit } from '@cloakroom/core';
import { createPostgresStore } from '@cloakroom/store-postgres';
import pg from 'pg';

export interface SeatJob {
  readonly url: string;
  readonly schema: string;
  readonly table: string;
  readonly subject: string;
  /** Calls to make, `concurrency` at a time. */
  readonly calls: number;
  readonly concurrency: number;
  readonly limit: SubjectLimit;
}

export interface SeatReport {
  /** Ids this process wrote (answer `inserted: true`). */
  readonly inserted: string[];
  /** Ids its calls reported evicted. */
  readonly evicted: string[];
  readonly refused: number;
  /** Messages of errors (none expected). */
  readonly errors: string[];
}

async function run(job: SeatJob): Promise<SeatReport> {
  const pool = new pg.Pool({ connectionString: job.url, max: job.concurrency });
  pool.on('error', () => {});
  const store = createPostgresStore({
    pool,
    schema: job.schema,
    table: job.table,
    statementTimeoutMs: 60_000,
  });
  const report = {
    inserted: [] as string[],
    evicted: [] as string[],
    refused: 0,
    errors: [] as string[],
  };
  let next = 0;
  const lane = async () => {
    while (next < job.calls) {
      next += 1;
      const id = randomBytes(32).toString('base64url');
      try {
        const answer = await store.insertWithLimit(
          {
            id,
            subject: job.subject,
            expiresAt: 4_000_000_000_000,
            version: 1,
            payload: new Uint8Array(randomBytes(16)),
          },
          job.limit,
        );
        if (answer.inserted) {
          report.inserted.push(id);
          report.evicted.push(...answer.evicted);
        } else {
          report.refused += 1;
        }
      } catch (err) {
        report.errors.push(String((err as Error).message));
      }
    }
  };
  await Promise.all(Array.from({ length: job.concurrency }, lane));
  await store.close();
  await pool.end();
  return report;
}

process.on('message', (job: SeatJob) => {
  run(job).then(
    (report) => process.send?.({ report }, () => process.exit(0)),
    (err: unknown) => process.send?.({ error: String(err) }, () => process.exit(1)),
  );
});
process.send?.({ ready: true });
