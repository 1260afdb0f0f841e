import { createHmac, randomBytes } from 'node:crypto';
import {
  assertSessionRecord,
  assertSubjectLimit,
  Closed,
  InvalidArgument,
  isStoreKey,
  type SessionRecord,
  type SessionStore,
  StoreConflict,
  StoreUnavailable,
} from '@cloakroom/core';

/** What the reference store keeps: the "backend" the suite's `inspect` hook reads directly. */
export interface ReferenceBackend {
  readonly rows: Map<string, SessionRecord>;
  readonly bySubject: Map<string, Set<string>>;
  /** False simulates a server that cannot be reached. */
  reachable: boolean;
  /** Signs scan cursors, so a cursor altered by a caller is refused (shared by every instance). */
  readonly cursorKey: Uint8Array;
  /**
   * Seats for `insertWithLimit`: id -> the number of the seat it took (a
   * counter, so the order is the order seats were taken). A live row without
   * an entry is seatless (the old record of a rotate).
   */
  readonly seats: Map<string, number>;
  /** The last seat number handed out. */
  lastSeat: number;
}

/** A connection the caller built and passes in; the store must never close it. */
export interface ReferenceClient {
  open: boolean;
}

export interface ReferenceStoreOptions {
  readonly now?: () => number;
  /** Share another store's backend (a second "instance" over the same data). */
  readonly backend?: ReferenceBackend;
  readonly reachable?: boolean;
  /** Liveness rule; a mutant swaps it. */
  readonly isLive?: (row: SessionRecord, now: number) => boolean;
  /** A client the caller owns; calls fail with StoreUnavailable once it is closed. */
  readonly client?: ReferenceClient;
}

/** The reference store plus its internals, so mutants can override single methods. */
export interface ReferenceStore extends SessionStore {
  readonly backend: ReferenceBackend;
  readonly live: (row: SessionRecord | undefined) => row is SessionRecord;
  readonly io: () => Promise<void>;
  /** Writes a row: over a live row it keeps that row's seat (or lack of one), else it takes a new seat. */
  readonly put: (record: SessionRecord) => void;
  /** Deletes a row, its index entry and its seat. */
  readonly remove: (id: string) => void;
  /** `rotate`'s seat rule: `to` takes over `from`'s seat (and place), or a fresh one when `from` has none; `from` is left without one. */
  readonly handOver: (from: string, to: string) => void;
  /** The live seated ids of a subject, earliest seat first. */
  readonly seatedOf: (subject: string) => string[];
  readonly cursorFor: (id: string) => string;
  readonly idOfCursor: (cursor: unknown) => string;
  readonly client: ReferenceClient | undefined;
}

export const copy = (r: SessionRecord): SessionRecord => ({ ...r, payload: r.payload.slice() });

/** One turn of the event loop: stands in for a round trip to a server. */
export const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * A small, correct store: the suite must pass it. Every method does its
 * simulated I/O first and then all its work synchronously, which is what
 * makes each method atomic.
 */
