// SEC-28: the Redis store runs over TLS when the client it is given does.
// A redis-server with a TLS port, a throwaway self-signed certificate from the
// openssl command line, and an ioredis client verifying it against that CA.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { StoreUnavailable } from '@cloakroom/core';
import { createRedisStore } from '@cloakroom/store-redis';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, type RedisServer, startRedisServer, tempDir } from './redis-servers';
import { makeRecord } from './redis-test-env';

let server: RedisServer;
let tlsPort: number;
let ca: string;
const dir = tempDir('tls');

beforeAll(async () => {
  const key = join(dir.dir, 'key.pem');
  const cert = join(dir.dir, 'cert.pem');
  // Fails (never skips) when openssl is missing.
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '1',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
    ],
    { stdio: 'ignore' },
  );
  ca = readFileSync(cert, 'utf8');
  tlsPort = await freePort();
  server = await startRedisServer(await freePort(), dir.dir, [
    '--tls-port',
    String(tlsPort),
    '--tls-cert-file',
    cert,
    '--tls-key-file',
    key,
    '--tls-ca-cert-file',
    cert,
    '--tls-auth-clients',
    'no',
  ]);
}, 30_000);

afterAll(async () => {
  await server?.kill();
  dir.remove();
});

describe('SEC-28 Redis over TLS', () => {
  it('SEC-28 works through a TLS client that verifies the server certificate', async () => {
    const client = new Redis({
      host: '127.0.0.1',
      port: tlsPort,
      tls: { ca },
      maxRetriesPerRequest: 1,
    });
    client.on('error', () => {});
    try {
      const store = createRedisStore({ client, prefix: `tls-${process.pid}:` });
      const record = makeRecord();
      await store.insert(record);
      expect((await store.get(record.id))?.version).toBe(1);
      expect(await store.delete(record.id)).toBe(true);
      await store.close();
    } finally {
      client.disconnect();
    }
  });

  it('SEC-28 a client that does not trust the certificate gets StoreUnavailable, not data', async () => {
    const client = new Redis({
      host: '127.0.0.1',
      port: tlsPort,
      tls: {},
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
      lazyConnect: true,
    });
    client.on('error', () => {});
    try {
      const store = createRedisStore({ client, commandTimeoutMs: 2000 });
      await expect(store.get(makeRecord().id)).rejects.toBeInstanceOf(StoreUnavailable);
    } finally {
      client.disconnect();
    }
  });
});
