import {
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
}

export interface ReferenceStoreOptions {
  readonly now?: () => number;
  /** Share another store's backend (a second "instance" over the same data). */
  readonly backend?: ReferenceBackend;
  readonly reachable?: boolean;
  /** Liveness rule; a mutant swaps it. */
  readonly isLive?: (row: SessionRecord, now: number) => boolean;
}

/** The reference store plus its internals, so mutants can override single methods. */
export interface ReferenceStore extends SessionStore {
  readonly backend: ReferenceBackend;
  readonly live: (row: SessionRecord | undefined) => row is SessionRecord;
  readonly io: () => Promise<void>;
  readonly put: (record: SessionRecord) => void;
  readonly remove: (id: string) => void;
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
  };
  const live = (row: SessionRecord | undefined): row is SessionRecord =>
    row !== undefined && isLive(row, now());
  const io = async () => {
    await tick();
    if (!backend.reachable) {
      throw new StoreUnavailable('reference backend unreachable', {
        cause: new Error('ECONNREFUSED'),
      });
    }
  };
  const remove = (id: string) => {
    const row = backend.rows.get(id);
    if (!row) return;
    backend.rows.delete(id);
    backend.bySubject.get(row.subject)?.delete(id);
  };
  const put = (record: SessionRecord) => {
    remove(record.id);
    backend.rows.set(record.id, copy(record));
    let ids = backend.bySubject.get(record.subject);
    if (!ids) {
      ids = new Set();
      backend.bySubject.set(record.subject, ids);
    }
    ids.add(record.id);
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
    async insert(record) {
      await io();
      if (live(backend.rows.get(record.id))) throw new StoreConflict('session id already exists');
      put(record);
    },
    async get(id) {
      await io();
      const row = backend.rows.get(id);
      return live(row) ? copy(row) : null;
    },
    async replace(record, expectedVersion) {
      await io();
      if (!casOk(record, expectedVersion)) return false;
      put(record);
      return true;
    },
    async rotate(old, next) {
      await io();
      if (!casOk(old.record, old.expectedVersion)) return false;
      if (live(backend.rows.get(next.id)))
        throw new StoreConflict('next session id already exists');
      put(old.record);
      put(next);
      return true;
    },
    async delete(id) {
      await io();
      const row = backend.rows.get(id);
      remove(id);
      return live(row);
    },
    async deleteBySubject(subject) {
      await io();
      let n = 0;
      for (const id of [...(backend.bySubject.get(subject) ?? [])]) {
        if (live(backend.rows.get(id))) n++;
        remove(id);
      }
      return n;
    },
    async listBySubject(subject) {
      await io();
      const out: SessionRecord[] = [];
      for (const id of backend.bySubject.get(subject) ?? []) {
        const row = backend.rows.get(id);
        if (live(row)) out.push(copy(row));
      }
      return out;
    },
    async scan({ cursor, limit }) {
      await io();
      const ids = [...backend.rows.keys()]
        .sort()
        .filter((id) => cursor === undefined || id > cursor);
      const records: SessionRecord[] = [];
      let last: string | undefined;
      for (const id of ids) {
        if (records.length === limit) return { records, cursor: last! };
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
    async close() {},
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
