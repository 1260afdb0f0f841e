// What every command receives: parsed options, output helpers that redact
// secrets, and lazily opened store and keys.
import { userInfo } from 'node:os';
import type { Actor } from '@cloakroom/core';
import { UsageError } from './cli-errors';
import { type Connection, connect } from './connect';
import type { CliIo } from './io';
import { type OptionName, type OptionValues, parseDuration } from './options';
import type { Redactor } from './secrets';
import { type StoreSpec, parseStoreUrl } from './store-url';

/** The per-invocation context handed to a command. */
export interface CommandContext {
  readonly io: CliIo;
  readonly json: boolean;
  readonly cwd: string;
  readonly clock: () => number;
  readonly redactor: Redactor;
  /** Positional arguments after the command words. */
  readonly args: readonly string[];
  /** `{ id: 'cli:<user>' }`: the actor every operator action runs as. */
  readonly actor: Actor;
  /** Parsed options, by declared name (for the resume command of `rewrap`). */
  readonly values: OptionValues;
  /** A valued option as given, or undefined. */
  option(name: OptionName): string | undefined;
  /** A duration option in milliseconds, or undefined. */
  duration(name: OptionName): number | undefined;
  flag(name: OptionName): boolean;
  /** A line of normal output (stdout), redacted. */
  print(line: string): void;
  /** A JSON document on stdout (for `--json`), redacted. */
  printJson(value: unknown): void;
  /** A diagnostic line on stderr, redacted. */
  warn(line: string): void;
  /** Whether a store URL is configured (`--store` or `CLOAKROOM_STORE_URL`). */
  hasStore(): boolean;
  /**
   * Open the store named by `--store` / `CLOAKROOM_STORE_URL` (closed by
   * runCli), loading its backend package on first use.
   */
  connect(options?: { readonly create?: boolean }): Promise<Connection>;
}

function operatorName(io: CliIo): string {
  if (io.user !== undefined) return io.user;
  try {
    return userInfo().username;
  } catch {
    return io.env.USER ?? 'unknown';
  }
}

/** A store the command asked for, and its connection once open (runCli closes it). */
export interface Opened {
  readonly spec: StoreSpec;
  readonly conn?: Connection;
}

function stringOption(values: OptionValues, name: OptionName): string | undefined {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
}

/** Build the context; `opened` collects connections for runCli to close. */
export function createContext(
  io: CliIo,
  values: OptionValues,
  args: readonly string[],
  redactor: Redactor,
  opened: Opened[],
): CommandContext {
  const json = values.json === true;
  const out = (text: string) => io.stdout(redactor.redact(text));
  return {
    io,
    json,
    cwd: io.cwd ?? process.cwd(),
    clock: io.clock ?? Date.now,
    redactor,
    args,
    actor: { id: `cli:${operatorName(io)}` },
    values,
    option: (name) => stringOption(values, name),
    duration: (name) => {
      const text = stringOption(values, name);
      return text === undefined ? undefined : parseDuration(text, name);
    },
    flag: (name) => values[name] === true,
    print: (line) => out(`${line}\n`),
    printJson: (value) => out(`${JSON.stringify(value, null, 2)}\n`),
    warn: (line) => io.stderr(`${redactor.redact(line)}\n`),
    hasStore: () => Boolean(stringOption(values, 'store') ?? io.env.CLOAKROOM_STORE_URL),
    async connect(options = {}) {
      const fromFlag = stringOption(values, 'store');
      const text = fromFlag ?? io.env.CLOAKROOM_STORE_URL;
      if (text === undefined || text === '') {
        throw new UsageError('no store: give --store URL or set CLOAKROOM_STORE_URL');
      }
      const spec = parseStoreUrl(text);
      const secrets = [
        'password' in spec ? spec.password : undefined,
        'sslpassword' in spec ? spec.sslpassword : undefined,
      ].filter((s) => s !== undefined);
      // The operator chose these, so any length: a short password is still one.
      for (const secret of secrets) redactor.add(secret, { anyLength: true });
      if (secrets.length > 0) {
        if (fromFlag !== undefined) {
          throw new UsageError(
            '--store holds a password, which would land in shell history; put the URL in CLOAKROOM_STORE_URL instead',
          );
        }
      }
      opened.push({ spec });
      const conn = await connect(spec, options);
      opened[opened.length - 1] = { spec, conn };
      return conn;
    },
  };
}
