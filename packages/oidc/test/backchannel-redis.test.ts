// Back-channel logout by sid over a real shared store: two managers, each with
// its own Redis connection (two app instances), one Redis. Fails, never skips,
// when Redis is down.
import { afterEach, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { createCloakroom, trustedIssuer } from '@cloakroom/core';
import { createRedisStore } from '@cloakroom/store-redis';
import { Redis } from 'ioredis';
import { CLIENT_ID, RESOURCE } from './support/provider';
import { bffWorld } from './support/world';

const REDIS_URL = process.env.CLOAKROOM_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

type World = Awaited<ReturnType<typeof bffWorld>>;
let w: World | undefined;
let cleanup: (() => Promise<void>) | undefined;
afterEach(async () => {
  await w?.close();
  w = undefined;
  await cleanup?.();
  cleanup = undefined;
});

/** A client to check Redis is up and to remove this test's keys afterwards. */
async function redisOrFail(prefix: string): Promise<() => Promise<void>> {
  const client = new Redis(REDIS_URL, {
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    retryStrategy: () => null,
  });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.ping();
  } catch (cause) {
    client.disconnect();
    throw new Error(
      `Redis test server unreachable at ${REDIS_URL}: start it or set CLOAKROOM_TEST_REDIS_URL`,
      { cause },
    );
  }
  return async () => {
    const keys = await client.keys(`${prefix}*`);
    if (keys.length > 0) await client.del(...keys);
    client.disconnect();
  };
}

describe('back-channel logout by sid over Redis (SEC-34)', () => {
  it('the provider logs out one provider session: resolve returns null at once on both instances, the other session stays', async () => {
    const prefix = `cloakroom-test:oidc-backchannel:${randomBytes(6).toString('hex')}:`;
    cleanup = await redisOrFail(prefix);
    w = await bffWorld({ store: createRedisStore({ url: REDIS_URL, prefix }) });
    const other = createCloakroom({
      store: createRedisStore({ url: REDIS_URL, prefix }),
      keys: w.keys,
      issuer: 'https://bff.test',
      audience: 'https://bff.test',
      trustedIssuers: [
        trustedIssuer({
          issuer: w.idp.issuer,
          jwksUri: `${w.idp.issuer}/jwks`,
          audience: RESOURCE,
          typ: 'at+jwt',
          allowInsecureLoopback: true,
        }),
      ],
    });
    try {
      const one = await w.signIn();
      const two = await w.signIn();
      expect(await other.resolve(one.ticket)).not.toBeNull();
      const client = await w.idp.provider.Client.find(CLIENT_ID);
      await (
        client as unknown as { backchannelLogout(sub: string, sid: string): Promise<void> }
      ).backchannelLogout('alice', one.auth.sid as string);
      expect(await w.cloakroom.resolve(one.ticket)).toBeNull();
      expect(await other.resolve(one.ticket)).toBeNull();
      expect((await other.resolve(two.ticket))?.subject).toBe('alice');
      expect(w.oidcEvents).toContainEqual(
        expect.objectContaining({ type: 'oidc.backchannel_logout', by: 'sid', count: 1 }),
      );
    } finally {
      await other.close();
    }
  });
});
