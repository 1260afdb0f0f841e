// The top-level help: generated from the command registry (the per-command
// help is commander's, generated from the same declarations).
import { COMMANDS, type CommandDef } from './commands/registry';

/**
 * A command's words and arguments, `<required>` and `[optional]`.
 *
 * @example
 * ```ts
 * commandLine(compromise); // 'keys compromise <id>'
 * ```
 */
export function commandLine(command: CommandDef): string {
  return [
    ...command.words,
    ...command.args.map((a) => (a.required ? `<${a.name}>` : `[${a.name}]`)),
  ].join(' ');
}

/**
 * The top-level help: every command with its summary (from the registry),
 * store URL forms, key sources, exit codes.
 *
 * @example
 * ```ts
 * process.stdout.write(mainHelp());
 * ```
 */
export function mainHelp(): string {
  const names = COMMANDS.map(commandLine);
  const width = Math.max(...names.map((n) => n.length));
  const lines = [
    'cloakroom: operate a Cloakroom session store and its keys',
    '',
    'Usage: cloakroom <command> [options]',
    '',
    'Commands:',
    ...COMMANDS.map((c, i) => `  ${(names[i] ?? '').padEnd(width)}  ${c.summary}`),
    '',
    'Store URLs (--store or CLOAKROOM_STORE_URL):',
    '  redis://[user:pass@]host:6379[/db][?prefix=app:]     rediss:// for TLS',
    '  redis+cluster://host:port,host:port[?prefix=app:]',
    '  postgres://user@host:5432/db[?schema=auth&table=sessions]',
    '  file:///var/lib/app/cloakroom',
    '',
    'Keys: a rotating key set in the store (master key in CLOAKROOM_MASTER_KEY or',
    '--master-key-file FILE), or static keys (CLOAKROOM_KEYS_FILE or --keys-file FILE).',
    'Secrets are never accepted as arguments: they would land in shell history.',
    '',
    'Every command takes --json, --debug and --help; `cloakroom --version` prints the version.',
    'Exit codes: 0 success, 1 failure, 2 usage error, 130 interrupted.',
    'Run `cloakroom <command> --help` for details.',
  ];
  return `${lines.join('\n')}\n`;
}

/**
 * Help for a group word such as `keys`: its subcommands, generated from the
 * registry.
 *
 * @example
 * ```ts
 * process.stdout.write(groupHelp('keys'));
 * ```
 */
export function groupHelp(word: string): string {
  const members = COMMANDS.filter((c) => c.words.length > 1 && c.words[0] === word);
  const names = members.map(commandLine);
  const width = Math.max(...names.map((n) => n.length));
  return `${[
    `Usage: cloakroom ${word} <command> [options]`,
    '',
    ...members.map((c, i) => `  ${(names[i] ?? '').padEnd(width)}  ${c.summary}`),
    '',
    `Run \`cloakroom ${word} <command> --help\` for details.`,
  ].join('\n')}\n`;
}
