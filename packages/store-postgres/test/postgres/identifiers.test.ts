import { ConfigInvalid } from '@cloakroom/core';
import {
  createPostgresKeySetStore,
  createPostgresStore,
  grantSql,
  IDENTIFIER_PATTERN,
  migrate,
  migrationSql,
} from '@cloakroom/store-postgres';
import fc from 'fast-check';
import type { Pool } from 'pg';
import { describe, expect, it } from 'vitest';

// A pool that must never be used: name validation happens before any query.
const untouchable = {
  connect: () => {
    throw new Error('no query may run for an invalid name');
  },
  query: () => {
    throw new Error('no query may run for an invalid name');
  },
} as unknown as Pool;

const malicious = [
  'x"; DROP TABLE y; --',
  'Sessions',
  '1abc',
  '',
  'a-b',
  'a b',
  'a'.repeat(64),
  'ñ',
  'tab\0le',
  '"quoted"',
];

describe('postgres store: name validation', () => {
  it('refuses every unsafe schema or table name with ConfigInvalid, everywhere', async () => {
    for (const name of malicious) {
      for (const key of ['schema', 'table', 'keySetTable', 'migrationsTable'] as const) {
        const options = { [key]: name };
        expect(() => createPostgresStore({ pool: untouchable, ...options })).toThrow(ConfigInvalid);
        expect(() => createPostgresKeySetStore({ pool: untouchable, ...options })).toThrow(
          ConfigInvalid,
        );
        expect(() => migrationSql(options)).toThrow(ConfigInvalid);
        expect(() => grantSql({ role: 'app', ...options })).toThrow(ConfigInvalid);
        await expect(migrate(untouchable, options)).rejects.toBeInstanceOf(ConfigInvalid);
      }
      expect(() => grantSql({ role: name })).toThrow(ConfigInvalid);
    }
  });

  it('never echoes more than a bounded preview of a rejected name', () => {
    const err = (() => {
      try {
        createPostgresStore({ pool: untouchable, table: `x${'"'.repeat(5000)}` });
      } catch (e) {
        return e as Error;
      }
    })();
    expect(err).toBeInstanceOf(ConfigInvalid);
    // A bounded preview plus the docs link every CloakroomError message ends with.
    expect(err!.message.length).toBeLessThan(400);
  });

  it('refuses reserved pg_ schemas and duplicate table names', () => {
    expect(() => migrationSql({ schema: 'pg_catalog' })).toThrow(ConfigInvalid);
    expect(() => migrationSql({ table: 'same', keySetTable: 'same' })).toThrow(ConfigInvalid);
  });

  it('any accepted name appears in generated SQL only inside double quotes', () => {
    fc.assert(
      // A distinctive prefix keeps generated names from matching SQL keywords or column names.
      fc.property(
        fc.stringMatching(/^[a-z0-9_]{0,50}$/).map((s) => `zq${s}`),
        (name) => {
          expect(name).toMatch(IDENTIFIER_PATTERN);
          const sql =
            migrationSql({ schema: name, table: name }) + grantSql({ role: name, schema: name });
          // Remove comments, quoted identifiers and string literals: the name must not remain bare.
          const bare = sql
            .replace(/^--.*$/gm, '')
            .replace(/"[^"]*"/g, '')
            .replace(/'[^']*'/g, '');
          expect(bare).not.toMatch(new RegExp(`\\b${name}\\b`));
        },
      ),
    );
  });

  it('generated SQL for the defaults is stable', () => {
    expect(grantSql({ role: 'cloakroom_app' })).toBe(
      'GRANT USAGE ON SCHEMA "public" TO "cloakroom_app";\n' +
        'GRANT SELECT, INSERT, UPDATE, DELETE ON "public"."cloakroom_sessions", "public"."cloakroom_key_sets" TO "cloakroom_app";\n',
    );
    expect(migrationSql()).toContain('pg_advisory_xact_lock');
  });
});
