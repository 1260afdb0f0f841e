import { isCloakroomError } from '@cloakroom/core';
import { CliFailure, UsageError } from './cli-errors';
import { type Opened, createContext } from './context';
import { type ErrorSituation, hintFor } from './hints';
import type { CliIo, ExitCode } from './io';
import { optionTokens } from './options';
import { parseInvocation } from './program';
import { createRedactor, type Redactor } from './secrets';

/**
 * Run the `cloakroom` command line in-process and return its exit code:
 * 0 success, 1 failure (store unreachable, wrong master key, ...), 2 usage
 * error (unknown command or option, bad URL, missing configuration, a secret
 * given as an argument), 130 interrupted (`rewrap`, with the command that
 * resumes it).
 *
 * Never throws. Errors are one line on stderr (`error: ...`, or
 * `{"error":{code,message}}` with `--json`), naming the file or store they
 * are about and what to do next, with stack and causes only under
 * `--debug`; every secret the CLI read (master keys, the keys file, the
 * store URL's password) is redacted from all output. Tokens after a bare
 * `--` are arguments, never options (`revoke-subject -- --json`).
 *
 * @example
 * ```ts
 * import { runCli } from '@cloakroom/cli';
 *
 * let out = '';
 * const code = await runCli(['stats', '--json'], {
 *   stdout: (s) => { out += s; },
 *   stderr: (s) => process.stderr.write(s),
 *   env: { CLOAKROOM_STORE_URL: 'file:///var/lib/app/cloakroom' },
 * });
 * ```
 */
export async function runCli(argv: readonly string[], io: CliIo): Promise<ExitCode> {
  const redactor = createRedactor();
  const opened: Opened[] = [];
  // Until the command line is parsed, only tokens before `--` can be flags.
  const early = optionTokens(argv);
  let flags = { debug: early.includes('--debug'), json: early.includes('--json') };
  try {
    const invocation = parseInvocation(argv, io.stdout, io.columns);
    if (invocation.kind === 'done') return 0;
    const { command, args, values } = invocation;
    flags = { debug: values.debug === true, json: values.json === true };
    const ctx = createContext(io, values, args, redactor, opened);
    return await command.run(ctx);
  } catch (error) {
    const last = opened.at(-1);
    const situation: ErrorSituation = {
      ...(last === undefined ? {} : { store: last.spec }),
      ...(last?.conn === undefined ? {} : { clientError: last.conn.lastClientError() }),
    };
    return report(io, error, flags, redactor, situation);
  } finally {
    for (const o of opened) await o.conn?.close();
  }
}

// Driver messages can name hosts or quote SQL, so only Cloakroom's own
// errors and the CLI's are shown verbatim; others show their class.
function messageOf(
  error: unknown,
  situation: ErrorSituation,
): { code: string; message: string; exit: ExitCode } {
  if (error instanceof UsageError) return { code: 'ERR_USAGE', message: error.message, exit: 2 };
  if (error instanceof CliFailure) return { code: 'ERR_FAILED', message: error.message, exit: 1 };
  if (isCloakroomError(error)) {
    return { code: error.code, message: `${error.message}${hintFor(error, situation)}`, exit: 1 };
  }
  const name = error instanceof Error ? error.name : typeof error;
  return {
    code: 'ERR_UNEXPECTED',
    message: `unexpected ${name} (run with --debug for details)`,
    exit: 1,
  };
}

function report(
  io: CliIo,
  error: unknown,
  flags: { readonly debug: boolean; readonly json: boolean },
  redactor: Redactor,
  situation: ErrorSituation,
): ExitCode {
  const { code, message, exit } = messageOf(error, situation);
  const line = flags.json ? JSON.stringify({ error: { code, message } }) : `error: ${message}`;
  io.stderr(`${redactor.redact(line)}\n`);
  if (flags.debug) io.stderr(`${redactor.redact(debugText(error))}\n`);
  return exit;
}

function debugText(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current !== undefined && depth < 5; depth++) {
    parts.push(current instanceof Error ? (current.stack ?? String(current)) : String(current));
    current = current instanceof Error ? current.cause : undefined;
    if (current !== undefined) parts.push('caused by:');
  }
  return parts.join('\n');
}
