// Help texts: `cloakroom --help` and `cloakroom <command> --help`.
import type { OptionName } from './args';
import { COMMANDS, type CommandDef } from './commands/registry';

const OPTION_HELP: Readonly<Record<OptionName, string>> = {
  help: '-h, --help                   show help',
  json: '--json                       machine-readable output on stdout',
  debug: '--debug                      show error stacks and causes',
  store: '--store URL                  store URL (default: CLOAKROOM_STORE_URL)',
  'keys-file': '--keys-file FILE             static keys JSON (default: CLOAKROOM_KEYS_FILE)',
  'master-key-file': '--master-key-file FILE       master key file (default: CLOAKROOM_MASTER_KEY)',
  'new-master-key-file':
    '--new-master-key-file FILE   new master key (default: CLOAKROOM_NEW_MASTER_KEY)',
  'key-set': '--key-set NAME               key set name in the store (default: default)',
  alg: '--alg ALG                    EdDSA (default), ES256, PS256 or RS256',
  kind: '--kind KIND                  signing (default), storage, index or master',
  out: '--out FILE                   write the key to FILE (mode 0600, never overwrites)',
  'batch-size': '--batch-size N               records per batch (default 500)',
  cursor: '--cursor CURSOR              resume an interrupted rewrap',
  print: '--print                      print the SQL instead of running it',
};

/** The top-level help. */
export function mainHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.words.join(' ').length));
  const lines = [
    'cloakroom: operate a Cloakroom session store and its keys',
    '',
    'Usage: cloakroom <command> [options]',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.words.join(' ').padEnd(width)}  ${c.summary}`),
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
    'Every command takes --json, --debug and --help.',
    'Exit codes: 0 success, 1 failure, 2 usage error, 130 interrupted.',
    'Run `cloakroom <command> --help` for details.',
  ];
  return `${lines.join('\n')}\n`;
}

/** Help of one command. */
export function commandHelp(command: CommandDef): string {
  const options: OptionName[] = [...command.options, 'json', 'debug', 'help'];
  const lines = [
    `Usage: cloakroom ${command.usage}`,
    '',
    `${command.summary[0]?.toUpperCase() ?? ''}${command.summary.slice(1)}.`,
    '',
    command.details,
    '',
    'Options:',
    ...options.map((o) => `  ${OPTION_HELP[o]}`),
  ];
  return `${lines.join('\n')}\n`;
}

/** Help for a group word such as `keys`: its subcommands. */
export function groupHelp(word: string): string | undefined {
  const members = COMMANDS.filter((c) => c.words.length > 1 && c.words[0] === word);
  if (members.length === 0) return undefined;
  const width = Math.max(...members.map((c) => c.words.join(' ').length));
  return `${[
    `Usage: cloakroom ${word} <command> [options]`,
    '',
    ...members.map((c) => `  ${c.words.join(' ').padEnd(width)}  ${c.summary}`),
    '',
    `Run \`cloakroom ${word} <command> --help\` for details.`,
  ].join('\n')}\n`;
}
