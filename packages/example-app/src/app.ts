import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { type Server, createServer as createHttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type Cloakroom,
  ConfigInvalid,
  type EventSink,
  OPERATOR_ACTIONS,
  type RotatingKeyProvider,
  type TicketCookieOptions,
  allOf,
  anyOf,
  createCloakroom,
  defaultPolicy,
  ipAllowlist,
  rolePolicy,
  rotatingKeys,
} from '@cloakroom/core';
import { openBackend } from './backend';
import { createCsrfGuard } from './csrf';
import { esc } from './html';
import { type RewrapRunner, createRewrapRunner } from './rewrap-job';
import { createHandler } from './routes';
import { selfSignedCertificate } from './tls';
import { DEFAULT_DEMO_PASSWORD } from './users';

/** Options of {@link startApp}; `main.ts` fills them from the environment. */
export interface AppOptions {
  /** Data directory (filesystem store, TLS certificate). @default a fresh 0700 directory under the OS temp dir */
  readonly dataDir?: string;
  /** `redis://`, `postgres://` or `file://`. @default the filesystem store in `<dataDir>/sessions` */
  readonly storeUrl?: string;
  /** Master key of the rotating key set, 32 bytes base64url. @default generated (demo mode, with a warning) */
  readonly masterKey?: string;
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** `0` picks a free port. @default 8443 */
  readonly port?: number;
  /**
   * Plain http with a non-prefixed, non-Secure cookie (`cloakroom-dev`), for
   * development only. @default false (HTTPS with a self-signed certificate, `__Host-` cookie)
   */
  readonly insecureDev?: boolean;
  /** @default 'cloakroom-demo' */
  readonly demoPassword?: string;
  /**
   * How long a rotated key is published before it is used. Short here so the
   * demo shows a rotation complete; in production keep the library default
   * (one hour for signing keys, longer than any JWKS cache).
   * @default 5000
   */
  readonly publishAheadMs?: number;
  /** Records per rewrap page. @default 2 */
  readonly rewrapBatchSize?: number;
  /** Addresses allowed operator actions (CIDR). @default loopback only */
  readonly adminAllow?: readonly string[];
  /** Proxies whose X-Forwarded-For is believed. @default [] */
  readonly trustedProxies?: readonly string[];
  /** Redis key prefix. @default 'cloakroom-example:' */
  readonly redisPrefix?: string;
  /** PostgreSQL schema. @default 'public' */
  readonly postgresSchema?: string;
  /** Audit events (hashed ids only). @default none */
  readonly onEvent?: EventSink;
  /** Start-up messages and warnings. @default console.warn */
  readonly log?: (line: string) => void;
}

/** A running app. */
export interface RunningApp {
  /** Base URL, e.g. `https://127.0.0.1:8443/`. */
  readonly url: string;
  readonly dataDir: string;
  /** The self-signed certificate to trust (HTTPS mode). */
  readonly certPath?: string;
  /** Name of the ticket cookie. */
  readonly cookieName: string;
  readonly backend: 'filesystem' | 'redis' | 'postgres';
  readonly cloakroom: Cloakroom;
  readonly keys: RotatingKeyProvider;
  readonly runner: RewrapRunner;
  /**
   * Stops the server, waits for a running rewrap, closes the stores, and
   * deletes the data directory if `startApp` created it. Idempotent.
   */
  close(): Promise<void>;
}

const SWEEP_EVERY = 5 * 60_000;

/**
 * Starts the example app: a rotating key set and sessions on one backend, a
 * `node:http(s)` server with the pages, and a sweeper for stores without
 * native expiry.
 *
 * @throws ConfigInvalid for a bad master key, store URL or TLS failure.
 * @example
 * ```ts
 * const app = await startApp({ port: 0 });
 * console.log(app.url);
 * await app.close();
 * ```
 */
export async function startApp(options: AppOptions = {}): Promise<RunningApp> {
  const log = options.log ?? ((line: string) => console.warn(line));
  let masterKey = options.masterKey;
  if (masterKey === undefined || masterKey === '') {
    masterKey = randomBytes(32).toString('base64url');
    log(
      // Never print the key itself: a key in a log line is a leaked key.
      'WARNING demo mode: CLOAKROOM_MASTER_KEY is not set, using a master key generated for this run only.\n  To keep the key set across restarts, set CLOAKROOM_MASTER_KEY to 32 random bytes in base64url\n  (e.g. from `cloakroom keys generate --kind master --out master.key`).',
    );
  }
  const masterBytes = Buffer.from(masterKey, 'base64url');
  if (masterBytes.length !== 32 || masterBytes.toString('base64url') !== masterKey) {
    throw new ConfigInvalid('CLOAKROOM_MASTER_KEY must be 32 bytes, base64url-encoded');
  }

  // Everything opened so far, closed in reverse on failure and on close().
  const opened: (() => Promise<void>)[] = [];
  const unwind = async () => {
    for (const undo of opened.splice(0).reverse()) await undo();
  };
  try {
    return await start(options, log, masterKey, masterBytes, opened, unwind);
  } catch (error) {
    await unwind().catch(() => {});
    throw error;
  }
}

