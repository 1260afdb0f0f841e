// The Cloakroom every adapter test runs against: fresh keys and a real Redis
// store reached through a proxy the test can cut (a store outage).
import { randomBytes } from 'node:crypto';
import {
  type Cloakroom,
  createCloakroom,
  generateSecret,
  generateSigningKey,
  staticKeys,
} from '@cloakroom/core';
import { createRedisStore } from '@cloakroom/store-redis';
import { Redis } from 'ioredis';
import { type OutageProxy, startOutageProxy } from './outage-proxy';

/** The claims every adapter test app puts into a session. */
export type TestClaims = { role: string };

export interface Fixture {
  readonly cloakroom: Cloakroom<TestClaims>;
  readonly redis: OutageProxy;
  close(): Promise<void>;
}

export async function createFixture(): Promise<Fixture> {
  const redis = await startOutageProxy();
  const signing = await generateSigningKey('EdDSA');
  // Our own client: a store made from a URL does not come back after the
  // connection is refused once (reported to the lead with a reproduction).
  const client = new Redis(redis.url);
  client.on('error', () => {});
  const cloakroom = createCloakroom<TestClaims>({
    store: createRedisStore({
      client,
      prefix: `cloakroom-adapter-test-${randomBytes(6).toString('hex')}:`,
      commandTimeoutMs: 400,
    }),
    keys: staticKeys({
      signing: [{ alg: 'EdDSA', privateKey: signing.privateJwk }],
      storage: [{ key: generateSecret() }],
      index: generateSecret(),
    }),
    issuer: 'https://auth.example.test',
    audience: 'https://api.example.test',
  });
  return {
    cloakroom,
    redis,
    async close() {
      await redis.up();
      await cloakroom.close();
      client.disconnect();
      await redis.close();
    },
  };
}
