// Which keys the CLI works with: a rotating key set shared through the
// store (master key from env or file), or static keys from a JSON file.
import {
  type KeyProvider,
  type RotatingKeyProvider,
  type RotatingKeysOptions,
  type StaticKeysOptions,
  rotatingKeys,
  staticKeys,
} from '@cloakroom/core';
import { CliFailure, UsageError } from './cli-errors';
import type { CommandContext } from './context';
import type { Connection } from './connect';
import { tagPhase } from './hints';
import { keyFromFile, readSecretFile } from './secrets';

/** A rotating provider as `rotatingKeys` returns it. */
export type RotatingProvider = RotatingKeyProvider;

/** The keys in force for one command. */
export type LoadedKeys =
  | { readonly kind: 'rotating'; readonly provider: RotatingProvider }
  | { readonly kind: 'static'; readonly provider: KeyProvider };

/** The master key from `CLOAKROOM_MASTER_KEY` or `--master-key-file` (or the new one for rotate-master). */
export function masterKeyInput(
  ctx: CommandContext,
  which: 'current' | 'new',
): Uint8Array | string | undefined {
  const envName = which === 'current' ? 'CLOAKROOM_MASTER_KEY' : 'CLOAKROOM_NEW_MASTER_KEY';
  const flag = which === 'current' ? 'master-key-file' : 'new-master-key-file';
  const file = ctx.option(flag);
  const env = ctx.io.env[envName];
  if (file !== undefined && env !== undefined && env !== '') {
    throw new UsageError(`both ${envName} and --${flag} are set; give only one`);
  }
  if (file !== undefined) {
    const { bytes, warning } = readSecretFile(
      file,
      which === 'current' ? 'master key' : 'new master key',
      ctx.cwd,
    );
    if (warning !== undefined) ctx.warn(warning);
    const key = keyFromFile(bytes);
    if (typeof key === 'string') ctx.redactor.add(key);
    return key;
  }
  if (env !== undefined && env !== '') {
    ctx.redactor.add(env.trim());
    return env.trim();
  }
  return undefined;
}

function loadStaticFile(ctx: CommandContext, path: string): StaticKeysOptions {
  const { bytes, warning } = readSecretFile(path, 'keys', ctx.cwd);
  if (warning !== undefined) ctx.warn(warning);
  const text = Buffer.from(bytes).toString('utf8');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    // JSON.parse messages quote the text around the error: never show them.
    throw new CliFailure(`the keys file ${path} is not valid JSON`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new CliFailure(`the keys file ${path} must hold an object { signing, storage, index }`);
  }
  collectSecrets(parsed, (s) => ctx.redactor.add(s));
  return parsed as StaticKeysOptions;
}

// The secret members of a keys file, for the redactor. Ids, algorithms and
// public JWK members stay printable: `keys status` shows them.
const PRIVATE_JWK_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k'];

function collectSecrets(file: unknown, add: (s: string) => void): void {
  const o = file as {
    index?: unknown;
    storage?: unknown;
    signing?: unknown;
  };
  const str = (v: unknown) => {
    if (typeof v === 'string') add(v);
  };
  str(o.index);
  if (Array.isArray(o.storage)) for (const k of o.storage) str((k as { key?: unknown })?.key);
  if (Array.isArray(o.signing)) {
    for (const k of o.signing as { secret?: unknown; privateKey?: unknown }[]) {
      str(k?.secret);
      str(k?.privateKey);
      if (typeof k?.privateKey === 'object' && k.privateKey !== null) {
        for (const m of PRIVATE_JWK_MEMBERS) str((k.privateKey as Record<string, unknown>)[m]);
      }
    }
  }
}

const MISSING =
  'no keys configured: set CLOAKROOM_MASTER_KEY (or --master-key-file FILE) for the rotating key set in the store, or CLOAKROOM_KEYS_FILE (or --keys-file FILE) for static keys';

/** The rotation timings given on the command line (the application's `rotatingKeys` options). */
function scheduleOptions(
  ctx: CommandContext,
): Pick<RotatingKeysOptions, 'refreshEvery' | 'signing' | 'storage'> {
  const alg = ctx.option('alg') as 'EdDSA' | 'ES256' | 'PS256' | 'RS256' | undefined;
  const refreshEvery = ctx.duration('refresh-every');
  const rotateEvery = ctx.duration('signing-rotate-every');
  const storageRotateEvery = ctx.duration('storage-rotate-every');
  const publishAhead = ctx.duration('signing-publish-ahead');
  const retireAfter = ctx.duration('signing-retire-after');
  const storagePublishAhead = ctx.duration('storage-publish-ahead');
  const retainFor = ctx.duration('storage-retain-for');
  return {
    ...(refreshEvery === undefined ? {} : { refreshEvery }),
    signing: {
      ...(alg === undefined ? {} : { alg }),
      ...(rotateEvery === undefined ? {} : { rotateEvery }),
      ...(publishAhead === undefined ? {} : { publishAhead }),
      ...(retireAfter === undefined ? {} : { retireAfter }),
    },
    storage: {
      ...(storageRotateEvery === undefined ? {} : { rotateEvery: storageRotateEvery }),
      ...(storagePublishAhead === undefined ? {} : { publishAhead: storagePublishAhead }),
      ...(retainFor === undefined ? {} : { retainFor }),
    },
  };
}

/**
 * Load the keys. Static keys need no store (`jwks --keys-file` runs without
 * one); a rotating key set is opened from the store (`conn`, or the
 * configured one) and must already exist unless `create` is set
 * (`keys init`), so a wrong store URL or prefix never silently starts a new
 * key set with a new index key. The set is opened here, so a wrong master
 * key fails now, marked for the hint.
 *
 * @example
 * ```ts
 * const keys = await loadKeys(ctx); // no store opened for a keys file
 * if (keys.kind === 'rotating') console.log((await keys.provider.status()).version);
 * ```
 */
export async function loadKeys(
  ctx: CommandContext,
  options: { readonly create?: boolean; readonly conn?: Connection } = {},
): Promise<LoadedKeys> {
  const keysFile = ctx.option('keys-file') ?? nonEmpty(ctx.io.env.CLOAKROOM_KEYS_FILE);
  const master = masterKeyInput(ctx, 'current');
  if (keysFile !== undefined && master !== undefined) {
    throw new UsageError('both a master key and a keys file are configured; give only one');
  }
  if (keysFile !== undefined) {
    return { kind: 'static', provider: staticKeys(loadStaticFile(ctx, keysFile)) };
  }
  if (master === undefined) throw new UsageError(MISSING);
  const conn = options.conn ?? (await ctx.connect(options.create ? { create: true } : {}));
  const store = conn.keySetStore();
  const name = ctx.option('key-set') ?? 'default';
  const provider = rotatingKeys({
    store,
    masterKey: master,
    name,
    clock: ctx.clock,
    ...scheduleOptions(ctx),
  });
  if (!options.create && (await store.read(name)) === null) {
    throw new CliFailure(
      `no key set "${name}" in ${conn.spec.where} (check the store URL and prefix; \`cloakroom keys init\` creates one)`,
    );
  }
  try {
    await provider.status();
  } catch (error) {
    throw tagPhase(error, 'key-set');
  }
  return { kind: 'rotating', provider };
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

/** Require a rotating key set (for rotate, compromise, rotate-master). */
export function requireRotating(keys: LoadedKeys, what: string): RotatingProvider {
  if (keys.kind !== 'rotating') {
    throw new UsageError(
      `${what} works on a rotating key set; static keys change by editing the keys file (see the key rotation runbook)`,
    );
  }
  return keys.provider;
}
