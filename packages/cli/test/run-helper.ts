// Drives runCli in-process and captures what it prints.
import { type CliIo, runCli } from '@cloakroom/cli';

/** What one invocation produced. */
export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  /** stdout parsed as JSON (for --json runs). */
  json<T = Record<string, unknown>>(): T;
}

/** Run the CLI with `env` and optional io overrides. */
export async function cli(
  argv: readonly string[],
  env: Record<string, string | undefined> = {},
  io: Partial<CliIo> = {},
): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, {
    env,
    user: 'tester',
    ...io,
    stdout: (s) => {
      stdout += s;
      io.stdout?.(s);
    },
    stderr: (s) => {
      stderr += s;
      io.stderr?.(s);
    },
  });
  return {
    code,
    stdout,
    stderr,
    json: <T>() => JSON.parse(stdout) as T,
  };
}

/** Everything printed, for "no secret in the output" checks. */
export function allOutput(r: CliResult): string {
  return r.stdout + r.stderr;
}

/** Split a POSIX shell command line: bare words and single-quoted parts (what `shellWord` writes). */
export function shellWords(line: string): string[] {
  const words: string[] = [];
  const re = /\s*((?:[^\s']+|'[^']*')+)/g;
  for (const m of line.matchAll(re)) {
    words.push((m[1] as string).replace(/'([^']*)'/g, '$1'));
  }
  return words;
}

/**
 * The argv of the last `resume with: cloakroom …` command in `text`, as an
 * operator pasting it would run it (without the program name), or undefined.
 */
export function resumeArgv(text: string): string[] | undefined {
  const lines = [...text.matchAll(/resume with: (cloakroom .*)$/gm)];
  const line = lines.at(-1)?.[1];
  return line === undefined ? undefined : shellWords(line).slice(1);
}
