// A three-master Redis Cluster on loopback for the redis+cluster:// test.
// Every server is started here and killed by pid in stop(); readiness is
// polled with a deadline, never a fixed sleep.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const exec = promisify(execFile);
const spawned = new Set<ChildProcess>();
// A test file that crashes must not leave servers behind.
process.once('exit', () => {
  for (const child of spawned) child.kill('SIGKILL');
});

async function until(what: string, probe: () => Promise<boolean>, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await probe().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function free(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

async function clusterPort(taken: Set<number>): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const port = 21_000 + Math.floor(Math.random() * 20_000);
    if (taken.has(port) || taken.has(port + 10_000)) continue;
    if ((await free(port)) && (await free(port + 10_000))) return port;
  }
  throw new Error('no free loopback port pair for a cluster node');
}

const cli = (port: number, ...args: string[]) =>
  exec('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args]);

/** A running cluster: its ports, and stop() that kills what start() spawned. */
export interface TestCluster {
  readonly ports: readonly number[];
  stop(): Promise<void>;
}

/** Start three cluster-enabled redis-server processes and join them (no replicas). */
export async function startCluster(): Promise<TestCluster> {
  const dir = await mkdtemp(join(tmpdir(), 'cloakroom-cli-cluster-'));
  const children: ChildProcess[] = [];
  const ports: number[] = [];
  const taken = new Set<number>();
  const stop = async () => {
    await Promise.all(
      children.map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            child.once('exit', () => resolve());
            child.kill('SIGKILL');
          }),
      ),
    );
    await rm(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < 3; i++) {
      const port = await clusterPort(taken);
      taken.add(port);
      ports.push(port);
      const child = spawn(
        'redis-server',
        [
          '--port',
          String(port),
          '--bind',
          '127.0.0.1',
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          join(dir, `nodes-${port}.conf`),
          '--save',
          '',
          '--appendonly',
          'no',
          '--dir',
          dir,
        ],
        { stdio: 'ignore' },
      );
      children.push(child);
      spawned.add(child);
      child.once('exit', () => spawned.delete(child));
      await until(
        `redis-server on ${port}`,
        async () => (await cli(port, 'ping')).stdout.trim() === 'PONG',
      );
    }
    await exec('redis-cli', [
      '--cluster',
      'create',
      ...ports.map((p) => `127.0.0.1:${p}`),
      '--cluster-replicas',
      '0',
      '--cluster-yes',
    ]);
    await until('cluster_state:ok', async () => {
      for (const p of ports) {
        if (!(await cli(p, 'cluster', 'info')).stdout.includes('cluster_state:ok')) return false;
      }
      return true;
    });
    return { ports, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
