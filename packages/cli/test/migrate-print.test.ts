import { describe, expect, it } from 'vitest';
import { cli } from './run-helper';

describe('cloakroom migrate --print', () => {
  it('prints the migration SQL without any store or connection', async () => {
    const r = await cli(['migrate', '--print']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/CREATE TABLE IF NOT EXISTS "public"\."cloakroom_sessions"/);
    expect(r.stdout).toMatch(/BEGIN;[\s\S]*COMMIT;/);
  });

  it('uses ?schema= and ?table= of a postgres URL, without connecting (port 1 is closed)', async () => {
    const r = await cli(['migrate', '--print', '--json'], {
      CLOAKROOM_STORE_URL: 'postgres://postgres@127.0.0.1:1/x?schema=auth&table=sessions',
    });
    expect(r.code, r.stderr).toBe(0);
    const { sql } = r.json<{ sql: string }>();
    expect(sql).toContain('"auth"."sessions"');
    expect(sql).not.toContain('cloakroom_sessions');
  });

  it('a non-postgres store is a usage error', async () => {
    const r = await cli(['migrate', '--print', '--store', 'redis://127.0.0.1:6379']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/needs no migration/);
  });
});
