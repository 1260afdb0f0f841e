// The invalidation channel of the Redis store (SessionStore.watch, SEC-32):
// Redis server-assisted client-side caching in broadcasting mode.
//
// Why this shape (measured and tried on Redis 7.0 with ioredis 5):
// - ioredis speaks RESP2 only, so invalidations come as Pub/Sub messages on
//   `__redis__:invalidate` to a connection named by REDIRECT. The channel
//   owns ONE connection that turns tracking on redirected to ITSELF, then
//   subscribes: tracking and delivery live and die together, so there is
//   no second connection whose loss goes unnoticed (no `tracking-redir-broken`
//   window) and the store's own client is never touched.
// - BCAST with one PREFIX per bucket's record keys (`<prefix>{tag}:s:`): the
//   server keeps no per-key table (the default mode remembers every key the
//   *reading* connection fetched, which would have to be the caller's client
//   and its reconnects), and the subject and expiry indexes send nothing.
//   Every record write under the prefix reaches every instance, ours too,
//   including deletes, TTL expiry and the keys a Lua script touches.
// - A probe: every `probeIntervalMs` the channel writes a key of its own
//   under a tracked prefix through the store's own client (the write path
//   of every other change) and must see its invalidation within
//   `probeTimeoutMs`. That is an end-to-end check of exactly what the bound
//   promises: a change acknowledged to its writer reaches this listener.
//
// Fail closed: a closed or reconnecting connection, a failed setup, a failed
// or overdue probe turn `live` false and call `reset`; a flush (a null
// message) or a key the channel cannot map calls `reset`. `live` turns true
// again only after tracking is set up anew AND a probe sent since then came
// back in time, and `reset` runs at that moment too (whatever was cached
// while the channel could not vouch is dropped).
import { randomBytes } from 'node:crypto';
import {
  type InvalidationChannel,
  type InvalidationListener,
  StoreUnavailable,
  isStoreKey,
} from '@cloakroom/core';
import type { Redis } from 'ioredis';
import type { Connection } from './connection';
import { BUCKETS, type KeyLayout } from './key-layout';

/** The Pub/Sub channel RESP2 redirect mode delivers invalidations on. */
export const INVALIDATE_CHANNEL = '__redis__:invalidate';

/** The probe settings of a channel (validated in options.ts). */
export interface ProbeOptions {
  readonly probeIntervalMs: number;
  readonly probeTimeoutMs: number;
}

/** What a channel needs from its store. */
export interface ChannelDeps {
  readonly conn: Connection;
  readonly keys: KeyLayout;
  readonly prefix: string;
  /** A new, not yet connected client to the same server, for the channel alone. */
  readonly subscriber: Redis;
  readonly probe: ProbeOptions;
  readonly label: string;
}

/** The key prefixes the channel tracks: every bucket's record keys, and its probes. */
export function trackedPrefixes(keys: KeyLayout, prefix: string): string[] {
  const out: string[] = [];
  for (let b = 0; b < BUCKETS; b++) out.push(`${keys.bucketBase(b)}s:`);
  out.push(probeBase(prefix));
  return out;
}

/** Where every channel's probe keys live: `<prefix>~probe:` ('~' is not allowed in a prefix). */
export function probeBase(prefix: string): string {
  return `${prefix}~probe:`;
}

/**
 * The session id a record key names, or undefined when `key` is not exactly
 * the record key of a valid id under this layout.
 */
export function idOfRecordKey(keys: KeyLayout, key: string): string | undefined {
  const at = key.lastIndexOf('}:s:');
  if (at < 0) return undefined;
  const id = key.slice(at + 4);
  return isStoreKey(id) && keys.recordKey(id) === key ? id : undefined;
}

/** Open a channel; resolves once it is live, rejects with StoreUnavailable when it cannot be set up. */
export async function openChannel(
  deps: ChannelDeps,
  listener: InvalidationListener,
): Promise<InvalidationChannel & { readonly closed: boolean }> {
  const channel = new RedisChannel(deps, listener);
  try {
    await channel.start();
  } catch (err) {
    await channel.close();
    throw new StoreUnavailable(`${deps.label}: the invalidation channel could not be set up`, {
      cause: err,
    });
  }
  return channel;
}

