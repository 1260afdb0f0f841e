// `cloakroom keys init-file`: a complete static keys file, the JSON that
// CLOAKROOM_KEYS_FILE / --keys-file and staticKeys() read, all keys new.
import { resolve } from 'node:path';
import {
  type StaticKeysOptions,
  generateSecret,
  generateSigningKey,
  staticKeys,
} from '@cloakroom/core';
import type { CommandContext } from '../context';
import type { ExitCode } from '../io';
import { writeSecretFile } from '../secrets';
import type { Alg } from './keys-generate';

function newSecret(): string {
  const bytes = generateSecret(32);
  const text = Buffer.from(bytes).toString('base64url');
  bytes.fill(0);
  return text;
}

/**
 * Run `keys init-file [--alg ALG] [--out FILE]`: new signing, storage and
 * index keys as one keys file, checked with `staticKeys` before it is
 * written (0600, never over a file) or printed.
 *
 * @example
 * ```ts
 * await runCli(['keys', 'init-file', '--out', 'keys.json'], io);
 * ```
 */
export async function keysInitFile(ctx: CommandContext): Promise<ExitCode> {
  const alg = (ctx.option('alg') ?? 'EdDSA') as Alg;
  const outPath = ctx.option('out');
  const signing = await generateSigningKey(alg);
  // A dated id tells operators which storage key is which after rotations.
  const storageId = `storage-${new Date(ctx.clock()).toISOString().slice(0, 10)}`;
  const file = {
    signing: [{ alg, privateKey: signing.privateJwk }],
    storage: [{ id: storageId, key: newSecret() }],
    index: newSecret(),
  } satisfies StaticKeysOptions;
  // What staticKeys refuses must never be written: load it once first.
  staticKeys(file);
  const text = `${JSON.stringify(file, null, 2)}\n`;
  if (outPath === undefined) {
    // The requested output is the keys file itself: printed as is, not redacted.
    ctx.io.stdout(text);
    return 0;
  }
  const out = resolve(ctx.cwd, outPath);
  writeSecretFile(out, text);
  if (ctx.json) ctx.printJson({ file: out, kid: signing.kid, alg, storageId });
  else {
    ctx.print(
      `wrote a static keys file to ${out} (mode 0600): signing key ${signing.kid} (${alg}), storage key ${storageId}, index key`,
    );
  }
  return 0;
}
