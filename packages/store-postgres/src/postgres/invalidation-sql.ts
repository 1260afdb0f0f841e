// The SQL behind the invalidation channel (SEC-32): the triggers migration 2
// installs on the sessions table, the channel they notify, and the probe the
// LISTEN connection runs to prove they are still in place.
import { createHash } from 'node:crypto';
import type { Tables } from '../options';
import { indexName } from './identifiers';

/**
 * Ids per notification. An id is 43 bytes plus a separator, so 150 of them
 * (6,600 bytes) stay under PostgreSQL's 8,000-byte payload limit.
 */
export const IDS_PER_MESSAGE = 150;

/** The payload that tells every listener to drop everything (TRUNCATE, or an id that is not 43 bytes). */
export const RESET_MESSAGE = '*';

/**
 * The channel the triggers notify, derived from schema and table so two
 * stores in one database never share one: `cloakroom.<schema>.<table>`, or
 * its first 46 characters and a hash of the whole when that exceeds
 * PostgreSQL's 63-byte identifier limit (LISTEN would silently cut it).
 *
 * @example
 * ```ts
 * channelName(resolveTables({})); // 'cloakroom.public.cloakroom_sessions'
 * ```
 */
export function channelName(t: Tables): string {
  const name = `cloakroom.${t.schema}.${t.sessions}`;
  if (name.length <= 63) return name;
  const hash = createHash('sha256').update(name).digest('hex').slice(0, 16);
  return `${name.slice(0, 46)}~${hash}`;
}

/** The names of the three triggers, in the order the probe checks them. */
export function triggerNames(t: Tables): readonly [string, string, string] {
  return [
    indexName(t.sessions, 'notify_update'),
    indexName(t.sessions, 'notify_delete'),
    indexName(t.sessions, 'notify_truncate'),
  ];
}

function functionSql(t: Tables): string {
  return `${t.schemaSql}."${indexName(t.sessions, 'notify')}"`;
}

/**
 * Migration 2 of the sessions table, installed when `migrate` is called
 * with `invalidationTriggers: true`. Triggers rather than a `pg_notify` in
 * each of the store's statements, so that every writer notifies: an instance
 * still on an older release during a rolling deploy, `sweep`, a DBA's manual
 * `DELETE`, a restore. A writer that forgot to notify would leave every near
 * cache in the fleet serving a revoked session; with triggers, a table
 * without them is detected (the probe) and no cache answers.
 *
 * - UPDATE, per row: one message naming the old id (replace, rotate's swap,
 *   an insert overwriting an expired row). A plain insert of a new id fires
 *   nothing: no instance can hold a session that did not exist.
 * - DELETE, per statement, reading the deleted rows from a transition
 *   table: their ids in batches of {@link IDS_PER_MESSAGE} (`delete`,
 *   `deleteBySubject`, `sweep`), so a subject's revocation names every id.
 * - TRUNCATE: the reset message.
 *
 * An id that is not 43 bytes (only a manual write can store one) becomes the
 * reset message rather than a payload PostgreSQL would refuse. The triggers
 * are `ENABLE ALWAYS`, so they fire under `session_replication_role =
 * replica` too (logical replication, some restore tools). Notifications
 * are transactional: sent at commit, never for a rolled-back change, and
 * before the writer's COMMIT returns.
 */
export function invalidationTriggerSql(t: Tables): string[] {
  const fn = functionSql(t);
  const [onUpdate, onDelete, onTruncate] = triggerNames(t);
  const channel = `'${channelName(t)}'`;
  const one = `CASE WHEN octet_length(OLD.id) = 43 THEN OLD.id ELSE '${RESET_MESSAGE}' END`;
  const each = `CASE WHEN octet_length(id) = 43 THEN id ELSE '${RESET_MESSAGE}' END`;
  return [
    `CREATE OR REPLACE FUNCTION ${fn}() RETURNS trigger LANGUAGE plpgsql AS $cloakroom$
BEGIN
  IF TG_LEVEL = 'ROW' THEN
    PERFORM pg_notify(TG_ARGV[0], ${one});
  ELSIF TG_OP = 'DELETE' THEN
    PERFORM pg_notify(TG_ARGV[0], string_agg(${each}, ' '))
      FROM (SELECT id, (row_number() OVER ()) / ${IDS_PER_MESSAGE} AS batch FROM cloakroom_old) AS o
      GROUP BY batch;
  ELSE
    PERFORM pg_notify(TG_ARGV[0], '${RESET_MESSAGE}');
  END IF;
  RETURN NULL;
END
$cloakroom$`,
    `DROP TRIGGER IF EXISTS "${onUpdate}" ON ${t.sessionsSql}`,
    `CREATE TRIGGER "${onUpdate}" AFTER UPDATE ON ${t.sessionsSql} FOR EACH ROW EXECUTE FUNCTION ${fn}(${channel})`,
    `DROP TRIGGER IF EXISTS "${onDelete}" ON ${t.sessionsSql}`,
    `CREATE TRIGGER "${onDelete}" AFTER DELETE ON ${t.sessionsSql} REFERENCING OLD TABLE AS cloakroom_old FOR EACH STATEMENT EXECUTE FUNCTION ${fn}(${channel})`,
    `DROP TRIGGER IF EXISTS "${onTruncate}" ON ${t.sessionsSql}`,
    `CREATE TRIGGER "${onTruncate}" AFTER TRUNCATE ON ${t.sessionsSql} FOR EACH STATEMENT EXECUTE FUNCTION ${fn}(${channel})`,
    `ALTER TABLE ${t.sessionsSql} ENABLE ALWAYS TRIGGER "${onUpdate}", ENABLE ALWAYS TRIGGER "${onDelete}", ENABLE ALWAYS TRIGGER "${onTruncate}"`,
  ];
}

/**
 * The liveness probe, run on the LISTEN connection: notifies `$1` (the
 * connection's private probe channel) with `$2`, and counts the triggers
 * that are present, always enabled, and notify this store's channel
 * (`$3` the quoted table, `$4` their names, `$5` the channel): `armed` is 3
 * when all are in place. A probe that is not echoed back in time, or a count
 * below 3, stops the near cache answering.
 */
export const PROBE_SQL =
  'SELECT pg_notify($1, $2) AS sent, (SELECT count(*) FROM pg_trigger' +
  ' WHERE tgrelid = $3::regclass AND tgname = ANY($4::text[])' +
  " AND tgenabled = 'A' AND tgnargs = 1" +
  " AND tgargs = convert_to($5, 'UTF8') || '\\x00'::bytea)::int4 AS armed";
