// `cloakroom keys generate`: a new signing key (private JWK) or a 32-byte
// secret (storage, index or master key), printed or written 0600.
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { generateSecret, generateSigningKey } from '@cloakroom/core';
import { CliFailure, UsageError } from '../cli-errors';
import type { CommandContext } from '../context';
import type { ExitCode } from '../io';

const ALGS = ['EdDSA', 'ES256', 'PS256', 'RS256'] as const;
const KINDS = ['signing', 'storage', 'index', 'master'] as const;
type Alg = (typeof ALGS)[number];
type Kind = (typeof KINDS)[number];

function pick<T extends string>(
  value: string | undefined,
  allowed: readonly T[],
  what: string,
  fallback: T,
): T {
  if (value === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(value)) {
    throw new UsageError(`--${what} must be one of ${allowed.join(', ')}`);
  }
  return value as T;
}

function writeSecret(path: string, text: string): void {
  try {
    // `wx`: never overwrite a key file (it may be the only copy of a key in use).
    writeFileSync(path, text, { mode: 0o600, flag: 'wx' });
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === 'EEXIST') throw new CliFailure('refusing to overwrite an existing file (--out)');
    throw new CliFailure(
      `cannot write the key file${typeof code === 'string' ? ` (${code})` : ''}`,
    );
  }
}

/** Run `keys generate`. */
export async function keysGenerate(ctx: CommandContext): Promise<ExitCode> {
  const kind: Kind = pick(ctx.option('kind'), KINDS, 'kind', 'signing');
  if (kind !== 'signing' && ctx.option('alg') !== undefined) {
    throw new UsageError('--alg applies to --kind signing only');
  }
  const alg: Alg = pick(ctx.option('alg'), ALGS, 'alg', 'EdDSA');
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
    writeSecret(out, text);
    if (ctx.json) ctx.printJson({ kind, alg, kid: key.kid, file: out, publicJwk: key.publicJwk });
    else ctx.print(`wrote a private ${alg} signing key (kid ${key.kid}) to ${out} (mode 0600)`);
    return 0;
  }
  const bytes = generateSecret(32);
  const secret = Buffer.from(bytes).toString('base64url');
  bytes.fill(0);
  if (out === undefined) {
    ctx.io.stdout(ctx.json ? `${JSON.stringify({ kind, secret }, null, 2)}\n` : `${secret}\n`);
    return 0;
  }
  writeSecret(out, `${secret}\n`);
  if (ctx.json) ctx.printJson({ kind, file: out });
  else ctx.print(`wrote a 256-bit ${kind} key (base64url) to ${out} (mode 0600)`);
  return 0;
}
