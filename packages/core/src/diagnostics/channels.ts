// The names and message shapes of core's diagnostics channels: the public
// contract a tracer (such as @cloakroom/otel) subscribes to. No Node import
// here, so the types can be read from anywhere.
export { KEY_SYNC_CHANNEL, type KeySyncTraceMessage } from '../keys/rotating/trace-sync';

/**
 * The manager operations traced on `cloakroom:session.<operation>`, each named
 * after its `Cloakroom` method.
 */
export const SESSION_OPERATIONS = [
  'create',
  'resolve',
  'refresh',
  'revoke',
  'revokeSession',
  'revokeSubject',
  'listSessions',
  'deposit',
  'replaceTokens',
  'rewrap',
  'sweep',
] as const;
/** One of {@link SESSION_OPERATIONS}. */
export type SessionOperation = (typeof SESSION_OPERATIONS)[number];

/** The store methods traced on `cloakroom:store.<method>`, each named after its `SessionStore` method. */
export const STORE_METHODS = [
  'insert',
  'insertWithLimit',
  'get',
  'replace',
  'rotate',
  'delete',
  'deleteBySubject',
  'listBySubject',
  'scan',
  'sweep',
  'watch',
  'close',
] as const;
/** One of {@link STORE_METHODS}. */
export type StoreMethod = (typeof STORE_METHODS)[number];

/** The tracing channel name of a manager operation: `cloakroom:session.<operation>`. */
export const sessionChannelName = (operation: SessionOperation) =>
  `cloakroom:session.${operation}` as const;
/** The tracing channel name of a store method: `cloakroom:store.<method>`. */
export const storeChannelName = (method: StoreMethod) => `cloakroom:store.${method}` as const;

/** The plain (non-tracing) channel that carries rewrap progress, one message per batch. */
export const REWRAP_PROGRESS_CHANNEL = 'cloakroom:session.rewrap.progress';

/**
 * The context object published on `cloakroom:session.<operation>`
 * (`tracing:cloakroom:session.<operation>:start`, `:end`, `:asyncStart`,
 * `:asyncEnd`, `:error`). Hashed ids, names and counts only: never a ticket,
 * token, claim, raw subject, key or payload (SEC-27).
 */
export interface SessionTraceMessage {
  readonly operation: SessionOperation;
  /** The `name` of the session store. */
  readonly store: string;
  /**
   * Set before `asyncEnd` / `error`: `created`, `resolved`, `refreshed`,
   * `revoked`, `replaced`, `listed`, `complete` / `interrupted` (rewrap),
   * `swept`, `not-found`, `rejected:<reason>` (a `RejectReason`, or
   * `reuse`), or `error:<code>` (the thrown error's `code`, `ERR_UNKNOWN` for
   * an error that is not a CloakroomError).
   */
  outcome?: string;
  /** The session id (SHA-256 of the ticket, as in audit events), once known. */
  sessionId?: string;
  /** refresh: the successor's session id. */
  nextSessionId?: string;
  /** The subject index (HMAC of the subject, as in audit events), once known. */
  subjectIndex?: string;
  /** Sessions revoked, listed, swept; records scanned by rewrap. */
  count?: number;
  /** rewrap: records re-sealed. */
  rewrapped?: number;
  /** rewrap: records that could not be opened. */
  unreadable?: number;
  /** rewrap: the primary storage key id. */
  primaryKeyId?: string;
  /** Set by the channel on success: the outcome string, never the operation's return value. */
  result?: unknown;
  /** Set by the channel when the operation throws: the error the caller receives. */
  error?: unknown;
}

/**
 * The context object published on `cloakroom:store.<method>`. Ids only when
 * they are well-formed store keys (session ids, subject indexes).
 */
export interface StoreTraceMessage {
  readonly method: StoreMethod;
  /** The `name` of the session store. */
  readonly store: string;
  /** The record id (a session id) for single-record methods. */
  readonly sessionId?: string;
  /** The subject index for deleteBySubject and listBySubject. */
  readonly subjectIndex?: string;
  /**
   * Set before `asyncEnd` / `error`: `ok`, `found` / `missing` (get),
   * `written` / `lost` (replace, rotate: the compare-and-swap), `deleted` /
   * `missing` (delete), `ok` / `refused` (insertWithLimit), or `error:<code>`.
   */
  outcome?: string;
  /** Records returned (listBySubject, scan) or removed (deleteBySubject, sweep, insertWithLimit's evictions). */
  count?: number;
  /** Set by the channel on success: the outcome string, never the records. */
  result?: unknown;
  /** Set by the channel when the store throws. */
  error?: unknown;
}

/** Published on {@link REWRAP_PROGRESS_CHANNEL} after every rewrap batch: running totals. */
export interface RewrapProgressMessage {
  readonly store: string;
  readonly scanned: number;
  readonly rewrapped: number;
  readonly current: number;
  readonly unreadable: number;
  readonly contended: number;
  /** Whether the scan reached the end of the store. */
  readonly done: boolean;
}
