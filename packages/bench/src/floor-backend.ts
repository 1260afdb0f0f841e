// The floor's storage primitives: what a minimal hand-written session store
// does per backend, with the same client as the Cloakroom store.

/** One floor record: the subject in clear (the floor's index key) and the sealed payload. */
export interface FloorRecord {
  readonly subject: string;
  readonly expiresAt: number;
  readonly payload: Uint8Array;
}

/** Storage of the floor: one read, one atomic write with the subject index, and the rest. */
export interface FloorBackend {
  /** One read by id; `null` when missing or expired. */
  get(id: string): Promise<FloorRecord | null>;
  /** One atomic write of the record and its subject index entry. */
  put(id: string, record: FloorRecord): Promise<void>;
  /** Atomically delete `oldId` and write `id` (ticket rotation). */
  rotate(oldId: string, oldSubject: string, id: string, record: FloorRecord): Promise<void>;
  /** Delete one record and its index entry. */
  remove(id: string, subject: string): Promise<void>;
  /** Delete every record of a subject; returns how many. */
  removeSubject(subject: string): Promise<number>;
  /** Every live record of a subject, with its id. */
  listSubject(subject: string): Promise<Array<[string, FloorRecord]>>;
  close(): Promise<void>;
}

/** `[expiresAt f64][subject length u8][subject][payload]`: the floor's byte layout for Redis and files. */
export function encodeFloor(record: FloorRecord): Buffer {
  const subject = Buffer.from(record.subject, 'utf8');
  const out = Buffer.allocUnsafe(9 + subject.length + record.payload.byteLength);
  out.writeDoubleBE(record.expiresAt, 0);
  out[8] = subject.length;
  subject.copy(out, 9);
  out.set(record.payload, 9 + subject.length);
  return out;
}

export function decodeFloor(bytes: Buffer): FloorRecord {
  const n = bytes[8] as number;
  return {
    expiresAt: bytes.readDoubleBE(0),
    subject: bytes.toString('utf8', 9, 9 + n),
    payload: bytes.subarray(9 + n),
  };
}

/** The in-process floor: two maps, no copies, no validation. */
export function memoryFloor(): FloorBackend {
  const records = new Map<string, FloorRecord>();
  const subjects = new Map<string, Set<string>>();
  const index = (subject: string, id: string) => {
    const set = subjects.get(subject);
    if (set === undefined) subjects.set(subject, new Set([id]));
    else set.add(id);
  };
  return {
    async get(id) {
      const r = records.get(id);
      return r === undefined || r.expiresAt <= Date.now() ? null : r;
    },
    async put(id, record) {
      records.set(id, record);
      index(record.subject, id);
    },
    async rotate(oldId, oldSubject, id, record) {
      records.delete(oldId);
      subjects.get(oldSubject)?.delete(oldId);
      records.set(id, record);
      index(record.subject, id);
    },
    async remove(id, subject) {
      records.delete(id);
      subjects.get(subject)?.delete(id);
    },
    async removeSubject(subject) {
      const ids = subjects.get(subject);
      if (ids === undefined) return 0;
      for (const id of ids) records.delete(id);
      subjects.delete(subject);
      return ids.size;
    },
    async listSubject(subject) {
      const out: Array<[string, FloorRecord]> = [];
      const now = Date.now();
      for (const id of subjects.get(subject) ?? []) {
        const r = records.get(id);
        if (r !== undefined && r.expiresAt > now) out.push([id, r]);
      }
      return out;
    },
    async close() {
      records.clear();
      subjects.clear();
    },
  };
}
