// What to do next, after an error: chosen from structured data only (the
// error's code, the SQLSTATE or errno code of its driver cause, the store
// the command was talking to, and the step that failed), never from the
// wording of another package's message.
import {
  type CloakroomError,
  ConfigInvalid,
  DecryptionFailed,
  StoreUnavailable,
} from '@cloakroom/core';
import type { StoreSpec } from './store-url';

/** The step of a command an error came from, where it changes the advice. */
export type Phase = 'key-set';

const phases = new WeakMap<object, Phase>();

/**
 * Mark `error` as thrown during `phase`, and return it. The first mark
 * stays; primitives are returned unmarked.
 *
 * @example
 * ```ts
 * try { await provider.status(); } catch (e) { throw tagPhase(e, 'key-set'); }
 * ```
 */
export function tagPhase(error: unknown, phase: Phase): unknown {
  if (typeof error === 'object' && error !== null && !phases.has(error)) phases.set(error, phase);
  return error;
}

/** What the CLI knew when the error happened. */
export interface ErrorSituation {
  /** The store the command had opened, if any. */
  readonly store?: StoreSpec;
  /** The client's own last error (see `Connection.lastClientError`). */
  readonly clientError?: unknown;
}

function causes(error: unknown): unknown[] {
  const chain: unknown[] = [];
  let current: unknown = error;
  for (let i = 0; i < 6 && current !== undefined && current !== null; i++) {
    chain.push(current);
    current = (current as { cause?: unknown }).cause;
  }
  return chain;
}

function codeOf(error: unknown, pattern: RegExp): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && pattern.test(code) ? code : undefined;
}

const SQLSTATE = /^[0-9A-Z]{5}$/;
// Node's system error codes (ECONNREFUSED, ENOTFOUND, ETIMEDOUT, ...).
const ERRNO = /^E[A-Z0-9]{3,}$/;

function firstCode(errors: readonly unknown[], pattern: RegExp): string | undefined {
  for (const e of errors) {
    const code = codeOf(e, pattern);
    if (code !== undefined) return code;
  }
  return undefined;
}

/** Aggregate errors (a refused IPv4 and IPv6 attempt) hold the real ones in `errors`. */
function expand(errors: readonly unknown[]): unknown[] {
  return errors.flatMap((e) => {
    const inner = (e as { errors?: unknown } | null)?.errors;
    return Array.isArray(inner) ? [e, ...inner] : [e];
  });
}

/**
 * The advice appended to a Cloakroom error's message, e.g.
 * ` (redis 127.0.0.1:1, ECONNREFUSED: is the store reachable? ...)`, or ''.
 *
 * @example
 * ```ts
 * hintFor(new StoreUnavailable('redis command failed'), { store }); // names the store
 * ```
 */
export function hintFor(error: CloakroomError, situation: ErrorSituation): string {
  // Codes, not instanceof: a store package may bring its own copy of core
  // (a global npm install gives each package its peers), whose classes differ.
  const chain = expand([...causes(error), ...causes(situation.clientError)]);
  const where = situation.store?.where;
  if (error.code === StoreUnavailable.CODE) {
    const state = situation.store?.kind === 'postgres' ? firstCode(chain, SQLSTATE) : undefined;
    // undefined_table / invalid_schema_name: the migrations have not run here.
    if (state === '42P01' || state === '3F000') {
      return ` (${where}: from here, run \`cloakroom migrate\`; check ?schema= and ?table= match the application's)`;
    }
    if (state === '42501') {
      return ` (${where}: the role lacks privileges on the store tables; see the PostgreSQL store guide)`;
    }
    const errno = firstCode(chain, ERRNO);
    const at = [where, errno].filter((p) => p !== undefined).join(', ');
    return ` (${at === '' ? '' : `${at}: `}is the store reachable? check the URL, network and credentials)`;
  }
  if (phases.get(error) === 'key-set') {
    if (error.code === DecryptionFailed.CODE) {
      return ' (wrong master key? or the stored key set was altered)';
    }
    if (error.code === ConfigInvalid.CODE) {
      return ' (wrong master key? check CLOAKROOM_MASTER_KEY or --master-key-file, and the store URL)';
    }
  }
  return '';
}
