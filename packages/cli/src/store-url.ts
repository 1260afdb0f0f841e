// Parse a store URL into what each backend needs. Error messages name the
// scheme or the part at fault, never the URL itself (it may hold a password).
import { isAbsolute } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UsageError } from './cli-errors';

/** A parsed `--store` / `CLOAKROOM_STORE_URL`. */
export type StoreSpec = StoreTarget &
  (
    | {
        readonly kind: 'redis';
        /** The URL for ioredis, without the CLI's own query parameters. */
        readonly url: string;
        readonly prefix?: string;
        readonly password?: string;
      }
    | {
        readonly kind: 'redis-cluster';
        readonly nodes: readonly { readonly host: string; readonly port: number }[];
        readonly tls: boolean;
        readonly username?: string;
        readonly password?: string;
        readonly prefix?: string;
      }
    | {
        readonly kind: 'postgres';
        /** The URL for node-postgres, without the CLI's own query parameters. */
        readonly connectionString: string;
        readonly schema?: string;
        readonly table?: string;
        /** From the user info or `?password=` (node-postgres reads both). */
        readonly password?: string;
        /** `?sslpassword=`: the passphrase of the TLS client key. */
        readonly sslpassword?: string;
      }
    | { readonly kind: 'file'; readonly dir: string }
  );

/** Where a store is, for messages: scheme, host and port, database or directory; never a password. */
export interface StoreTarget {
  /** E.g. `redis 127.0.0.1:6379`, `postgres db.internal:5432/app`, `file /var/lib/app`. */
  readonly where: string;
}

function hostPort(url: URL, defaultPort: string): string {
  return `${url.hostname || 'localhost'}:${url.port || defaultPort}`;
}

const SCHEMES = 'redis://, rediss://, redis+cluster://, postgres://, file:///absolute/path';

function take(url: URL, name: string): string | undefined {
  const value = url.searchParams.get(name);
  url.searchParams.delete(name);
  if (value === '') throw new UsageError(`store URL: ?${name}= is empty`);
  return value ?? undefined;
}

function decoded(text: string, what: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new UsageError(`store URL: the ${what} is not valid percent-encoding`);
  }
}

/**
 * The message for a query parameter nobody takes. Its name is echoed only when
 * it looks like a parameter name: with an unencoded `?` in the password
 * (`redis://u:12345?abc@host`) the "name" is the password's tail.
 */
function unknownParam(name: string, allowed: string): UsageError {
  const shown = /^[A-Za-z0-9_-]{1,40}$/.test(name) ? ` ?${name}=` : '';
  return new UsageError(`store URL: unknown parameter${shown} (known: ${allowed})`);
}

function noExtraParams(url: URL, allowed: string): void {
  // Anything left is the driver's business (e.g. sslmode for postgres); redis
  // and file URLs take nothing else, so a typo is reported rather than ignored.
  const first = [...url.searchParams.keys()][0];
  if (first !== undefined) throw unknownParam(first, allowed);
}

/**
 * A secret node-postgres copies from the query into its config. Given twice
 * it is refused: which copy the driver uses is its business, and both would
 * need redacting.
 */
function querySecret(url: URL, name: string): string | undefined {
  const values = url.searchParams.getAll(name);
  if (values.length > 1) throw new UsageError(`store URL: ?${name}= is given more than once`);
  const value = values[0];
  return value === undefined || value === '' ? undefined : value;
}

