import type { Pool } from 'pg';
import type { FloorBackend, FloorRecord } from './floor-backend';

interface Row {
  id: string;
  subject: string;
  expires_at: string;
  payload: Buffer;
}

const toRecord = (r: Row): FloorRecord => ({
  subject: r.subject,
  expiresAt: Number(r.expires_at),
  payload: r.payload,
});

/**
 * The PostgreSQL floor: one prepared statement per operation on a table of
 * the same shape as the store's (created by the store's `migrate` under
 * another name), through the same pool.
 */
export function postgresFloor(pool: Pool, table: string): FloorBackend {
  const q = (name: string, text: string) => ({ name: `floor_${name}`, text });
  const get = q(
    'get',
    `SELECT subject, expires_at, payload FROM ${table} WHERE id = $1 AND expires_at > $2`,
  );
  const put = q(
    'put',
    `INSERT INTO ${table} (id, subject, expires_at, version, payload) VALUES ($1, $2, $3, 1, $4)`,
  );
  const rotate = q(
    'rotate',
    `WITH d AS (DELETE FROM ${table} WHERE id = $5) INSERT INTO ${table} (id, subject, expires_at, version, payload) VALUES ($1, $2, $3, 1, $4)`,
  );
  const remove = q('remove', `DELETE FROM ${table} WHERE id = $1`);
  const removeSubject = q('remove_subject', `DELETE FROM ${table} WHERE subject = $1`);
  const list = q(
    'list',
    `SELECT id, subject, expires_at, payload FROM ${table} WHERE subject = $1 AND expires_at > $2`,
  );
  return {
    async get(id) {
      const { rows } = await pool.query<Row>({ ...get, values: [id, Date.now()] });
      return rows[0] === undefined ? null : toRecord(rows[0]);
    },
    async put(id, r) {
      await pool.query({ ...put, values: [id, r.subject, r.expiresAt, r.payload] });
    },
    async rotate(oldId, _oldSubject, id, r) {
      await pool.query({ ...rotate, values: [id, r.subject, r.expiresAt, r.payload, oldId] });
    },
    async remove(id) {
      await pool.query({ ...remove, values: [id] });
    },
    async removeSubject(subject) {
      const result = await pool.query({ ...removeSubject, values: [subject] });
      return result.rowCount ?? 0;
    },
    async listSubject(subject) {
      const { rows } = await pool.query<Row>({ ...list, values: [subject, Date.now()] });
      return rows.map((r) => [r.id, toRecord(r)]);
    },
    async close() {},
  };
}
