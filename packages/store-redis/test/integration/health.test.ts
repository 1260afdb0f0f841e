// #18: Cloakroom.health() against a real Redis, up and down: the readiness
// probe says "not ready" within its deadline when the store cannot answer.
import { createCloakroom, generateSecret, generateSigningKey, staticKeys } from '@cloakroom/core';
import { createRedisStore } from '@cloakroom/store-redis';
import { afterAll, describe, expect, it } from 'vitest';
import { connectOrFail, deleteUnder, uniquePrefix } from './redis-test-env';

const client = await connectOrFail();
const prefix = uniquePrefix('health');
afterAll(async () => {
  await deleteUnder(client, prefix);
  client.disconnect();
});

async function keys() {
  const signing = await generateSigningKey('EdDSA');
  return staticKeys({
    signing: [{ alg: 'EdDSA', privateKey: signing.privateJwk }],
    storage: [{ key: generateSecret() }],
    index: generateSecret(),
  });
}

describe('health() with the Redis store (#18)', () => {
  it('ready against a running Redis', async () => {
    const cloakroom = createCloakroom({
      store: createRedisStore({ client, prefix }),
      keys: await keys(),
      issuer: 'https://issuer.test',
      audience: 'https://api.test',
    });
    expect(await cloakroom.health()).toMatchObject({ ready: true, store: { ok: true } });
  });

  it('not ready, with ERR_STORE_UNAVAILABLE and within the deadline, when Redis is down', async () => {
    const store = createRedisStore({ url: 'redis://127.0.0.1:1', commandTimeoutMs: 500 });
    const cloakroom = createCloakroom({
      store,
      keys: await keys(),
      issuer: 'https://issuer.test',
      audience: 'https://api.test',
    });
    const started = Date.now();
    const report = await cloakroom.health({ timeoutMs: 2_000 });
    expect(Date.now() - started).toBeLessThan(2_500);
    expect(report).toMatchObject({
      ready: false,
      store: { ok: false, error: expect.stringMatching(/^(ERR_STORE_UNAVAILABLE|timeout)$/) },
      keys: { ok: true },
    });
    await cloakroom.close();
  });
});
