// Starts and stops real redis-server processes on loopback for the fault
// and cluster tests. Everything it starts it kills by pid; readiness is
// polled with a deadline, never a fixed sleep.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Cluster, Redis } from 'ioredis';

const run = promisify(execFile);
const started = new Set<ChildProcess>();
// A crashed test file must not leave servers behind.
process.once('exit', () => {
  for (const child of started) child.kill('SIGKILL');
});

/** Poll `probe` until it returns true, or throw after `timeoutMs`. */
export async function waitFor(
  what: string,
  probe: () => Promise<boolean>,
  timeoutMs = 15_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await probe()) return;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** A free loopback port; with `clusterBus`, port + 10000 is free too. */
export async function freePort(clusterBus = false): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 30_000);
    if ((await portIsFree(port)) && (!clusterBus || (await portIsFree(port + 10_000)))) return port;
  }
  throw new Error('no free loopback port');
}

async function ping(port: number): Promise<boolean> {
  const { stdout } = await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), 'ping']);
  return stdout.trim() === 'PONG';
}

/** A redis-server process this test started. */
export interface RedisServer {
  readonly port: number;
  readonly pid: number;
  /** SIGKILL by pid and wait for the process to exit. */
  kill(): Promise<void>;
}

/** Start `redis-server` on `port` (no persistence) and wait until it answers PING. */
export async function startRedisServer(
  port: number,
  dir: string,
  extra: string[] = [],
): Promise<RedisServer> {
  const child = spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--daemonize',
      'no',
      '--dir',
      dir,
      ...extra,
    ],
    { stdio: 'ignore' },
  );
  started.add(child);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let spawnError: Error | undefined;
  child.once('error', (err) => {
    spawnError = err;
  });
  await waitFor(`redis-server on port ${port}`, async () => {
    if (spawnError)
      throw new Error('cannot start redis-server: is it on PATH?', { cause: spawnError });
    return ping(port);
  }).catch((err: unknown) => {
    child.kill('SIGKILL');
    started.delete(child);
    throw spawnError
      ? new Error('cannot start redis-server: is it on PATH?', { cause: spawnError })
      : err;
  });
  return {
    port,
    pid: child.pid as number,
    async kill() {
      if (child.exitCode === null && child.signalCode === null)
        process.kill(child.pid as number, 'SIGKILL');
      await exited;
      started.delete(child);
    },
  };
}

/** A temporary directory, removed by the returned function. */
export function tempDir(label: string): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `cloakroom-${label}-`));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A three-master Redis Cluster on loopback, with a connected ioredis `Cluster`. */
export interface TestCluster {
  readonly client: Cluster;
  readonly ports: readonly number[];
  /** SIGKILL the server on `port` (by pid). */
  killNode(port: number): Promise<void>;
  /** Start it again on the same port and config file (it keeps its node id and slots), wait for `cluster_state:ok`. */
  restartNode(port: number): Promise<void>;
  /** Disconnect the client, kill the three servers, remove their files. */
  stop(): Promise<void>;
}

async function clusterOk(port: number): Promise<void> {
  await waitFor(
    `cluster_state:ok on ${port}`,
    async () => {
      const node = new Redis({ host: '127.0.0.1', port, lazyConnect: true });
      node.on('error', () => {});
      try {
        await node.connect();
        return String(await node.cluster('INFO')).includes('cluster_state:ok');
      } finally {
        node.disconnect();
      }
    },
    30_000,
  );
}

/** Start three cluster-enabled servers, join them, wait for `cluster_state:ok`. */
export async function startCluster(): Promise<TestCluster> {
  const { dir, remove } = tempDir('cluster');
  const servers: RedisServer[] = [];
  const nodeArgs = (port: number) => [
    '--cluster-enabled',
    'yes',
    '--cluster-config-file',
    join(dir, `nodes-${port}.conf`),
  ];
  let client: Cluster | undefined;
  const stop = async (): Promise<void> => {
    client?.disconnect();
    for (const server of servers) await server.kill();
    remove();
  };
  try {
    for (let i = 0; i < 3; i++) {
      const port = await freePort(true);
      servers.push(await startRedisServer(port, dir, nodeArgs(port)));
    }
    const ports = servers.map((s) => s.port);
    await run(
      'redis-cli',
      [
        '--cluster',
        'create',
        ...ports.map((p) => `127.0.0.1:${p}`),
        '--cluster-replicas',
        '0',
        '--cluster-yes',
      ],
      { timeout: 30_000 },
    );
    for (const port of ports) await clusterOk(port);
    // Auto-pipelining on, as the README recommends: the cluster suites run through it.
    client = new Cluster(
      ports.map((port) => ({ host: '127.0.0.1', port })),
      { enableAutoPipelining: true },
    );
    client.on('error', () => {});
    const ready = client;
    await waitFor('cluster client ready', async () => (await ready.ping()) === 'PONG');
    const indexOf = (port: number): number => {
      const i = servers.findIndex((server) => server.port === port);
      if (i < 0) throw new Error(`no cluster node on port ${port}`);
      return i;
    };
    return {
      client,
      ports,
      stop,
      async killNode(port) {
        await servers[indexOf(port)]?.kill();
      },
      async restartNode(port) {
        servers[indexOf(port)] = await startRedisServer(port, dir, nodeArgs(port));
        for (const p of ports) await clusterOk(p);
      },
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
