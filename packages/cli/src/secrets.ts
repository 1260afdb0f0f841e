// Secrets come from the environment or from files, never from arguments.
// Every secret the CLI handles is also registered with a redactor, so no
// message, not even a driver's, can print it back.
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { CliFailure } from './cli-errors';

/** Replaces every registered secret in a text with `[redacted]`. */
export interface Redactor {
  /**
   * Register a secret. Strings under 8 characters are skipped unless
   * `anyLength` is set: they would redact ordinary words, but a store
   * password is whatever the operator chose and must go however short.
   */
  add(secret: string | undefined, options?: { readonly anyLength?: boolean }): void;
  redact(text: string): string;
}

/** A redactor with no secrets yet. */
export function createRedactor(): Redactor {
  const secrets = new Set<string>();
  return {
    add(secret, options) {
      if (secret === undefined || secret === '') return;
      // Very short strings would redact ordinary words; generated secrets are long.
      if (secret.length >= 8 || options?.anyLength === true) secrets.add(secret);
    },
    redact(text) {
      let out = text;
      // Longest first: a secret that contains another must go whole, or the
      // rest of it would survive around the shorter one's mark.
      for (const s of [...secrets].sort((a, b) => b.length - a.length)) {
        out = out.split(s).join('[redacted]');
      }
      return out;
    },
  };
}

/** Reads a secret file: bytes, and a warning when others may read it. */
export function readSecretFile(
  path: string,
  label: string,
  cwd: string,
): { bytes: Uint8Array; warning?: string } {
  const full = resolve(cwd, path);
  let bytes: Uint8Array;
  let mode: number;
  try {
    mode = statSync(full).mode;
    bytes = new Uint8Array(readFileSync(full));
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    // The path is the operator's own input; the file's content never appears.
    throw new CliFailure(
      `cannot read the ${label} file ${full}${typeof code === 'string' ? ` (${code})` : ''}`,
    );
  }
  const warning =
    process.platform !== 'win32' && (mode & 0o077) !== 0
      ? `warning: the ${label} file ${full} is readable by other users (chmod 600 it)`
      : undefined;
  return warning === undefined ? { bytes } : { bytes, warning };
}

/**
 * A 32-byte key from a file: raw 32 bytes, or base64url text (surrounding
 * whitespace ignored). Returned as given so the core validates it.
 */
export function keyFromFile(bytes: Uint8Array): Uint8Array | string {
  if (bytes.byteLength === 32) return bytes;
  return Buffer.from(bytes).toString('utf8').trim();
}

/**
 * Write a new secret file with mode 0600, never over an existing file (it
 * may hold the only copy of a key in use). Throws {@link CliFailure} naming
 * the path, never the content.
 *
 * @example
 * ```ts
 * writeSecretFile('/run/secrets/storage.key', `${key}\n`);
 * ```
 */
export function writeSecretFile(path: string, text: string): void {
  try {
    writeFileSync(path, text, { mode: 0o600, flag: 'wx' });
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === 'EEXIST') {
      throw new CliFailure(`refusing to overwrite an existing file ${path} (--out)`);
    }
    throw new CliFailure(
      `cannot write the key file ${path}${typeof code === 'string' ? ` (${code})` : ''}`,
    );
  }
}
