// The one declaration of every option: the parser, the help text, the value
// checks and the resume command of `rewrap` are all generated from it.
import { UsageError } from './cli-errors';

/** How one option is declared. */
export interface OptionSpec {
  /** Placeholder of the value (`URL`, `FILE`, ...); absent for a flag. */
  readonly value?: string;
  /** One line for the help. */
  readonly description: string;
  /** The environment variable used when the option is absent (named in the help). */
  readonly env?: string;
  /** The variable holds the secret itself rather than a file name. */
  readonly envHoldsValue?: boolean;
  /** The default, as the help shows it. */
  readonly defaultText?: string;
  /** The only values accepted (checked after parsing, listed in the help). */
  readonly choices?: readonly string[];
  /** The value is a duration (`90s`, `10m`, `1h`, `2d`, or milliseconds). */
  readonly duration?: boolean;
  /** One-letter alias. */
  readonly short?: string;
}

/**
 * Every option of every command. Each command lists the names it takes;
 * `--json`, `--debug`, `--help` and `--version` apply everywhere.
 */
export const OPTIONS = {
  json: { description: 'machine-readable output on stdout (errors as JSON on stderr)' },
  debug: { description: 'show error stacks and causes' },
  store: { value: 'URL', description: 'store URL', env: 'CLOAKROOM_STORE_URL' },
  'keys-file': {
    value: 'FILE',
    description: 'static keys JSON file',
    env: 'CLOAKROOM_KEYS_FILE',
  },
  'master-key-file': {
    value: 'FILE',
    description: 'file holding the master key',
    env: 'CLOAKROOM_MASTER_KEY',
    envHoldsValue: true,
  },
  'new-master-key-file': {
    value: 'FILE',
    description: 'file holding the new master key',
    env: 'CLOAKROOM_NEW_MASTER_KEY',
    envHoldsValue: true,
  },
  'key-set': {
    value: 'NAME',
    description: 'key set name in the store',
    defaultText: 'default',
  },
  alg: {
    value: 'ALG',
    description: 'signing algorithm',
    choices: ['EdDSA', 'ES256', 'PS256', 'RS256'],
    defaultText: 'EdDSA',
  },
  kind: {
    value: 'KIND',
    description: 'what to generate',
    choices: ['signing', 'storage', 'index', 'master'],
    defaultText: 'signing',
  },
  out: { value: 'FILE', description: 'write to FILE (mode 0600, never overwrites)' },
  'batch-size': {
    value: 'N',
    description: 'records per batch, 1 to 100000',
    defaultText: '500',
  },
  cursor: { value: 'CURSOR', description: 'resume an interrupted rewrap from this cursor' },
  print: { description: 'print the SQL instead of running it' },
  'refresh-every': {
    value: 'DURATION',
    description: "the application's refreshEvery (checked against the publish windows)",
    duration: true,
    defaultText: '30s',
  },
  'signing-rotate-every': {
    value: 'DURATION',
    description: 'age at which a primary signing key is replaced (signing.rotateEvery)',
    duration: true,
    defaultText: '30d',
  },
  'signing-publish-ahead': {
    value: 'DURATION',
    description: "a new signing key is pending this long (the application's signing.publishAhead)",
    duration: true,
    defaultText: '1h',
  },
  'signing-retire-after': {
    value: 'DURATION',
    description: 'the replaced signing key verifies this long (signing.retireAfter)',
    duration: true,
    defaultText: '2h',
  },
  'storage-rotate-every': {
    value: 'DURATION',
    description: 'age at which a primary storage key is replaced (storage.rotateEvery)',
    duration: true,
    defaultText: '30d',
  },
  'storage-publish-ahead': {
    value: 'DURATION',
    description: 'a new storage key is pending this long (storage.publishAhead)',
    duration: true,
    defaultText: '2 x refresh-every',
  },
  'storage-retain-for': {
    value: 'DURATION',
    description: 'the replaced storage key opens this long (storage.retainFor)',
    duration: true,
    defaultText: 'until disabled',
  },
} as const satisfies Readonly<Record<string, OptionSpec>>;

/** An option name of {@link OPTIONS}. */
export type OptionName = keyof typeof OPTIONS;

/** The options every command takes (declared once, on the program). @example `['json', 'debug']` */
export const GLOBAL_OPTIONS: readonly OptionName[] = ['json', 'debug'];

/** Parsed options, by option name: strings for valued options, `true` for flags. */
export type OptionValues = Partial<Record<OptionName, string | boolean>>;

/**
 * Whether `name` is a declared option (own keys only: `__proto__` is not).
 *
 * @example
 * ```ts
 * isOptionName('batch-size'); // true
 * isOptionName('master-key'); // false: refused, never declared
 * ```
 */