async function start(
  options: AppOptions,
  log: (line: string) => void,
  masterKey: string,
  masterBytes: Uint8Array,
  opened: (() => Promise<void>)[],
  unwind: () => Promise<void>,
): Promise<RunningApp> {
  let dataDir = options.dataDir;
  if (dataDir === undefined) {
    // Made here, it holds nothing reusable after exit (each start makes a new one): removed on close.
    const made = await mkdtemp(join(tmpdir(), 'cloakroom-example-'));
    opened.push(() => rm(made, { recursive: true, force: true }));
    dataDir = made;
  }
  await mkdir(dataDir, { recursive: true, mode: 0o700 });

  const backend = await openBackend({
    dataDir,
    ...(options.storeUrl === undefined ? {} : { storeUrl: options.storeUrl }),
    ...(options.redisPrefix === undefined ? {} : { redisPrefix: options.redisPrefix }),
    ...(options.postgresSchema === undefined ? {} : { postgresSchema: options.postgresSchema }),
  });
  opened.push(() => backend.close());
  const publishAhead = options.publishAheadMs ?? 5_000;
  const keys = rotatingKeys({
    store: backend.keySets,
    name: 'example-app',
    masterKey,
    refreshEvery: Math.max(50, Math.floor(publishAhead / 2)),
    signing: { publishAhead },
    storage: { publishAhead },
  });
  // Users may list and sign out their own sessions (defaultPolicy); operator
  // actions need the admin role (granted only in admin mode) AND an allowed address.
  const policy = anyOf(
    defaultPolicy(),
    allOf(
      rolePolicy({
        roles: { admin: ['keys.*', 'store.*', 'session.list', 'subject.revoke'] },
        everyone: [],
      }),
      ipAllowlist({
        allow: options.adminAllow ?? ['127.0.0.0/8', '::1'],
        actions: OPERATOR_ACTIONS,
      }),
    ),
  );
  const cloakroom = createCloakroom({
    store: backend.store,
    keys,
    policy,
    issuer: 'https://example-app.cloakroom.test',
    audience: 'https://api.example-app.cloakroom.test',
    ...(options.onEvent === undefined ? {} : { onEvent: options.onEvent }),
  });
  opened.push(() => cloakroom.close());
  await keys.status(); // load (or create) the key set now, not on the first request

  const insecure = options.insecureDev === true;
  const cookie: TicketCookieOptions = insecure ? { name: 'cloakroom-dev', secure: false } : {};
  const runner = createRewrapRunner({
    cloakroom,
    keys,
    ...(options.rewrapBatchSize === undefined ? {} : { batchSize: options.rewrapBatchSize }),
  });
  opened.push(() => runner.idle());
  const handle = createHandler({
    cloakroom,
    keys,
    policy,
    csrf: createCsrfGuard(masterBytes),
    cookie,
    runner,
    demoPassword: options.demoPassword ?? DEFAULT_DEMO_PASSWORD,
    ...(options.trustedProxies === undefined ? {} : { trustedProxies: options.trustedProxies }),
    footer: `Sessions and keys in the ${esc(backend.kind)} store · ${insecure ? 'plain http (dev)' : 'https'}`,
  });
  const listener = (req: Parameters<typeof handle>[0], res: Parameters<typeof handle>[1]) => {
    void handle(req, res);
  };

  let server: Server;
  let certPath: string | undefined;
  if (insecure) {
    server = createHttpServer(listener);
  } else {
    const tls = await selfSignedCertificate(dataDir);
    certPath = tls.certPath;
    server = createHttpsServer({ cert: tls.cert, key: tls.key }, listener);
  }
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 8443, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  opened.push(async () => {
    const stopped = new Promise<void>((r) => server.close(() => r()));
    // Open event streams would keep close() waiting.
    server.closeAllConnections();
    await stopped;
  });
  const { port } = server.address() as AddressInfo;
  const url = `${insecure ? 'http' : 'https'}://${host.includes(':') ? `[${host}]` : host}:${port}/`;

  if (backend.needsSweep) {
    const sweeper = setInterval(() => {
      backend.store.sweep?.(Date.now()).catch((e: Error) => log(`sweep failed: ${e.message}`));
    }, SWEEP_EVERY).unref();
    opened.push(async () => clearInterval(sweeper));
  }

  let closing: Promise<void> | undefined;
  return {
    url,
    dataDir,
    ...(certPath === undefined ? {} : { certPath }),
    cookieName: cookie.name ?? '__Host-cloakroom',
    backend: backend.kind,
    cloakroom,
    keys,
    runner,
    close() {
      closing ??= unwind();
      return closing;
    },
  };
}