function parseCluster(text: string): StoreSpec {
  const tls = text.startsWith('rediss+cluster://');
  const rest = text.slice(text.indexOf('://') + 3);
  const q = rest.indexOf('?');
  const authority = (q === -1 ? rest : rest.slice(0, q)).replace(/\/$/, '');
  const query = new URLSearchParams(q === -1 ? '' : rest.slice(q + 1));
  const at = authority.lastIndexOf('@');
  const userinfo = at === -1 ? '' : authority.slice(0, at);
  const hosts = at === -1 ? authority : authority.slice(at + 1);
  const nodes = hosts.split(',').map((hp) => {
    const m = /^([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\]):(\d{1,5})$/.exec(hp);
    const port = Number(m?.[2]);
    if (m === null || port < 1 || port > 65535) {
      throw new UsageError('store URL: redis+cluster:// needs host:port[,host:port...]');
    }
    return { host: (m[1] as string).replace(/^\[|\]$/g, ''), port };
  });
  const colon = userinfo.indexOf(':');
  const username = decoded(colon === -1 ? userinfo : userinfo.slice(0, colon), 'user name');
  const password = colon === -1 ? '' : decoded(userinfo.slice(colon + 1), 'password');
  const prefix = query.get('prefix');
  query.delete('prefix');
  const extra = [...query.keys()][0];
  if (extra !== undefined) throw unknownParam(extra, 'prefix');
  return {
    kind: 'redis-cluster',
    where: `redis cluster ${nodes.map((n) => `${n.host}:${n.port}`).join(',')}`,
    nodes,
    tls,
    ...(username === '' ? {} : { username }),
    ...(password === '' ? {} : { password }),
    ...(prefix === null || prefix === '' ? {} : { prefix }),
  };
}

/**
 * Parse a store URL. Throws {@link UsageError} (exit 2) for an unsupported
 * scheme or a malformed URL, naming the scheme only. `where` describes the
 * store for messages without its password.
 *
 * @example
 * ```ts
 * parseStoreUrl('redis://:pw@10.0.0.5:6379?prefix=app:').where; // 'redis 10.0.0.5:6379'
 * ```
 */
export function parseStoreUrl(text: string): StoreSpec {
  if (/^rediss?\+cluster:\/\//.test(text)) return parseCluster(text);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`store URL is not a valid URL (expected ${SCHEMES})`);
  }
  const password = url.password === '' ? undefined : decoded(url.password, 'password');
  const secret = password === undefined ? {} : { password };
  switch (url.protocol) {
    case 'redis:':
    case 'rediss:': {
      const prefix = take(url, 'prefix');
      noExtraParams(url, 'prefix');
      if (url.hostname === '') throw new UsageError('store URL: redis:// needs a host');
      return {
        kind: 'redis',
        where: `redis ${hostPort(url, '6379')}${url.pathname.length > 1 ? url.pathname : ''}`,
        url: url.toString(),
        ...(prefix ? { prefix } : {}),
        ...secret,
      };
    }
    case 'postgres:':
    case 'postgresql:': {
      const schema = take(url, 'schema');
      const table = take(url, 'table');
      // Left in the connection string (the driver needs them) but a password
      // all the same: the --store refusal and the redactor must see them.
      const fromQuery = querySecret(url, 'password');
      if (fromQuery !== undefined && password !== undefined && fromQuery !== password) {
        throw new UsageError(
          'store URL: give the password once, in the user info or as ?password=',
        );
      }
      const effective = fromQuery ?? password;
      const sslpassword = querySecret(url, 'sslpassword');
      return {
        kind: 'postgres',
        where: `postgres ${hostPort(url, '5432')}${url.pathname.length > 1 ? url.pathname : ''}`,
        connectionString: url.toString(),
        ...(schema ? { schema } : {}),
        ...(table ? { table } : {}),
        ...(effective === undefined ? {} : { password: effective }),
        ...(sslpassword === undefined ? {} : { sslpassword }),
      };
    }
    case 'file:': {
      if (url.hostname !== '' && url.hostname !== 'localhost') {
        throw new UsageError('store URL: file:// URLs must be local (file:///absolute/path)');
      }
      noExtraParams(url, 'none');
      const dir = fileURLToPath(url);
      if (!isAbsolute(dir)) throw new UsageError('store URL: file:// needs an absolute path');
      return { kind: 'file', where: `file store ${dir}`, dir };
    }
    default:
      throw new UsageError(
        `unsupported store URL scheme "${url.protocol.slice(0, 20)}" (expected ${SCHEMES})`,
      );
  }
}
