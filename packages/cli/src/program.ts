// The command line grammar, built with commander from the one declaration
// of each command (registry.ts) and option (options.ts): parsing, per
// command help, --version, and the suggestions of unknown names. Commander's
// own error texts are not shown: they quote the offending token whole, and a
// mistyped option may carry a secret after its `=`; each error is rebuilt
// here from what was declared.
import { Command, CommanderError, Help, Option } from 'commander';
import { version } from '../package.json';
import { UsageError } from './cli-errors';
import { COMMANDS, type CommandDef } from './commands/registry';
import { commandLine, groupHelp, mainHelp } from './help';
import {
  GLOBAL_OPTIONS,
  type OptionName,
  type OptionSpec,
  type OptionValues,
  OPTIONS,
  checkValues,
  isOptionName,
  longOptionName,
  optionTokens,
  refuseSecretFlags,
} from './options';
import { didYouMean } from './suggest';

/** The CLI's version (the package's). */
export const VERSION: string = version;

/** What the command line asks for. */
export type Invocation =
  | {
      readonly kind: 'run';
      readonly command: CommandDef;
      readonly args: readonly string[];
      readonly values: OptionValues;
    }
  /** Help or the version was printed. */
  | { readonly kind: 'done' };

function flagsOf(name: OptionName, spec: OptionSpec): string {
  const long = spec.value === undefined ? `--${name}` : `--${name} <${spec.value}>`;
  return spec.short === undefined ? long : `-${spec.short}, ${long}`;
}

function describe(spec: OptionSpec): string {
  const notes = [
    spec.choices === undefined ? undefined : `one of ${spec.choices.join(', ')}`,
    spec.env === undefined
      ? undefined
      : spec.envHoldsValue === true
        ? `or the key itself in $${spec.env}`
        : `default: $${spec.env}`,
    spec.defaultText === undefined ? undefined : `default: ${spec.defaultText}`,
  ].filter((n) => n !== undefined);
  return notes.length === 0 ? spec.description : `${spec.description} (${notes.join('; ')})`;
}

function optionOf(name: OptionName): Option {
  const spec: OptionSpec = OPTIONS[name];
  return new Option(flagsOf(name, spec), describe(spec));
}

/** Option values by declared name, from commander's camel-cased ones. */
function valuesOf(leaf: Command, names: readonly OptionName[]): OptionValues {
  const parsed = leaf.optsWithGlobals() as Record<string, unknown>;
  const values: OptionValues = {};
  for (const name of names) {
    const v = parsed[optionOf(name).attributeName()];
    if (typeof v === 'string' || v === true) values[name] = v;
  }
  return values;
}

interface Built {
  readonly program: Command;
  readonly groups: ReadonlyMap<string, Command>;
  readonly leaves: ReadonlyMap<Command, CommandDef>;
  /** The deepest command commander dispatched to. */
  reached(): Command;
  selected(): { command: CommandDef; leaf: Command } | undefined;
}

function build(write: (text: string) => void, columns: number | undefined): Built {
  let reached: Command | undefined;
  let selected: { command: CommandDef; leaf: Command } | undefined;
  const program = new Command('cloakroom');
  const groups = new Map<string, Command>();
  const leaves = new Map<Command, CommandDef>();
  const setup = (cmd: Command) =>
    cmd
      .exitOverride()
      .helpCommand(false)
      .configureOutput({
        writeOut: write,
        // Commander's own error texts and help-on-error are replaced by ours.
        writeErr: () => {},
        outputError: () => {},
        getOutHelpWidth: () => columns ?? 80,
      })
      .configureHelp({
        showGlobalOptions: true,
        formatHelp: (c, helper) => {
          if (c === program) return mainHelp();
          if (groups.get(c.name()) === c) return groupHelp(c.name());
          return Help.prototype.formatHelp.call(helper, c, helper);
        },
      })
      .hook('preSubcommand', (_parent, sub) => {
        reached = sub;
      });
  setup(program).version(VERSION, '-V, --version', 'print the version');
  for (const name of GLOBAL_OPTIONS) program.addOption(optionOf(name));
  for (const def of COMMANDS) {
    let parent = program;
    if (def.words.length > 1) {
      const word = def.words[0] as string;
      let group = groups.get(word);
      if (group === undefined) {
        group = setup(program.command(word)).description(`${word} commands`);
        groups.set(word, group);
      }
      parent = group;
    }
    const leaf = setup(parent.command(def.words[def.words.length - 1] as string))
      .description(`${def.summary[0]?.toUpperCase() ?? ''}${def.summary.slice(1)}.`)
      .addHelpText('after', `\n${def.details}\n`);
    for (const a of def.args) {
      leaf.argument(a.required ? `<${a.name}>` : `[${a.name}]`, a.description);
    }
    for (const name of def.options) leaf.addOption(optionOf(name));
    leaf.action(() => {
      selected = { command: def, leaf };
    });
    leaves.set(leaf, def);
  }
  return {
    program,
    groups,
    leaves,
    reached: () => reached ?? program,
    selected: () => selected,
  };
}

function topNames(): string[] {
  return [...new Set(COMMANDS.map((c) => c.words[0] as string))];
}

