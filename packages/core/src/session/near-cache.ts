// The near cache (SEC-32): values kept in this process under a session id,
// answered only while the store's invalidation channel is live. Knows
// nothing of sessions (cached-resolve.ts does); owns the channel's
// lifecycle, the bound on memory and age, and the race rule for fills.
// Internal.
import type { InvalidationChannel, SessionStore } from '../contracts/store';
import type { LivePayload } from '../crypto/payload-format';
import { type CloakroomOptions, type NearCacheSettings, resolveNearCache } from './options';

/** Retry delays after `watch` fails, in ms: doubling from 1 s up to 30 s. */
const RETRY_MIN_MS = 1000;
const RETRY_MAX_MS = 30_000;
/** How long close() waits for a channel still being set up. */
const CLOSE_WAIT_MS = 1000;

interface Entry<V> {
  readonly value: V;
  /** Subject index of the record, to drop a subject's sessions (`revokeSubject`). */
  readonly group: string;
  readonly filledAt: number;
  /** Second-chance bit: set by a hit, cleared when eviction passes over it. */
  used: boolean;
}

/** In-flight store reads of one id; poisoned by an invalidation of that id. */
interface Slot {
  readers: number;
  poisoned: boolean;
}

/**
 * A store read in flight whose result may be cached ({@link NearCache.begin}).
 * Hand it back to {@link NearCache.finish} exactly once, whatever happens.
 */
export interface Fill {
  readonly id: string;
  readonly epoch: number;
  readonly slot: Slot;
  /** When the read began: an entry's age counts from here, so a slow read or touch write does not stretch maxAgeMs. */
  readonly at: number;
}

/** Counters, for tests and for measuring (docs/guides/near-cache.md). */
export interface NearCacheStats {
  readonly size: number;
  readonly hits: number;
  readonly misses: number;
  readonly fills: number;
  /** Fills refused because an invalidation, reset or liveness loss raced them. */
  readonly raced: number;
  readonly resets: number;
  readonly evictions: number;
}

/**
 * The cache. Every answer requires `channel.live`; an invalidation or reset
 * that arrives while a store read is in flight stops that read's result from
 * being cached (per-id slots for `invalidate`, a global epoch for `reset`).
 */
export class NearCache<V> {
  readonly settings: NearCacheSettings;
  private readonly store: SessionStore;
  private readonly now: () => number;
  private readonly entries = new Map<string, Entry<V>>();
  private readonly inflight = new Map<string, Slot>();
  private epoch = 0;
  private channel: InvalidationChannel | undefined;
  private pending: Promise<void> | undefined;
  private retryAt = 0;
  private failures = 0;
  private closed = false;
  private sweeper: ReturnType<typeof setInterval> | undefined;
  /** The storage key ring seen last: a new one (a key changed state) drops everything. */
  private ring: unknown;
  private counts = { hits: 0, misses: 0, fills: 0, raced: 0, resets: 0, evictions: 0 };

  constructor(store: SessionStore, settings: NearCacheSettings, now: () => number) {
    this.store = store;
    this.settings = settings;
    this.now = now;
  }

  /** The channel's documented staleness bound, once it is set up. */
  get boundMs(): number | undefined {
    return this.channel?.boundMs;
  }

  stats(): NearCacheStats {
    return { size: this.entries.size, ...this.counts };
  }

  /**
   * Whether the channel vouches for the cache right now. Not live (or not
   * set up yet) drops everything before anything is answered, and starts
   * (or retries) `watch`.
   */
  live(): boolean {
    const channel = this.channel;
    let live = false;
    if (channel !== undefined) {
      try {
        live = channel.live === true;
      } catch {
        live = false;
      }
    } else {
      this.watch();
    }
    if (!live && (this.entries.size > 0 || this.inflight.size > 0)) this.reset();
    return live;
  }

  /**
   * Compares the storage key ring with the one seen last; a different ring
   * (a key added, disabled or destroyed anywhere in the fleet) drops the
   * cache, so a session sealed under a disabled key is never answered.
   */
  keys(ring: unknown): void {
    if (ring === this.ring) return;
    if (this.ring !== undefined) this.reset();
    this.ring = ring;
  }

  /** The cached value for `id`, or `undefined` (not cached, too old, or the channel is not live). */
  get(id: string, now: number): V | undefined {
    const entry = this.entries.get(id);
    if (entry === undefined || !this.live()) {
      this.counts.misses++;
      return undefined;
    }
    // A clock that went back is doubt too.
    const age = now - entry.filledAt;
    if (age >= this.settings.maxAgeMs || age < 0) {
      this.entries.delete(id);
      this.counts.misses++;
      return undefined;
    }
    entry.used = true;
    this.counts.hits++;
    return entry.value;
  }

  /** Whether `value` is still the entry for `id` and the channel still live: read just before answering. */
  holds(id: string, value: V): boolean {
    return this.entries.get(id)?.value === value && this.live();
  }

  /**
   * Call before the store read whose result may be cached. `undefined` when
   * nothing may be cached now (closed, channel not live).
   */
  begin(id: string): Fill | undefined {
    if (this.closed || !this.live()) return undefined;
    let slot = this.inflight.get(id);
    if (slot === undefined) {
      slot = { readers: 0, poisoned: false };
      this.inflight.set(id, slot);
    }
    slot.readers++;
    return { id, epoch: this.epoch, slot, at: this.now() };
  }

