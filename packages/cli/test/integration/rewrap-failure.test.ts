// A rewrap that loses its store midway reports the failure and the cursor
// to resume from; resuming finishes the job (SEC-14). The failure is real:
// the sessions table is renamed away (synchronously, with psql) right after
// the first batch, and renamed back before resuming.
import { execFileSync } from 'node:child_process';
import { createCloakroom, generateSecret, rotatingKeys } from '@cloakroom/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, resumeArgv } from '../run-helper';
import { type Backend, POSTGRES_URL, postgresBackend } from './backends';

describe('cloakroom rewrap stopped by a store failure (PostgreSQL)', () => {
  let backend: Backend;
  const master = Buffer.from(generateSecret()).toString('base64url');
  let now = Date.now();
  const clock = () => now;

  beforeAll(async () => {
    backend = await postgresBackend();
  });
  afterAll(async () => {
    await backend?.teardown();
  });

  const psql = (sql: string) =>
    execFileSync('psql', [POSTGRES_URL, '-v', 'ON_ERROR_STOP=1', '-qc', sql], { stdio: 'pipe' });

  it('SEC-14 prints the error and a cursor; resuming from it leaves every record under the new key', async () => {
    const env = { CLOAKROOM_STORE_URL: backend.url, CLOAKROOM_MASTER_KEY: master };
    const schema = new URL(backend.url).searchParams.get('schema') as string;
    expect((await cli(['migrate'], env)).code).toBe(0);
    expect((await cli(['keys', 'init'], env, { clock })).code).toBe(0);
    const { store, keySets } = backend.open();
    const app = createCloakroom({
      store,
      keys: rotatingKeys({ store: keySets, masterKey: master, clock }),
      issuer: 'https://issuer.test',
      audience: 'https://api.test',
      clock,
    });
    for (let i = 0; i < 6; i++) await app.create(`user-${i}`);
    await app.close();
    const rotated = await cli(['keys', 'rotate', 'storage', '--json'], env, { clock });
    const newId = rotated.json<{ rotated: { id: string }[] }>().rotated[0]!.id;
    now += 10 * 60_000;

    let broken = false;
    const failed = await cli(['rewrap', '--batch-size', '2'], env, {
      clock,
      stderr: (s) => {
        if (!broken && s.startsWith('rewrap: scanned')) {
          broken = true;
          psql(`ALTER TABLE "${schema}".cloakroom_sessions RENAME TO moved_away`);
        }
      },
    });
    psql(`ALTER TABLE "${schema}".moved_away RENAME TO cloakroom_sessions`);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(
      /rewrap stopped by an error; resume with: cloakroom rewrap --batch-size 2 --cursor /,
    );
    // The hint comes from the driver's SQLSTATE (42P01) and the store kind.
    expect(failed.stderr).toMatch(
      /^error: store table or schema missing.*ERR_STORE_UNAVAILABLE.*\(postgres 127\.0\.0\.1:5432\/test: from here, run `cloakroom migrate`/m,
    );
    const argv = resumeArgv(failed.stderr) as string[];
    const partial = (await cli(['stats', '--json'], env)).json<{
      byKeyId: Record<string, number>;
    }>();
    expect(partial.byKeyId[newId]).toBe(2);

    const resumed = await cli([...argv, '--json'], env, { clock });
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.json()).toMatchObject({ complete: true, resumed: true, rewrapped: 4 });
    const stats = (await cli(['stats', '--json'], env)).json<{ byKeyId: Record<string, number> }>();
    expect(stats.byKeyId).toEqual({ [newId]: 6 });
  });
});
