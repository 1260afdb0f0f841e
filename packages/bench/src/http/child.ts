// Child processes of the HTTP bench: spawned under tsx, pinned to one CPU with
// taskset where the machine allows it, spoken to over IPC by request id.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';

const BENCH_DIR = resolve(import.meta.dirname, '../..');

/** How processes are pinned: server on one CPU, load generator on another. */
export interface Pinning {
  readonly server?: number;
  readonly load?: number;
  /** Why there is no pinning, for the report. */
  readonly note: string;
}

export function pinning(wanted: boolean): Pinning {
  if (!wanted) return { note: 'not pinned (--http-no-pin)' };
  if (spawnSync('taskset', ['-c', '0', 'true']).status !== 0) {
    return { note: 'not pinned: taskset is not available' };
  }
  const cpus = availableParallelism();
  if (cpus < 2) return { note: `not pinned: ${cpus} CPU` };
  return {
    server: 1,
    load: 0,
    note: `server on CPU 1, load generator on CPU 0 (taskset); Redis and the orchestrator unpinned, ${cpus} CPUs`,
  };
}

/** A request without its id (distributes over a union of requests). */
export type WithoutId<T> = T extends unknown ? Omit<T, 'id'> : never;

export interface Child<Req extends { id: number }, Rep> {
  readonly process: ChildProcess;
  /** The first message the child sends (ready or failed). */
  readonly first: Promise<Rep>;
  request(message: WithoutId<Req>): Promise<Rep>;
  /** Pins the running process, every thread of it, to one CPU (`taskset -a -p`). */
  pin(cpu: number): void;
  kill(): void;
}

/**
 * Spawns `node --import tsx <entry> ...args` (under `taskset -c cpu` if given)
 * with an IPC channel. `nodeArgs` go before the entry (e.g. --cpu-prof).
 */
export function spawnChild<Req extends { id: number }, Rep extends { type: string; id?: number }>(
  entry: string,
  args: readonly string[],
  options: { cpu?: number; nodeArgs?: readonly string[]; env?: NodeJS.ProcessEnv },
): Child<Req, Rep> {
  const node = [
    ...(options.nodeArgs ?? []),
    '--import',
    'tsx',
    resolve(import.meta.dirname, entry),
    ...args,
  ];
  const [command, argv] =
    options.cpu === undefined
      ? [process.execPath, node]
      : ['taskset', ['-c', String(options.cpu), process.execPath, ...node]];
  const child = spawn(command, argv, {
    cwd: BENCH_DIR,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const waiting = new Map<number, { resolve(reply: Rep): void; reject(error: Error): void }>();
  let nextId = 1;
  let onFirst: ((reply: Rep) => void) | undefined;
  let onExit: ((error: Error) => void) | undefined;
  const first = new Promise<Rep>((resolve, reject) => {
    onFirst = resolve;
    onExit = reject;
  });
  const gone = (why: string) => {
    const error = new Error(`${entry} ${args.join(' ')}: ${why}`);
    onExit?.(error);
    for (const [id, settle] of waiting) {
      waiting.delete(id);
      settle.reject(error);
    }
  };
  child.on('message', (message: Rep) => {
    if (message.id === undefined) {
      onFirst?.(message);
      onFirst = undefined;
      return;
    }
    const settle = waiting.get(message.id);
    waiting.delete(message.id);
    settle?.resolve(message);
  });
  child.on('exit', (code, signal) => gone(`exited (${signal ?? code})`));
  child.on('error', (error) => gone(error.message));
  return {
    process: child,
    first,
    request(message) {
      const id = nextId++;
      return new Promise<Rep>((resolve, reject) => {
        waiting.set(id, { resolve, reject });
        child.send({ ...message, id });
      });
    },
    pin(cpu) {
      const done = spawnSync('taskset', ['-a', '-p', '-c', String(cpu), String(child.pid)]);
      if (done.status !== 0) throw new Error(`${entry} ${args.join(' ')}: taskset failed`);
    },
    kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill();
    },
  };
}
