// Argument parsing with node:util parseArgs, plus the refusal of secrets
// given as arguments (they land in shell history and `ps` output).
import { parseArgs } from 'node:util';
import { UsageError } from './cli-errors';

/** Every option any command takes; each command then allows a subset. */
export const OPTION_SPECS = {
  help: { type: 'boolean', short: 'h' },
  json: { type: 'boolean' },
  debug: { type: 'boolean' },
  store: { type: 'string' },
  'keys-file': { type: 'string' },
  'master-key-file': { type: 'string' },
  'new-master-key-file': { type: 'string' },
  'key-set': { type: 'string' },
  alg: { type: 'string' },
  kind: { type: 'string' },
  out: { type: 'string' },
  'batch-size': { type: 'string' },
  cursor: { type: 'string' },
  print: { type: 'boolean' },
} as const;

/** An option name of {@link OPTION_SPECS}. */
export type OptionName = keyof typeof OPTION_SPECS;

/** Parsed options: strings for valued options, booleans for flags. */
export type OptionValues = Partial<Record<OptionName, string | boolean>>;

/** What {@link parseCommandLine} returns. */
export interface ParsedArgs {
  readonly positionals: readonly string[];
  readonly values: OptionValues;
}

// Flags people reach for when they have a secret in hand. Each is refused
// with the safe alternative, whatever value it carries.
const SECRET_FLAGS: Readonly<Record<string, string>> = {
  'master-key': 'CLOAKROOM_MASTER_KEY or --master-key-file FILE',
  'new-master-key': 'CLOAKROOM_NEW_MASTER_KEY or --new-master-key-file FILE',
  'storage-key': 'a keys file (CLOAKROOM_KEYS_FILE or --keys-file FILE)',
  'index-key': 'a keys file (CLOAKROOM_KEYS_FILE or --keys-file FILE)',
  'signing-key': 'a keys file (CLOAKROOM_KEYS_FILE or --keys-file FILE)',
  'private-key': 'a keys file (CLOAKROOM_KEYS_FILE or --keys-file FILE)',
  keys: 'a keys file (CLOAKROOM_KEYS_FILE or --keys-file FILE)',
  key: 'an environment variable or a file',
  secret: 'an environment variable or a file',
  password: 'CLOAKROOM_STORE_URL (the store URL may carry it)',
  token: 'an environment variable or a file',
};

function optionName(arg: string): string | undefined {
  if (!arg.startsWith('--') || arg.length === 2) return undefined;
  const eq = arg.indexOf('=');
  return eq === -1 ? arg.slice(2) : arg.slice(2, eq);
}

/** Refuse `--master-key=...` and friends before anything else looks at argv. */
function refuseSecretFlags(argv: readonly string[]): void {
  for (const arg of argv) {
    if (arg === '--') return;
    const name = optionName(arg);
    if (name === undefined) continue;
    const instead = SECRET_FLAGS[name];
    if (instead !== undefined) {
      throw new UsageError(
        `--${name} is refused: secrets given as arguments end up in shell history and process listings. Use ${instead} instead`,
      );
    }
  }
}

// Only the option's name goes into a message, cut short: an unknown option
// may well carry a secret after its `=`.
function describeBadToken(argv: readonly string[], known: ReadonlySet<string>): string {
  for (const arg of argv) {
    if (arg === '--') break;
    const name = optionName(arg);
    if (name !== undefined && !known.has(name)) return `--${name.slice(0, 40)}`;
    if (/^-[^-]/.test(arg) && arg !== '-h') return arg.slice(0, 2);
  }
  return 'an option';
}

/** Parse argv into positionals and options; throws {@link UsageError}. */
export function parseCommandLine(argv: readonly string[]): ParsedArgs {
  refuseSecretFlags(argv);
  const known = new Set(Object.keys(OPTION_SPECS));
  try {
    const { values, positionals } = parseArgs({
      args: [...argv],
      options: OPTION_SPECS,
      allowPositionals: true,
      strict: true,
    });
    return { positionals, values: values as OptionValues };
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      throw new UsageError(`unknown option ${describeBadToken(argv, known)}`);
    }
    if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
      throw new UsageError(invalidValueMessage(argv));
    }
    throw new UsageError('could not parse the command line');
  }
}

function invalidValueMessage(argv: readonly string[]): string {
  for (const [i, arg] of argv.entries()) {
    const name = optionName(arg);
    if (name === undefined || !(name in OPTION_SPECS)) continue;
    const spec = OPTION_SPECS[name as OptionName];
    if (spec.type === 'boolean' && arg.includes('=')) return `--${name} takes no value`;
    const next = argv[i + 1];
    if (
      spec.type === 'string' &&
      !arg.includes('=') &&
      (next === undefined || next.startsWith('-'))
    )
      return `--${name} needs a value`;
  }
  return 'an option is missing its value';
}

/** The string value of an option, or undefined. */
export function stringOption(values: OptionValues, name: OptionName): string | undefined {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
}
