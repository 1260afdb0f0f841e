import { isCloakroomError } from '@cloakroom/core';
import { parseCommandLine } from './args';
import { CliFailure, UsageError } from './cli-errors';
import { COMMANDS, findCommand } from './commands/registry';
import type { Connection } from './connect';
import { createContext } from './context';
import { commandHelp, groupHelp, mainHelp } from './help';
import type { CliIo, ExitCode } from './io';
import { createRedactor, type Redactor } from './secrets';

const GLOBAL = new Set(['help', 'json', 'debug']);

/**
 * Run the `cloakroom` command line in-process and return its exit code:
 * 0 success, 1 failure (store unreachable, wrong master key, ...), 2 usage
 * error (unknown command or option, bad URL, missing configuration, a secret
 * given as an argument), 130 interrupted (`rewrap`, with a cursor to resume).
 *
 * Never throws. Errors are one line on stderr (`error: ...`, or
 * `{"error":{code,message}}` with `--json`), with stack and causes only
 * under `--debug`; every secret the CLI read (master keys, the keys file,
 * the store URL's password) is redacted from all output.
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
  const opened: Connection[] = [];
  const debug = argv.includes('--debug');
  const json = argv.includes('--json');
  try {
    const { positionals, values } = parseCommandLine(argv);
    if (positionals[0] === 'help') return help(io, positionals.slice(1));
    if (positionals.length === 0) {
      if (values.help === true) return help(io, []);
      throw new UsageError('no command given (see `cloakroom --help`)');
    }
    const found = findCommand(positionals);
    if (found === undefined) {
      const group = groupHelp(positionals[0] as string);
      if (group !== undefined && positionals.length === 1) {
        if (values.help === true) return help(io, positionals);
        throw new UsageError(
          `\`cloakroom ${positionals[0]}\` needs a subcommand (see \`cloakroom ${positionals[0]} --help\`)`,
        );
      }
      throw new UsageError(
        `unknown command "${positionals.slice(0, 2).join(' ').slice(0, 40)}" (see \`cloakroom --help\`)`,
      );
    }
    const { command, args } = found;
    if (values.help === true) {
      io.stdout(commandHelp(command));
      return 0;
    }
    const allowed = new Set<string>([...GLOBAL, ...command.options]);
    for (const name of Object.keys(values)) {
      if (!allowed.has(name)) {
        throw new UsageError(`cloakroom ${command.words.join(' ')} does not take --${name}`);
      }
    }
    if (args.length < command.args.min || args.length > command.args.max) {
      throw new UsageError(`usage: cloakroom ${command.usage}`);
    }
    const ctx = createContext(io, values, args, redactor, opened);
    return await command.run(ctx);
  } catch (error) {
    return report(io, error, { debug, json }, redactor);
  } finally {
    for (const conn of opened) await conn.close();
  }
}

function help(io: CliIo, words: readonly string[]): ExitCode {
  if (words.length === 0) {
    io.stdout(mainHelp());
    return 0;
  }
  const found = findCommand(words);
  if (found !== undefined) {
    io.stdout(commandHelp(found.command));
    return 0;
  }
  const group = groupHelp(words[0] as string);
  if (group !== undefined) {
    io.stdout(group);
    return 0;
  }
  io.stderr(
    `error: unknown command (commands: ${COMMANDS.map((c) => c.words.join(' ')).join(', ')})\n`,
  );
  return 2;
}

// Driver messages can name hosts or quote SQL, so only Cloakroom's own
// errors and the CLI's are shown verbatim; others show their class.
function messageOf(error: unknown): { code: string; message: string; exit: ExitCode } {
  if (error instanceof UsageError) return { code: 'ERR_USAGE', message: error.message, exit: 2 };
  if (error instanceof CliFailure) return { code: 'ERR_FAILED', message: error.message, exit: 1 };
  if (isCloakroomError(error)) {
    return {
      code: error.code,
      message: `${error.message}${hint(error.code, error.message)}`,
      exit: 1,
    };
  }
  const name = error instanceof Error ? error.name : typeof error;
  return {
    code: 'ERR_UNEXPECTED',
    message: `unexpected ${name} (run with --debug for details)`,
    exit: 1,
  };
}

function hint(code: string, message: string): string {
  if (code === 'ERR_STORE_UNAVAILABLE' && message.includes('migrate()')) {
    return ' (from here: `cloakroom migrate`)';
  }
  if (code === 'ERR_STORE_UNAVAILABLE')
    return ' (is the store reachable? check the URL, network and credentials)';
  if (code === 'ERR_DECRYPTION_FAILED' && message.includes('key set'))
    return ' (wrong master key?)';
  if (code === 'ERR_CONFIG_INVALID' && message.includes('master key'))
    return ' (wrong master key?)';
  return '';
}

function report(
  io: CliIo,
  error: unknown,
  flags: { readonly debug: boolean; readonly json: boolean },
  redactor: Redactor,
): ExitCode {
  const { code, message, exit } = messageOf(error);
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
