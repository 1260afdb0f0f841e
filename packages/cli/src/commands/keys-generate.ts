// `cloakroom keys generate`: a new signing key (private JWK) or a 32-byte
// secret (storage, index or master key), printed or written 0600.
import { resolve } from 'node:path';
import { generateSecret, generateSigningKey } from '@cloakroom/core';
import { UsageError } from '../cli-errors';
import type { CommandContext } from '../context';
import type { ExitCode } from '../io';
import { writeSecretFile } from '../secrets';

/** A signing algorithm (`--alg`; the parser checked it against the declared choices). */
export type Alg = 'EdDSA' | 'ES256' | 'PS256' | 'RS256';
type Kind = 'signing' | 'storage' | 'index' | 'master';

/** Run `keys generate`. */
export async function keysGenerate(ctx: CommandContext): Promise<ExitCode> {
  const kind = (ctx.option('kind') ?? 'signing') as Kind;
  if (kind !== 'signing' && ctx.option('alg') !== undefined) {
    throw new UsageError('--alg applies to --kind signing only');
  }
  const alg = (ctx.option('alg') ?? 'EdDSA') as Alg;
  const outPath = ctx.option('out');
  const out = outPath === undefined ? undefined : resolve(ctx.cwd, outPath);

  if (kind === 'signing') {
    const key = await generateSigningKey(alg);
    const text = `${JSON.stringify(key.privateJwk, null, 2)}\n`;
    if (out === undefined) {
      // The requested output is the secret itself: printed as is, not redacted.
      ctx.io.stdout(
        ctx.json
          ? `${JSON.stringify({ kind, alg, kid: key.kid, privateJwk: key.privateJwk, publicJwk: key.publicJwk }, null, 2)}\n`
          : text,
      );
      return 0;
    }
    writeSecretFile(out, text);
    if (ctx.json) ctx.printJson({ kind, alg, kid: key.kid, file: out, publicJwk: key.publicJwk });
    else ctx.print(`wrote a private ${alg} signing key (kid ${key.kid}) to ${out} (mode 0600)`);
    return 0;
  }
  const bytes = generateSecret(32);
  const secret = Buffer.from(bytes).toString('base64url');
  bytes.fill(0);
  if (out === undefined) {
    // `key`, as a keys file names it (`storage: [{ id, key }]`, `index`).
    ctx.io.stdout(ctx.json ? `${JSON.stringify({ kind, key: secret }, null, 2)}\n` : `${secret}\n`);
    return 0;
  }
  writeSecretFile(out, `${secret}\n`);
  if (ctx.json) ctx.printJson({ kind, file: out });
  else ctx.print(`wrote a 256-bit ${kind} key (base64url) to ${out} (mode 0600)`);
  return 0;
}