class RedisChannel implements InvalidationChannel {
  readonly boundMs: number;
  private isLive = false;
  /**
   * When the newest answered probe was sent: every change acknowledged
   * before then has reached the listener (one connection, in order).
   */
  private vouchedAt = Number.NEGATIVE_INFINITY;
  closed = false;
  /** Bumped on every connect and disconnect: a setup step of an older connection is stale. */
  private generation = 0;
  /** The generation whose tracking and subscription are confirmed; -1 when none. */
  private tracked = -1;
  private seq = 0;
  /**
   * Probes sent and not yet seen, by sequence number. One is sent every
   * interval even while others are out, so a probe leaves at most one
   * interval after any change: the bound is interval + timeout, not more.
   */
  private readonly probes = new Map<
    number,
    { readonly sentAt: number; readonly timer: ReturnType<typeof setTimeout> }
  >();
  private readonly tick: ReturnType<typeof setInterval>;
  private readonly nonce = randomBytes(9).toString('base64url');
  private readonly ownProbes: string;
  private readonly prefixArgs: string[];
  private first:
    | { resolve: () => void; reject: (err: unknown) => void; timer: ReturnType<typeof setTimeout> }
    | undefined;

  constructor(
    private readonly deps: ChannelDeps,
    private readonly listener: InvalidationListener,
  ) {
    const { probeIntervalMs, probeTimeoutMs } = deps.probe;
    // A delivery that stalls while the connection stays up is caught by
    // the next probe: sent at most one interval after the change, overdue
    // one timeout later.
    this.boundMs = probeIntervalMs + probeTimeoutMs;
    this.ownProbes = `${probeBase(deps.prefix)}${this.nonce}:`;
    this.prefixArgs = trackedPrefixes(deps.keys, deps.prefix).flatMap((p) => ['PREFIX', p]);
    this.tick = setInterval(() => this.onTick(), probeIntervalMs);
    this.tick.unref();
  }

  /**
   * Also false once the newest answered probe is older than the bound, read
   * from the clock here: a process starved of CPU, or an event loop stuck
   * in one long phase (where no timer or socket is looked at), stops
   * answering from the cache on its own, without waiting for a timer.
   */
  get live(): boolean {
    return this.isLive && performance.now() - this.vouchedAt <= this.boundMs;
  }

