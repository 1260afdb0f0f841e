import { execFile } from 'node:child_process';
import { chmod, mkdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ConfigInvalid } from '@cloakroom/core';

const run = promisify(execFile);

/** A certificate and its private key, PEM-encoded. */
export interface TlsMaterial {
  readonly cert: string;
  readonly key: string;
  /** Where the certificate is, so a client (or a test) can trust it. */
  readonly certPath: string;
}

/**
 * A self-signed certificate for `localhost` and `127.0.0.1` in
 * `<dataDir>/tls` (directory 0700, key 0600), made with the `openssl` CLI on
 * first start and reused after. The app serves HTTPS so the ticket cookie
 * keeps its real `__Host-` name and `Secure` flag even on a laptop.
 *
 * @throws ConfigInvalid when `openssl` is missing or fails.
 * @example
 * ```ts
 * const { cert, key } = await selfSignedCertificate('/tmp/cloakroom-demo');
 * https.createServer({ cert, key }, handler);
 * ```
 */
export async function selfSignedCertificate(dataDir: string): Promise<TlsMaterial> {
  const dir = join(dataDir, 'tls');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
  const certPath = join(dir, 'cert.pem');
  const keyPath = join(dir, 'key.pem');
  if (!(await exists(certPath)) || !(await exists(keyPath))) {
    try {
      // prettier-ignore
      await run(
        'openssl',
        [
          'req',
          '-x509',
          '-newkey',
          'ec',
          '-pkeyopt',
          'ec_paramgen_curve:prime256v1',
          '-nodes',
          '-days',
          '30',
          '-subj',
          '/CN=localhost',
          '-addext',
          'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1',
          '-keyout',
          keyPath,
          '-out',
          certPath,
        ],
        { timeout: 15_000 },
      );
    } catch (cause) {
      throw new ConfigInvalid(
        'could not create a self-signed certificate with the openssl CLI (install openssl, or set CLOAKROOM_INSECURE_DEV=1 for plain http)',
        { cause },
      );
    }
    await chmod(keyPath, 0o600);
  }
  return {
    cert: await readFile(certPath, 'utf8'),
    key: await readFile(keyPath, 'utf8'),
    certPath,
  };
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
