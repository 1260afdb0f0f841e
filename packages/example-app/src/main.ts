// Start the example app from environment variables: `pnpm --filter @cloakroom/example-app start`.
import { jsonLinesSink } from '@cloakroom/core';
import { startApp } from './app';

const env = process.env;
const list = (v: string | undefined) =>
  v === undefined || v === ''
    ? undefined
    : v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
const int = (v: string | undefined) => (v === undefined || v === '' ? undefined : Number(v));
const opt = <K extends string, V>(key: K, value: V | undefined) =>
  (value === undefined ? {} : { [key]: value }) as Partial<Record<K, V>>;

const app = await startApp({
  ...opt('dataDir', env.CLOAKROOM_DATA_DIR || undefined),
  ...opt('storeUrl', env.CLOAKROOM_STORE_URL || undefined),
  ...opt('masterKey', env.CLOAKROOM_MASTER_KEY || undefined),
  ...opt('host', env.HOST || undefined),
  ...opt('port', int(env.PORT)),
  insecureDev: env.CLOAKROOM_INSECURE_DEV === '1',
  ...opt('demoPassword', env.CLOAKROOM_DEMO_PASSWORD || undefined),
  ...opt('publishAheadMs', int(env.CLOAKROOM_PUBLISH_AHEAD_MS)),
  ...opt('adminAllow', list(env.CLOAKROOM_ADMIN_ALLOW)),
  ...opt('trustedProxies', list(env.CLOAKROOM_TRUSTED_PROXIES)),
  ...opt('redisPrefix', env.CLOAKROOM_REDIS_PREFIX || undefined),
  ...opt('postgresSchema', env.CLOAKROOM_PG_SCHEMA || undefined),
  ...opt('onEvent', env.CLOAKROOM_AUDIT === '1' ? jsonLinesSink(process.stderr) : undefined),
});

console.log(`Cloakroom example app (${app.backend} store, data in ${app.dataDir})`);
if (app.certPath !== undefined) {
  console.log(`Self-signed certificate: ${app.certPath} (your browser will ask you to accept it)`);
}
console.log(`Open ${app.url}`);

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) process.exit(1);
    stopping = true;
    app.close().then(
      () => process.exit(0),
      (e: Error) => {
        console.error(`shutdown failed: ${e.message}`);
        process.exit(1);
      },
    );
  });
}
