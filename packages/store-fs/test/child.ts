import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

/** A child node process running a TypeScript fixture in-process (tsx loader), so SIGKILL hits the writer itself. */
export interface Child {
  readonly proc: ChildProcess;
  /** Every stdout line so far. */
  readonly lines: string[];
  /** Resolves with the first line matching, rejects after `ms`. */
  waitFor(predicate: (line: string) => boolean, ms: number): Promise<string>;
  /** Resolves when the process has exited and its output is fully read. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
}

export function spawnFixture(fixture: string, args: readonly string[]): Child {
  const script = fileURLToPath(new URL(`./fixtures/${fixture}`, import.meta.url));
  const proc = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
    cwd: repoRoot,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const waiters: { predicate: (line: string) => boolean; resolve: (line: string) => void }[] = [];
  let stderr = '';
  proc.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const rl = createInterface({ input: proc.stdout! });
  rl.on('line', (line) => {
    lines.push(line);
    for (const w of [...waiters]) {
      if (w.predicate(line)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(line);
      }
    }
  });
  const closed = new Promise<void>((resolve) => rl.on('close', resolve));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.on('exit', (code, signal) => resolve({ code, signal })),
  ).then(async (r) => {
    await closed;
    return { ...r, stderr };
  });
  return {
    proc,
    lines,
    exited,
    waitFor(predicate, ms) {
      const found = lines.find(predicate);
      if (found !== undefined) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          proc.kill('SIGKILL');
          reject(
            new Error(
              `child ${fixture} timed out after ${ms} ms; stderr: ${stderr.slice(0, 2000)}`,
            ),
          );
        }, ms);
        const onExit = () => {
          clearTimeout(timer);
          reject(new Error(`child ${fixture} exited early; stderr: ${stderr.slice(0, 2000)}`));
        };
        proc.once('exit', onExit);
        waiters.push({
          predicate,
          resolve: (line) => {
            clearTimeout(timer);
            proc.off('exit', onExit);
            resolve(line);
          },
        });
      });
    },
  };
}
