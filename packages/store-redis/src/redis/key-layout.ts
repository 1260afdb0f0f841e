// Where each piece of a session lives in Redis, cluster-safe.
//
// Records are spread over BUCKETS fixed buckets. A bucket is one hash tag,
// so everything in it (records, the bucket's expiry-ordered index, the
// bucket's per-subject indexes) shares one cluster slot and one Lua script
// can change it atomically. The bucket of a record is a pure function of its
// id, so `get` needs one GET and no lookup. Bucket tags are chosen so bucket
// b hashes into slots [b*64, b*64+63]: any slot assignment that gives a node
// a share of the slot range gives it the same share of the buckets.
//
// Changing anything here changes where data lives: it is part of the
// on-Redis format (the value layout in codec.ts) and pinned by unit tests.

/** Number of buckets; every bucket is one hash tag, hence one cluster slot. */
export const BUCKETS = 256;
const SLOTS = 16384;
const SLOTS_PER_BUCKET = SLOTS / BUCKETS;

const CRC_TABLE = (() => {
  const table = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let crc = i << 8;
    for (let bit = 0; bit < 8; bit++) {
      crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
    }
    table[i] = crc;
  }
  return table;
})();

/** CRC16-XMODEM, the checksum Redis Cluster maps keys to slots with. */
export function crc16(bytes: Uint8Array): number {
  let crc = 0;
  for (const byte of bytes) {
    crc = ((crc << 8) & 0xffff) ^ (CRC_TABLE[((crc >> 8) ^ byte) & 0xff] as number);
  }
  return crc;
}

/** The cluster slot of a hash tag (the text between the braces). */
export function slotOfTag(tag: string): number {
  return crc16(Buffer.from(tag, 'utf8')) % SLOTS;
}

let tags: readonly string[] | undefined;

/** The hash tag of every bucket: tag b hashes into slots [b*64, b*64+63]. */
export function bucketTags(): readonly string[] {
  if (tags !== undefined) return tags;
  const found: string[] = new Array<string>(BUCKETS);
  let missing = BUCKETS;
  // Deterministic search: the first base-36 counter value landing in each
  // bucket's slot range wins. About 1,600 CRCs, once per process.
  for (let n = 0; missing > 0; n++) {
    const tag = n.toString(36);
    const bucket = Math.floor(slotOfTag(tag) / SLOTS_PER_BUCKET);
    if (found[bucket] === undefined) {
      found[bucket] = tag;
      missing--;
    }
  }
  tags = Object.freeze(found);
  return tags;
}

/** The bucket of an id: FNV-1a over its UTF-16 code units, folded to BUCKETS. */
export function bucketOf(id: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) {
    hash ^= id.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return (hash ^ (hash >>> 16)) & (BUCKETS - 1);
}

/** Key names under one prefix. Keys of one bucket share the bucket's hash tag. */
export interface KeyLayout {
  /** `<prefix>{<tag>}:` — every key of bucket b starts with it. */
  bucketBase(bucket: number): string;
  /** The record key of an id. */
  recordKey(id: string): string;
  /** The expiry-ordered index of every record in a bucket (member id, score expiresAt). */
  allIndexKey(bucket: number): string;
  /** The index of one subject's records in one bucket (member id, score expiresAt). */
  subjectIndexKey(bucket: number, subject: string): string;
  /** The shared key-set document of this name. */
  keySetKey(name: string): string;
  /** The key that signs scan cursors, shared by every store instance under the prefix. */
  cursorKey(): string;
}

/** Build the key layout for a (validated) prefix. */
export function keyLayout(prefix: string): KeyLayout {
  const all = bucketTags();
  const bases = all.map((tag) => `${prefix}{${tag}}:`);
  const bucketBase = (bucket: number): string => bases[bucket] as string;
  return {
    bucketBase,
    recordKey: (id) => `${bucketBase(bucketOf(id))}s:${id}`,
    allIndexKey: (bucket) => `${bucketBase(bucket)}all`,
    subjectIndexKey: (bucket, subject) => `${bucketBase(bucket)}sub:${subject}`,
    keySetKey: (name) => `${prefix}keyset:${name}`,
    cursorKey: () => `${prefix}scan-cursor-key`,
  };
}

/**
 * The cluster slot of any key, by Redis Cluster's rule: the hash tag (text
 * between the first `{` and the next `}`, when not empty) or else the whole key.
 */
export function slotOfKey(key: string): number {
  const open = key.indexOf('{');
  if (open >= 0) {
    const close = key.indexOf('}', open + 1);
    if (close > open + 1) return slotOfTag(key.slice(open + 1, close));
  }
  return slotOfTag(key);
}
