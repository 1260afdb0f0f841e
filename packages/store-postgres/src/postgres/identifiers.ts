import { createHash } from 'node:crypto';
import { ConfigInvalid } from '@cloakroom/core';

/**
 * What a schema, table or role name must match: lower-case, starts with a
 * letter or underscore, at most 63 bytes (PostgreSQL's identifier limit, so
 * nothing is silently truncated).
 *
 * @example
 * ```ts
 * IDENTIFIER_PATTERN.test('cloakroom_sessions'); // true
 * IDENTIFIER_PATTERN.test('x"; DROP TABLE y; --'); // false: refused with ConfigInvalid
 * ```
 */
export const IDENTIFIER_PATTERN: RegExp = /^[a-z_][a-z0-9_]{0,62}$/;

/** Throws `ConfigInvalid` unless `value` is a safe identifier. */
export function checkIdentifier(what: string, value: unknown): string {
  if (typeof value !== 'string' || !IDENTIFIER_PATTERN.test(value)) {
    // The name is configuration, not a secret; a bounded preview helps the operator find it.
    const shown = typeof value === 'string' ? JSON.stringify(value.slice(0, 80)) : typeof value;
    throw new ConfigInvalid(`${what} ${shown} must match ${IDENTIFIER_PATTERN}`);
  }
  return value;
}

/** Double-quotes an identifier that already passed {@link checkIdentifier}. */
export function quoteIdentifier(name: string): string {
  return `"${name}"`;
}

/**
 * An index name derived from its table that stays within 63 bytes: long
 * table names are cut and given a short hash so two of them never collide.
 */
export function indexName(table: string, suffix: string): string {
  const name = `${table}_${suffix}`;
  if (name.length <= 63) return name;
  const hash = createHash('sha256').update(table).digest('hex').slice(0, 8);
  return `${table.slice(0, 63 - suffix.length - hash.length - 2)}_${hash}_${suffix}`;
}