export function createReferenceStore(options: ReferenceStoreOptions = {}): ReferenceStore {
  const now = options.now ?? Date.now;
  const isLive = options.isLive ?? ((row, t) => t < row.expiresAt);
  const backend: ReferenceBackend = options.backend ?? {
    rows: new Map(),
    bySubject: new Map(),
    reachable: options.reachable ?? true,
    cursorKey: new Uint8Array(randomBytes(32)),
    seats: new Map(),
    lastSeat: 0,
  };
  const client = options.client;
  let closed = false;
  const live = (row: SessionRecord | undefined): row is SessionRecord =>
    row !== undefined && isLive(row, now());
  const io = async () => {
    if (closed) throw new Closed('the reference store is closed');
    await tick();
    if (closed) throw new Closed('the reference store is closed');
    if (client && !client.open) {
      throw new StoreUnavailable('reference client closed', { cause: new Error('client closed') });
    }
    if (!backend.reachable) {
      throw new StoreUnavailable('reference backend unreachable', {
        cause: new Error('ECONNREFUSED'),
      });
    }
  };
  const unindex = (id: string) => {
    const row = backend.rows.get(id);
    if (!row) return;
    backend.rows.delete(id);
    backend.bySubject.get(row.subject)?.delete(id);
  };
  const remove = (id: string) => {
    unindex(id);
    backend.seats.delete(id);
  };
  const put = (record: SessionRecord) => {
    // A write over a live row (replace, rotate's old) keeps its seat or its lack
    // of one; anything else is an insert and takes the next seat.
    if (!live(backend.rows.get(record.id))) backend.seats.set(record.id, ++backend.lastSeat);
    unindex(record.id);
    backend.rows.set(record.id, copy(record));
    let ids = backend.bySubject.get(record.subject);
    if (!ids) {
      ids = new Set();
      backend.bySubject.set(record.subject, ids);
    }
    ids.add(record.id);
  };
  const handOver = (from: string, to: string) => {
    const seat = backend.seats.get(from);
    backend.seats.delete(from);
    // A seatless old record (a forwarder): its successor takes a fresh seat, last.
    backend.seats.set(to, seat ?? ++backend.lastSeat);
  };
  const seatedOf = (subject: string): string[] =>
    [...(backend.bySubject.get(subject) ?? [])]
      .filter((id) => {
        const row = backend.rows.get(id);
        return live(row) && row.subject === subject && backend.seats.has(id);
      })
      .sort((a, b) => backend.seats.get(a)! - backend.seats.get(b)!);
  const mac = (id: string) =>
    createHmac('sha256', backend.cursorKey).update(id).digest('base64url').slice(0, 22);
  const cursorFor = (id: string) => `${id}.${mac(id)}`;
  const idOfCursor = (cursor: unknown): string => {
    const [id, tag, extra] = typeof cursor === 'string' ? cursor.split('.') : [];
    if (!isStoreKey(id) || tag !== mac(id) || extra !== undefined) {
      throw new InvalidArgument('scan cursor was not produced by this store');
    }
    return id;
  };
  const casOk = (record: SessionRecord, expectedVersion: number) => {
    const row = backend.rows.get(record.id);
    return live(row) && row.version === expectedVersion;
  };

  return {
    name: 'reference',
    capabilities: { nativeExpiry: false, shared: false },
    backend,
    live,
    io,
    put,
    remove,
    handOver,
    seatedOf,
    cursorFor,
    idOfCursor,
    client,
    // Every write validates and copies its records before its first await:
    // the caller may reuse its buffers as soon as the call returns.
    async insert(input) {
      assertSessionRecord(input);
      const record = copy(input);
      await io();
      if (live(backend.rows.get(record.id))) throw new StoreConflict('session id already exists');
      put(record);
    },
    async insertWithLimit(input, limit) {
      assertSessionRecord(input);
      assertSubjectLimit(limit);
      const record = copy(input);
      const { max, evict } = limit;
      await io();
      if (live(backend.rows.get(record.id))) throw new StoreConflict('session id already exists');
      const seated = seatedOf(record.subject);
      const evicted: string[] = [];
      if (seated.length >= max) {
        if (evict === 'refuse') return { inserted: false };
        for (const id of seated.slice(0, seated.length - max + 1)) {
          remove(id);
          evicted.push(id);
        }
      }
      put(record);
      return { inserted: true, evicted };
    },
    async get(id) {
      await io();
      const row = isStoreKey(id) ? backend.rows.get(id) : undefined;
      return live(row) ? copy(row) : null;
    },
    async replace(input, expectedVersion) {
      assertSessionRecord(input);
      const record = copy(input);
      await io();
      if (!casOk(record, expectedVersion)) return false;
      put(record);
      return true;
    },
    async rotate(old, nextInput) {
      assertSessionRecord(old.record, 'old.record');
      assertSessionRecord(nextInput, 'next');
      const record = copy(old.record);
      const next = copy(nextInput);
      await io();
      if (!casOk(record, old.expectedVersion)) return false;
      if (live(backend.rows.get(next.id)))
        throw new StoreConflict('next session id already exists');
      put(record);
      put(next);
      handOver(record.id, next.id);
      return true;
    },
    async delete(id) {
      await io();
      if (!isStoreKey(id)) return false;
      const row = backend.rows.get(id);
      remove(id);
      return live(row);
    },
    async deleteBySubject(subject) {
      await io();
      if (!isStoreKey(subject)) return 0;
      let n = 0;
      for (const id of [...(backend.bySubject.get(subject) ?? [])]) {
        if (live(backend.rows.get(id))) n++;
        remove(id);
      }
      return n;
    },
    async listBySubject(subject) {
      await io();
      if (!isStoreKey(subject)) return [];
      const out: SessionRecord[] = [];
      for (const id of backend.bySubject.get(subject) ?? []) {
        const row = backend.rows.get(id);
        if (live(row)) out.push(copy(row));
      }
      return out;
    },
    async scan({ cursor, limit }) {
      if (!Number.isSafeInteger(limit) || limit < 1) {
        throw new InvalidArgument('scan limit must be a positive integer');
      }
      const after = cursor === undefined ? undefined : idOfCursor(cursor);
      await io();
      const ids = [...backend.rows.keys()].sort().filter((id) => after === undefined || id > after);
      const records: SessionRecord[] = [];
      let last: string | undefined;
      for (const id of ids) {
        if (records.length === limit) return { records, cursor: cursorFor(last!) };
        last = id;
        const row = backend.rows.get(id);
        if (live(row)) records.push(copy(row));
      }
      return { records };
    },
    async sweep(at) {
      await io();
      let n = 0;
      for (const row of [...backend.rows.values()]) {
        if (at >= row.expiresAt) {
          remove(row.id);
          n++;
        }
      }
      return n;
    },
    async close() {
      closed = true;
    },
  };
}

/** Every byte the backend holds, as the suite's `inspect` hook wants it. */
export function dumpBackend(store: SessionStore): Uint8Array[] {
  const { backend } = store as ReferenceStore;
  const enc = new TextEncoder();
  const out: Uint8Array[] = [];
  for (const row of backend.rows.values()) {
    out.push(
      enc.encode(`${row.id} ${row.subject} ${row.expiresAt} ${row.version}`),
      row.payload.slice(),
    );
  }
  return out;
}