export function isOptionName(name: string): name is OptionName {
  return Object.hasOwn(OPTIONS, name);
}

// Flags people reach for when they have a secret in hand. Each is refused
// with the safe alternative, whatever value it carries.
const KEYS_FILE = 'a keys file (CLOAKROOM_KEYS_FILE or --keys-file FILE)';
const SECRET_FLAGS: Readonly<Record<string, string>> = {
  'master-key': 'CLOAKROOM_MASTER_KEY or --master-key-file FILE',
  'new-master-key': 'CLOAKROOM_NEW_MASTER_KEY or --new-master-key-file FILE',
  'storage-key': KEYS_FILE,
  'index-key': KEYS_FILE,
  'signing-key': KEYS_FILE,
  'private-key': KEYS_FILE,
  keys: KEYS_FILE,
  key: 'an environment variable or a file',
  secret: 'an environment variable or a file',
  password: 'CLOAKROOM_STORE_URL (the store URL may carry it)',
  token: 'an environment variable or a file',
};

/**
 * The `name` of a `--name` or `--name=value` token, or undefined for
 * anything else (`-h`, `--`, positionals).
 *
 * @example
 * ```ts
 * longOptionName('--cursor=abc'); // 'cursor'
 * ```
 */
export function longOptionName(arg: string): string | undefined {
  if (!arg.startsWith('--') || arg.length === 2) return undefined;
  const eq = arg.indexOf('=');
  return eq === -1 ? arg.slice(2) : arg.slice(2, eq);
}

/**
 * The tokens that can be options or commands: everything before a bare
 * `--` (after it, every token is an argument).
 *
 * @example
 * ```ts
 * optionTokens(['revoke-subject', '--', '--json']); // ['revoke-subject']
 * ```
 */
export function optionTokens(argv: readonly string[]): readonly string[] {
  const end = argv.indexOf('--');
  return end === -1 ? argv : argv.slice(0, end);
}

/**
 * Refuse `--master-key=...` and friends before anything else looks at argv:
 * arguments land in shell history and `ps` output. Throws
 * {@link UsageError} naming the safe alternative; the value is never echoed.
 * Tokens after `--` are not looked at.
 *
 * @example
 * ```ts
 * refuseSecretFlags(['jwks', '--master-key=…']); // throws: use CLOAKROOM_MASTER_KEY or --master-key-file FILE
 * ```
 */
export function refuseSecretFlags(argv: readonly string[]): void {
  for (const arg of optionTokens(argv)) {
    const name = longOptionName(arg);
    if (name === undefined || !Object.hasOwn(SECRET_FLAGS, name)) continue;
    throw new UsageError(
      `--${name} is refused: secrets given as arguments end up in shell history and process listings. Use ${SECRET_FLAGS[name]} instead`,
    );
  }
}

const UNITS: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

/**
 * A duration option in milliseconds: `250ms`, `90s`, `10m`, `1h`, `2d`, or
 * a bare number of milliseconds. Throws {@link UsageError} otherwise.
 *
 * @example
 * ```ts
 * parseDuration('10m', 'storage-publish-ahead'); // 600000
 * ```
 */
export function parseDuration(text: string, name: string): number {
  const m = /^(\d{1,12})(ms|s|m|h|d)?$/.exec(text.trim());
  const ms = m === null ? Number.NaN : Number(m[1]) * (UNITS[m[2] ?? 'ms'] ?? Number.NaN);
  if (!Number.isSafeInteger(ms) || ms <= 0) {
    throw new UsageError(
      `--${name} must be a positive duration such as 90s, 10m, 1h or 2d (or milliseconds)`,
    );
  }
  return ms;
}

/**
 * Check the parsed values against their declarations (choices, durations,
 * non-empty values). Throws {@link UsageError} whose message names the
 * option and what it accepts, never the value given.
 *
 * @example
 * ```ts
 * checkValues({ alg: 'HS256' }); // throws: --alg must be one of EdDSA, ES256, PS256, RS256
 * ```
 */
export function checkValues(values: OptionValues): void {
  for (const [name, value] of Object.entries(values) as [OptionName, string | boolean][]) {
    if (typeof value !== 'string') continue;
    const spec: OptionSpec = OPTIONS[name];
    if (spec.choices !== undefined && !spec.choices.includes(value)) {
      throw new UsageError(`--${name} must be one of ${spec.choices.join(', ')}`);
    }
    if (spec.duration === true) parseDuration(value, name);
    if (value === '' && spec.value !== undefined) throw new UsageError(`--${name} is empty`);
  }
}
