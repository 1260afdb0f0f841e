import { ID_AT, KEY_CHARS, ROW_BYTES, keyEquals } from './row-layout';

const EMPTY = 0;
const INITIAL_SLOTS = 2048;

/**
 * Id → row number, as an open-addressed table (linear probing, at most half
 * full, deletion by backward shift so there are no tombstones). Each slot is
 * two int32: the id's hash and the row number + 1 (0 for an empty slot).
 * The id itself is not held here: a candidate is confirmed against the 43
 * bytes in its row (row-layout.ts), and the stored hash skips rows that
 * cannot match without reading them. So a hit reads one slot (usually one
 * cache line) and the row the caller reads next anyway, where a `Map` of
 * strings reads its bucket, its entries and each candidate key string.
 *
 * Long clusters need ids chosen to collide, and the ids a table holds are
 * core's session ids: SHA-256 outputs of tickets core drew at random, which
 * no client chooses (a client can only make the table look ids up). The
 * hash still covers every character and starts from a per-table random
 * seed, so which ids share a cluster differs from one process to the next.
 */
export class IdIndex {
  private slots: Int32Array;
  private mask: number;
  private count = 0;
  private readonly seed = globalThis.crypto.getRandomValues(new Int32Array(1))[0] as number;

  /**
   * @param initialSlots a power of two, at least 2 (small ones let tests reach wrap-around and growth).
   * @param hashOf replaces the keyed hash (tests: a weak one makes every cluster long).
   */
  constructor(
    private readonly initialSlots = INITIAL_SLOTS,
    hashOf?: (id: string) => number,
  ) {
    if (hashOf !== undefined) this.hash = (id) => hashOf(id) | 0;
    if (!(initialSlots >= 2 && (initialSlots & (initialSlots - 1)) === 0)) {
      throw new RangeError('IdIndex: initialSlots must be a power of two >= 2');
    }
    this.slots = new Int32Array(initialSlots * 2);
    this.mask = initialSlots - 1;
  }

  /** Number of ids held. */
  get size(): number {
    return this.count;
  }

  /** The row of `id`, or -1. `bytes` is the row buffer's byte view. */
  find(id: string, bytes: Uint8Array): number {
    const h = this.hash(id);
    const slots = this.slots;
    const mask = this.mask;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const entry = slots[2 * i + 1] as number;
      if (entry === EMPTY) return -1;
      if (slots[2 * i] === h && keyEquals(bytes, (entry - 1) * ROW_BYTES + ID_AT, id)) {
        return entry - 1;
      }
    }
  }

  /** Map `id` (absent, its bytes already in `row`) to `row`. */
  insert(id: string, row: number): void {
    if (2 * (this.count + 1) > this.mask + 1) this.grow();
    this.place(this.hash(id), row);
    this.count++;
  }

  /** Forget `id`, held at `row`. */
  remove(id: string, row: number): void {
    const slots = this.slots;
    const mask = this.mask;
    let i = this.hash(id) & mask;
    while (slots[2 * i + 1] !== row + 1) {
      if (slots[2 * i + 1] === EMPTY) return;
      i = (i + 1) & mask;
    }
    // Backward shift: move later members of the cluster into the hole when
    // their home slot is not cyclically in (hole, their slot].
    let hole = i;
    for (let j = (i + 1) & mask; slots[2 * j + 1] !== EMPTY; j = (j + 1) & mask) {
      const home = (slots[2 * j] as number) & mask;
      const stays = hole <= j ? hole < home && home <= j : hole < home || home <= j;
      if (stays) continue;
      slots[2 * hole] = slots[2 * j] as number;
      slots[2 * hole + 1] = slots[2 * j + 1] as number;
      hole = j;
    }
    slots[2 * hole] = 0;
    slots[2 * hole + 1] = EMPTY;
    this.count--;
  }

  /** Every row held, in no particular order. */
  *rows(): Generator<number> {
    const slots = this.slots;
    for (let i = 1; i < slots.length; i += 2) {
      const entry = slots[i] as number;
      if (entry !== EMPTY) yield entry - 1;
    }
  }

  clear(): void {
    this.slots = new Int32Array(this.initialSlots * 2);
    this.mask = this.initialSlots - 1;
    this.count = 0;
  }

  private place(h: number, row: number): void {
    const slots = this.slots;
    const mask = this.mask;
    let i = h & mask;
    while (slots[2 * i + 1] !== EMPTY) i = (i + 1) & mask;
    slots[2 * i] = h;
    slots[2 * i + 1] = row + 1;
  }

  private grow(): void {
    const old = this.slots;
    const size = (this.mask + 1) * 2;
    this.slots = new Int32Array(size * 2);
    this.mask = size - 1;
    for (let i = 0; i < old.length; i += 2) {
      const entry = old[i + 1] as number;
      if (entry !== EMPTY) this.place(old[i] as number, entry - 1);
    }
  }

  /** 32-bit hash of the id's 43 characters under the table's seed (FNV-1a steps, murmur3 finish). */
  private hash(this: IdIndex, id: string): number {
    let h = this.seed ^ 0x811c9dc5;
    for (let i = 0; i < KEY_CHARS; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193);
    h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
    h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
    return h ^ (h >>> 16);
  }
}
