// The near cache's invalidation channel over LISTEN/NOTIFY (SEC-32). One
// dedicated connection per watch(): a pooled connection cannot hold a LISTEN,
// since the pool hands it to other callers and may close it at any time.
import { randomBytes } from 'node:crypto';
import {
  type InvalidationChannel,
  type InvalidationListener,
  isStoreKey,
  StoreUnavailable,
} from '@cloakroom/core';
import pg, { type ClientConfig } from 'pg';
import { toStoreError } from './errors';
import type { Tables } from './options';
import { quoteIdentifier } from './postgres/identifiers';
import { channelName, PROBE_SQL, RESET_MESSAGE, triggerNames } from './postgres/invalidation-sql';

/** What {@link openInvalidationChannel} needs. Internal. */
export interface ChannelSettings {
  readonly tables: Tables;
  /** Settings of the dedicated LISTEN connection. */
  readonly connection: ClientConfig;
  readonly boundMs: number;
  /** Bound on setting the channel up (connect, LISTEN, first probe). */
  readonly timeoutMs: number;
  /**
   * Runs the probe through the store's own pool: the path every write takes.
   * Its echo then proves that what the store writes reaches this listener; a
   * LISTEN connection that reached another server or database never vouches.
   */
  readonly probeQuery: (text: string, values: unknown[]) => Promise<{ rows: { armed?: number }[] }>;
}

const MIN_RETRY_MS = 50;
const MAX_RETRY_MS = 2000;

/**
 * Opens the channel and resolves once it is live (connected, listening, the
 * store's triggers in place and a first probe echoed), so a near cache can
 * answer from the first request.
 *
 * How it vouches: every `boundMs / 4` the store's pool (the connections the
 * store writes through, not the LISTEN connection) notifies this listener's
 * private probe channel, so a LISTEN connection that reached another server
 * or database (a misconfigured `invalidation.connection`, a replica, an old
 * primary) never hears an echo and never vouches. PostgreSQL queues notifications in commit order and
 * a listening backend forwards them in queue order, so when the echo of a
 * probe sent at time `s` arrives, every change committed before `s` has
 * already reached the listener. `live` is true only while the newest echoed
 * probe was sent less than `boundMs` ago, on a connection still open, with
 * the three triggers present; hence any change not yet delivered while
 * `live` is younger than `boundMs`. Every transition of `live`, either way,
 * calls `reset()`. A lost connection, an error, or a probe unanswered for
 * `boundMs` closes the connection (reset) and reconnects with backoff; the
 * channel is live again only after a fresh LISTEN and an echoed probe.
 *
 * Message format on the data channel: session ids separated by spaces
 * (batches from one statement), or `*` meaning "drop everything". Anything
 * else is treated as `*`: an unknown message is a change the channel cannot
 * name.
 *
 * @throws StoreUnavailable when the connection, the LISTEN or the first
 *   probe fails within `timeoutMs`, or the table lacks the triggers of
 *   migration 2 (run `migrate()`).
 * @example
 * ```ts
 * const channel = await openInvalidationChannel(settings, { invalidate: (id) => cache.delete(id), reset: () => cache.clear() });
 * if (channel.live) serveFromCache();
 * ```
 */