/** `unknown command "x"`, with the nearest command (or `keys x` for a subcommand word). */
function unknownCommand(word: string, group: string | undefined): UsageError {
  // Only a word shaped like a command is echoed: a pasted key or password in
  // the command position must not come back in the message.
  const echo = /^[a-z][a-z-]{0,19}$/.test(word);
  if (group !== undefined) {
    // Candidates are full command lines, so the suggestion reads `keys rotate`.
    const subs = COMMANDS.filter((c) => c.words[0] === group).map((c) => c.words.join(' '));
    const named = echo ? `"${group} ${word}"` : `under ${group}`;
    const hint = echo ? didYouMean(`${group} ${word}`, subs) : '';
    return new UsageError(`unknown command ${named}${hint} (see \`cloakroom ${group} --help\`)`);
  }
  if (!echo) return new UsageError('unknown command (see `cloakroom --help`)');
  let hint = didYouMean(word, topNames());
  if (hint === '') {
    // A subcommand word given alone (`cloakroom rotate`): name its group.
    const sub = COMMANDS.find((c) => c.words.length > 1 && c.words[1] === word);
    if (sub !== undefined) hint = ` (did you mean ${sub.words.join(' ')}?)`;
  }
  return new UsageError(`unknown command "${word}"${hint} (see \`cloakroom --help\`)`);
}

function unknownOption(argv: readonly string[], def: CommandDef | undefined): UsageError {
  const taken = new Set<string>([...GLOBAL_OPTIONS, ...(def?.options ?? [])]);
  const where = def === undefined ? 'cloakroom' : `cloakroom ${def.words.join(' ')}`;
  for (const token of optionTokens(argv)) {
    const name = longOptionName(token);
    if (name === undefined) {
      if (/^-[^-]/.test(token) && !['-h', '-V'].includes(token)) {
        return new UsageError(`unknown option ${token.slice(0, 2)}`);
      }
      continue;
    }
    if (name === 'help' || name === 'version') continue;
    if (isOptionName(name) && taken.has(name)) {
      // Known here, so commander refused it for its `=value`: a flag with a value.
      if (token.includes('=') && (OPTIONS[name] as OptionSpec).value === undefined) {
        return new UsageError(`--${name} takes no value`);
      }
      continue;
    }
    if (isOptionName(name)) return new UsageError(`${where} does not take --${name}`);
    // Only the name, cut short: the unknown option may carry a secret after its `=`.
    const candidates = [...taken].map((n) => `--${n}`);
    return new UsageError(
      `unknown option --${name.slice(0, 40)}${didYouMean(`--${name}`, candidates)}`,
    );
  }
  return new UsageError('unknown option');
}

function missingValue(argv: readonly string[]): UsageError {
  // Commander takes the next token as the value whatever it looks like, so
  // only the last option token can lack one.
  const last = optionTokens(argv).at(-1);
  const name = last === undefined ? undefined : longOptionName(last);
  return new UsageError(
    name === undefined ? 'an option is missing its value' : `--${name.slice(0, 40)} needs a value`,
  );
}

function translate(error: CommanderError, argv: readonly string[], built: Built): Error | 'done' {
  const reached = built.reached();
  const def = built.leaves.get(reached);
  switch (error.code) {
    case 'commander.helpDisplayed':
    case 'commander.version':
      return 'done';
    case 'commander.help': {
      if (reached === built.program)
        return new UsageError('no command given (see `cloakroom --help`)');
      // A group word alone (`cloakroom keys`).
      const word = reached.name();
      return new UsageError(
        `\`cloakroom ${word}\` needs a subcommand (see \`cloakroom ${word} --help\`)`,
      );
    }
    case 'commander.unknownCommand': {
      const group = reached === built.program ? undefined : reached.name();
      return unknownCommand(String(reached.args[0] ?? ''), group);
    }
    case 'commander.unknownOption':
      return unknownOption(argv, def);
    case 'commander.optionMissingArgument':
      return missingValue(argv);
    case 'commander.missingArgument':
    case 'commander.excessArguments':
      return new UsageError(
        def === undefined ? 'wrong arguments' : `usage: cloakroom ${commandLine(def)} [options]`,
      );
    default:
      return new UsageError('could not parse the command line');
  }
}

/**
 * Parse argv. Help (`--help`, `help <command>`) and `--version` are written
 * through `write` and return `{ kind: 'done' }`; anything wrong throws
 * {@link UsageError} with a message that names what was declared (and the
 * nearest known name), never a value from argv.
 *
 * @example
 * ```ts
 * const inv = parseInvocation(['stats', '--json'], (s) => process.stdout.write(s));
 * if (inv.kind === 'run') console.log(inv.command.words, inv.values.json);
 * ```
 */
export function parseInvocation(
  argv: readonly string[],
  write: (text: string) => void,
  columns?: number,
): Invocation {
  refuseSecretFlags(argv);
  // `help keys rotate` is `keys rotate --help` (commander's help command
  // only goes one level deep).
  const tokens = argv[0] === 'help' ? helpTokens(argv.slice(1)) : argv;
  const built = build(write, columns);
  try {
    built.program.parse([...tokens], { from: 'user' });
  } catch (error) {
    if (!(error instanceof CommanderError)) throw error;
    const outcome = translate(error, tokens, built);
    if (outcome === 'done') return { kind: 'done' };
    throw outcome;
  }
  const chosen = built.selected();
  if (chosen === undefined) throw new UsageError('no command given (see `cloakroom --help`)');
  const values = valuesOf(chosen.leaf, [...GLOBAL_OPTIONS, ...chosen.command.options]);
  checkValues(values);
  return {
    kind: 'run',
    command: chosen.command,
    args: chosen.leaf.processedArgs.filter((a): a is string => typeof a === 'string'),
    values,
  };
}

function helpTokens(words: readonly string[]): readonly string[] {
  if (words.length === 0) return ['--help'];
  const [first, second] = words;
  if (!topNames().includes(first as string)) throw unknownCommand(first as string, undefined);
  const isGroup = COMMANDS.some((c) => c.words.length > 1 && c.words[0] === first);
  if (second !== undefined && isGroup && !COMMANDS.some((c) => c.words[1] === second)) {
    throw unknownCommand(second, first);
  }
  return [...words, '--help'];
}