  start(): Promise<void> {
    const sub = this.deps.subscriber;
    sub.on('error', () => {});
    sub.on('ready', () => this.onReady());
    sub.on('close', () => this.onLost());
    sub.on('messageBuffer', (channel: Buffer, message: unknown) =>
      this.onMessage(channel, message),
    );
    const opened = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error('the channel was not live within the command timeout')),
        this.deps.conn.timeoutMs + this.deps.probe.probeTimeoutMs,
      );
      this.first = { resolve, reject, timer };
    });
    sub.connect().catch((err: unknown) => this.failFirst(err));
    return opened;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.isLive = false;
    clearInterval(this.tick);
    this.clearProbes();
    this.failFirst(new Error('closed'));
    const sub = this.deps.subscriber;
    sub.removeAllListeners('ready');
    sub.removeAllListeners('close');
    sub.removeAllListeners('messageBuffer');
    sub.disconnect();
  }

  private failFirst(err: unknown): void {
    if (this.first === undefined) return;
    clearTimeout(this.first.timer);
    this.first.reject(err);
    this.first = undefined;
  }

  private safeReset(): void {
    try {
      this.listener.reset();
    } catch {
      // The listener must not throw; nothing more this side can do.
    }
  }

  private drop(): void {
    this.isLive = false;
    this.clearProbes();
    this.safeReset();
  }

  private clearProbes(): void {
    for (const probe of this.probes.values()) clearTimeout(probe.timer);
    this.probes.clear();
  }

  /** Every (re)connect: tracking is per connection, so it is set up again. */
  private onReady(): void {
    if (this.closed) return;
    const gen = ++this.generation;
    this.tracked = -1;
    this.drop();
    void this.setUp(gen).catch((err: unknown) => {
      if (gen !== this.generation || this.closed) return;
      this.failFirst(err);
      // Start over on a fresh connection, not at once: a server that
      // refuses tracking (ACL, a proxy) is not hammered.
      const retry = setTimeout(() => {
        if (!this.closed && gen === this.generation) this.deps.subscriber.disconnect(true);
      }, this.deps.probe.probeIntervalMs);
      retry.unref();
    });
  }

  private async setUp(gen: number): Promise<void> {
    const sub = this.deps.subscriber;
    const id = await sub.client('ID');
    if (gen !== this.generation) return;
    await sub.call('CLIENT', 'TRACKING', 'ON', 'REDIRECT', String(id), 'BCAST', ...this.prefixArgs);
    await sub.subscribe(INVALIDATE_CHANNEL);
    if (gen !== this.generation || this.closed) return;
    this.tracked = gen;
    // Anything cached before tracking was on is unvouched for.
    this.safeReset();
    this.sendProbe();
  }

  private onLost(): void {
    this.generation++;
    this.tracked = -1;
    this.drop();
  }

  private onTick(): void {
    if (this.closed) return;
    const sub = this.deps.subscriber;
    // The client's own retry strategy gave up: keep trying, at probe pace.
    if (sub.status === 'end') {
      sub.connect().catch(() => {});
      return;
    }
    if (this.tracked === this.generation) this.sendProbe();
  }

  private sendProbe(): void {
    const seq = ++this.seq;
    const key = `${this.ownProbes}${seq}`;
    const timer = setTimeout(() => this.overdue(seq), this.deps.probe.probeTimeoutMs);
    this.probes.set(seq, { sentAt: performance.now(), timer });
    const ttl = String(this.deps.probe.probeTimeoutMs + 1000);
    this.deps.conn
      .run((op) => op.send(key, (c) => c.set(key, '1', 'PX', ttl)))
      .catch(() => this.overdue(seq));
  }

  private overdue(seq: number): void {
    if (!this.probes.has(seq)) return;
    this.drop();
  }

  private onMessage(channel: Buffer, message: unknown): void {
    if (this.closed || channel.toString('latin1') !== INVALIDATE_CHANNEL) return;
    // A flush (FLUSHALL, FLUSHDB) names no keys.
    if (!Array.isArray(message)) {
      this.safeReset();
      return;
    }
    const { keys } = this.deps;
    for (const raw of message) {
      const key = Buffer.isBuffer(raw) ? raw.toString('latin1') : String(raw);
      const id = idOfRecordKey(keys, key);
      if (id !== undefined) {
        try {
          this.listener.invalidate(id);
        } catch {
          this.safeReset();
        }
      } else if (key.startsWith(this.ownProbes)) {
        this.answered(key);
      } else if (!key.startsWith(probeBase(this.deps.prefix))) {
        // Under a tracked record prefix but no record key this store writes:
        // it cannot name the session, so it drops them all.
        this.safeReset();
      }
      // Other instances' probes: nothing to do.
    }
  }

  private answered(key: string): void {
    const seq = Number(key.slice(this.ownProbes.length));
    const probe = this.probes.get(seq);
    // An old probe (one sent before a drop) or a probe key expiring: no news.
    if (probe === undefined) return;
    clearTimeout(probe.timer);
    this.probes.delete(seq);
    if (this.tracked !== this.generation || this.closed) return;
    if (probe.sentAt > this.vouchedAt) this.vouchedAt = probe.sentAt;
    if (!this.isLive) {
      this.safeReset();
      this.isLive = true;
    }
    if (this.first !== undefined) {
      clearTimeout(this.first.timer);
      this.first.resolve();
      this.first = undefined;
    }
  }
}
