/**
 * Where the command line reads and writes. `runCli` takes one so tests (and
 * programs embedding the CLI) drive it in-process; `cli.ts` passes the real
 * process streams.
 *
 * @example
 * ```ts
 * let out = '';
 * const io: CliIo = { stdout: (s) => { out += s; }, stderr: () => {}, env: {} };
 * await runCli(['jwks', '--json'], io);
 * ```
 */
export interface CliIo {
  /** Receives standard output text (already newline-terminated). */
  readonly stdout: (text: string) => void;
  /** Receives diagnostics, progress and errors. */
  readonly stderr: (text: string) => void;
  /** Environment variables (`CLOAKROOM_STORE_URL`, `CLOAKROOM_MASTER_KEY`, ...). */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Whether stderr is a terminal: `rewrap` then draws a progress bar. @default false */
  readonly stderrIsTTY?: boolean;
  /**
   * Width of the terminal in columns: the progress bar and the help fit in
   * it. The CLI passes `process.stderr.columns`.
   * @default 80
   */
  readonly columns?: number;
  /** Stops a running `rewrap` between batches (the CLI wires it to Ctrl-C). */
  readonly signal?: AbortSignal;
  /**
   * Told `true` while a command will honour `signal` (rewrap's batches) and
   * `false` when it no longer does: the CLI then lets Ctrl-C end any other
   * command at once instead of promising a graceful stop that never comes.
   */
  readonly onInterruptible?: (graceful: boolean) => void;
  /** Base directory for relative file paths. @default process.cwd() */
  readonly cwd?: string;
  /** Epoch milliseconds, for the key set and the manager (tests move it). @default Date.now */
  readonly clock?: () => number;
  /** Operator name in the actor id `cli:<user>`. @default the OS user name */
  readonly user?: string;
}

/** Exit codes of {@link runCli}: 0 success, 1 failure, 2 usage error, 130 interrupted. */
export type ExitCode = 0 | 1 | 2 | 130;