  /**
   * Ends a fill; caches `value` only if nothing invalidated `id`, nothing
   * reset the cache and the channel stayed live since {@link begin}.
   */
  finish(fill: Fill, value?: V, group?: string): void {
    const { id, slot } = fill;
    if (--slot.readers === 0 && this.inflight.get(id) === slot) this.inflight.delete(id);
    if (value === undefined || group === undefined) return;
    if (slot.poisoned || fill.epoch !== this.epoch || this.closed || !this.live()) {
      this.counts.raced++;
      return;
    }
    if (!this.entries.has(id) && this.entries.size >= this.settings.maxEntries) this.evict();
    this.entries.delete(id);
    this.entries.set(id, { value, group, filledAt: fill.at, used: false });
    this.counts.fills++;
    this.startSweeper();
  }

  /** Drops `id` now, and poisons reads of it in flight. */
  invalidate(id: string): void {
    this.entries.delete(id);
    const slot = this.inflight.get(id);
    if (slot !== undefined) slot.poisoned = true;
  }

  /** Drops every entry of a subject index (records `deleteBySubject` removed without naming them). */
  invalidateGroup(group: string): void {
    for (const [id, entry] of this.entries) if (entry.group === group) this.invalidate(id);
    // A read in flight may belong to that subject: its id is unknown until it lands.
    for (const slot of this.inflight.values()) slot.poisoned = true;
  }

  /** Drops everything, and every read in flight. */
  reset(): void {
    this.entries.clear();
    for (const slot of this.inflight.values()) slot.poisoned = true;
    this.epoch++;
    this.counts.resets++;
  }

  /** Stops the channel and drops everything; later calls cache nothing. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.reset();
    if (this.sweeper !== undefined) clearInterval(this.sweeper);
    this.sweeper = undefined;
    const channel = this.channel;
    this.channel = undefined;
    const pending = this.pending;
    try {
      await channel?.close();
    } catch {
      // The store is closing too; nothing is answered from here on either way.
    }
    // A watch still being set up closes itself when it lands (see watch());
    // wait for that a little, never for a setup that hangs.
    if (pending !== undefined) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const later = new Promise<void>((r) => {
        timer = setTimeout(r, CLOSE_WAIT_MS);
      });
      await Promise.race([pending, later]);
      clearTimeout(timer);
    }
  }

  /** Starts `watch` unless it runs, is being set up, or failed less than the back-off ago. */
  private watch(): void {
    if (this.closed || this.pending !== undefined || Date.now() < this.retryAt) return;
    const listener = {
      invalidate: (id: string) => {
        try {
          this.invalidate(id);
        } catch {
          this.reset();
        }
      },
      reset: () => this.reset(),
    };
    let started: Promise<InvalidationChannel>;
    try {
      started = (this.store.watch as NonNullable<SessionStore['watch']>).call(this.store, listener);
    } catch (error) {
      started = Promise.reject(error);
    }
    this.pending = Promise.resolve(started).then(
      (channel) => {
        this.pending = undefined;
        if (this.closed) return void channel.close().catch(() => undefined);
        this.failures = 0;
        // Whatever was read before the channel existed cannot be vouched for.
        this.reset();
        this.channel = channel;
      },
      () => {
        // Never fails a request: resolve goes to the store until a retry works.
        this.pending = undefined;
        this.failures++;
        this.retryAt = Date.now() + Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** (this.failures - 1));
      },
    );
  }

  /** Clock second-chance: the oldest entry not hit since eviction last passed leaves. */
  private evict(): void {
    for (let passes = 0; passes < 2 * this.entries.size + 1; passes++) {
      const first = this.entries.entries().next();
      if (first.done === true) return;
      const [id, entry] = first.value;
      this.entries.delete(id);
      if (!entry.used) {
        this.counts.evictions++;
        return;
      }
      entry.used = false;
      this.entries.set(id, entry);
    }
  }

  // Plaintext leaves the cache within maxAgeMs even for sessions never asked
  // for again. Unref'd: it never keeps the process alive.
  private startSweeper(): void {
    if (this.sweeper !== undefined || this.closed) return;
    const every = Math.max(250, Math.min(Math.floor(this.settings.maxAgeMs / 4), 10_000));
    this.sweeper = setInterval(() => this.sweep(), every);
    (this.sweeper as { unref?: () => void }).unref?.();
  }

  /** Removes entries at or past maxAgeMs. */
  sweep(): void {
    const now = this.now();
    for (const [id, entry] of this.entries) {
      const age = now - entry.filledAt;
      if (age >= this.settings.maxAgeMs || age < 0) this.entries.delete(id);
    }
  }
}

/** The near cache for these options, or `undefined` when `nearCache` is off. Throws ConfigInvalid. */
export function nearCacheFor(
  options: CloakroomOptions,
  now: () => number,
): SessionCache | undefined {
  const settings = resolveNearCache(options);
  return settings === undefined ? undefined : new NearCache(options.store, settings, now);
}

/**
 * What the cache keeps of a resolved session: the outer metadata and the
 * opened secrets, claims as JSON text so every answer gets its own copy (a
 * caller that edits `session.claims` cannot change the next answer).
 */
export interface CachedSession {
  readonly payload: LivePayload;
  readonly sub: string;
  readonly claimsJson: string;
  readonly token: string;
  readonly refreshToken: string | undefined;
  readonly idToken: string | undefined;
}

/** The near cache of a manager's sessions. */
export type SessionCache = NearCache<CachedSession>;