export async function openInvalidationChannel(
  settings: ChannelSettings,
  listener: InvalidationListener,
): Promise<InvalidationChannel> {
  const { tables, connection, boundMs, timeoutMs } = settings;
  const dataChannel = channelName(tables);
  // Private to this connection, so a fleet's probes do not fan out to every instance.
  const probeChannel = `cloakroom_probe_${randomBytes(12).toString('hex')}`;
  const listenSql = `LISTEN ${quoteIdentifier(dataChannel)}; LISTEN ${quoteIdentifier(probeChannel)}`;
  const probeValues = (token: string) => [
    probeChannel,
    token,
    tables.sessionsSql,
    triggerNames(tables),
    dataChannel,
  ];
  const intervalMs = Math.max(5, Math.floor(boundMs / 4));

  let closed = false;
  let client: pg.Client | undefined;
  let listening = false;
  let armed = false;
  let vouchedAt = Number.NEGATIVE_INFINITY;
  let wasLive = false;
  let retryMs = MIN_RETRY_MS;
  let retryTimer: NodeJS.Timeout | undefined;
  let seq = 0;
  let probing = false;
  /** Probes sent and not yet echoed: token -> send time (performance.now()). */
  const pending = new Map<string, number>();
  /** Settles the first open() once live, or with the reason it cannot be. */
  let firstOpen: { resolve(): void; reject(err: Error): void } | undefined;

  const liveAt = (now: number) => !closed && listening && armed && now - vouchedAt < boundMs;

  const safeReset = () => {
    try {
      listener.reset();
    } catch {
      // The listener must not throw; if it does, the next transition resets again.
    }
  };

  /** Calls reset on every change of `live`, either way (see above). */
  const settle = () => {
    const now = performance.now();
    const live = liveAt(now);
    if (live !== wasLive) {
      wasLive = live;
      safeReset();
    }
    if (live && firstOpen) {
      firstOpen.resolve();
      firstOpen = undefined;
    }
  };

  const lose = (c: pg.Client, reason: Error) => {
    if (client !== c) return;
    client = undefined;
    listening = false;
    armed = false;
    probing = false;
    pending.clear();
    // Only a probe echoed on the next connection vouches again.
    vouchedAt = Number.NEGATIVE_INFINITY;
    c.end().catch(() => {});
    // Whatever `live` was, changes may have been missed: drop the cache.
    wasLive = false;
    safeReset();
    if (firstOpen) {
      firstOpen.reject(toStoreError(reason));
      firstOpen = undefined;
      return;
    }
    if (closed) return;
    retryTimer = setTimeout(connect, retryMs);
    retryTimer.unref?.();
    retryMs = Math.min(retryMs * 2, MAX_RETRY_MS);
  };

  const onData = (payload: string) => {
    if (payload === RESET_MESSAGE || payload === '') {
      safeReset();
      return;
    }
    for (const id of payload.split(' ')) {
      if (!isStoreKey(id)) {
        safeReset();
        return;
      }
      try {
        listener.invalidate(id);
      } catch {
        // A listener that throws cannot be trusted to have dropped the id.
        safeReset();
      }
    }
  };

  const onEcho = (token: string) => {
    const sentAt = pending.get(token);
    if (sentAt === undefined) return;
    // Echoes come back in order: this one also answers every earlier probe.
    for (const [t, at] of pending) {
      pending.delete(t);
      if (at >= sentAt) break;
    }
    if (sentAt > vouchedAt) vouchedAt = sentAt;
    retryMs = MIN_RETRY_MS;
    settle();
  };

  const probe = () => {
    const c = client;
    if (c === undefined || !listening) return;
    const now = performance.now();
    const oldest = pending.values().next();
    if (!oldest.done && now - oldest.value >= boundMs) {
      lose(c, new Error(`the invalidation probe went unanswered for ${boundMs} ms`));
      return;
    }
    // One probe query at a time; the overdue check above covers a slow one.
    if (probing) return;
    probing = true;
    seq += 1;
    const token = String(seq);
    pending.set(token, now);
    settings.probeQuery(PROBE_SQL, probeValues(token)).then(
      (result) => {
        if (client !== c) return;
        probing = false;
        armed = result.rows[0]?.armed === 3;
        if (!armed && firstOpen) {
          firstOpen.reject(
            new StoreUnavailable(
              'the sessions table has no invalidation triggers: run migrate() with invalidationTriggers: true',
            ),
          );
          firstOpen = undefined;
        }
        settle();
      },
      (err: unknown) => lose(c, err instanceof Error ? err : new Error('probe failed')),
    );
    settle();
  };

  function connect(): void {
    retryTimer = undefined;
    if (closed) return;
    const c = new pg.Client(connection);
    client = c;
    const onLost = (err?: Error) => lose(c, err ?? new Error('the LISTEN connection ended'));
    c.on('error', onLost);
    c.on('end', () => onLost());
    c.on('notification', (message) => {
      if (client !== c) return;
      if (message.channel === probeChannel) onEcho(message.payload ?? '');
      else if (message.channel === dataChannel) onData(message.payload ?? '');
    });
    // A silent server would hold connect() forever: give up and retry instead.
    const stuck = setTimeout(() => onLost(new Error('LISTEN not set up in time')), timeoutMs);
    stuck.unref?.();
    c.connect()
      .then(() => c.query(listenSql))
      .then(
        () => {
          clearTimeout(stuck);
          if (client !== c) return;
          listening = true;
          probe();
        },
        (err: unknown) => {
          clearTimeout(stuck);
          onLost(err instanceof Error ? err : new Error('LISTEN failed'));
        },
      );
  }

  const timer = setInterval(probe, intervalMs);
  timer.unref?.();

  const close = async () => {
    if (closed) return;
    closed = true;
    clearInterval(timer);
    if (retryTimer) clearTimeout(retryTimer);
    const c = client;
    client = undefined;
    listening = false;
    wasLive = false;
    pending.clear();
    if (c) await c.end().catch(() => {});
  };

  const ready = new Promise<void>((resolve, reject) => {
    firstOpen = { resolve, reject };
  });
  const deadline = setTimeout(() => {
    if (!firstOpen) return;
    firstOpen.reject(
      new StoreUnavailable(`the invalidation channel was not live within ${timeoutMs} ms`),
    );
    firstOpen = undefined;
  }, timeoutMs);
  connect();
  try {
    await ready;
  } catch (err) {
    await close();
    throw err;
  } finally {
    clearTimeout(deadline);
  }

  return {
    get live() {
      return liveAt(performance.now());
    },
    boundMs,
    close,
  };
}
