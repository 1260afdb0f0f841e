// The peer most Express apps use: express-session with connect-redis over
// node-redis 5, default settings (resave false, saveUninitialized false; an
// unchanged session is touched, which connect-redis does with EXPIRE).
import { createHmac, randomBytes } from 'node:crypto';
import express from 'express';
import { createClient } from 'redis';
import { type ExpressStore, peerOps, require } from '../peer';
import { deletePrefix } from '../targets';
import { Redis } from 'ioredis';
import { type AppSettings, type ServerApp, subjectOf } from './app';
import type { Visit } from './protocol';
import { sealedSize } from './sealed-size';

type Middleware = express.RequestHandler;
const session = require('express-session') as (options: object) => Middleware;

/** express-session's cookie value: `s:` + id + `.` + HMAC-SHA256 (base64, unpadded), URI-encoded. */
function signedCookie(sid: string, secret: string): string {
  const mac = createHmac('sha256', secret).update(sid).digest('base64').replace(/=+$/, '');
  return `connect.sid=${encodeURIComponent(`s:${sid}.${mac}`)}`;
}

export async function expressSessionApp(settings: AppSettings): Promise<ServerApp> {
  const client = createClient({ url: settings.redisUrl });
  client.on('error', () => {});
  await client.connect();
  const { RedisStore } = (await import('connect-redis')) as unknown as {
    RedisStore: new (o: object) => ExpressStore;
  };
  const prefix = `cloakroom-bench-http:${process.pid}_${randomBytes(4).toString('hex')}:`;
  const store = new RedisStore({ client, prefix });
  const secret = randomBytes(32).toString('base64url');
  const ops = peerOps(store, await sealedSize(), async () => {});
  const visits: Visit[] = [];
  for (let i = 0; i < settings.sessions; i++) {
    const subject = subjectOf(i);
    visits.push({ cookie: signedCookie(await ops.create(subject), secret), subject });
  }
  const app = express();
  app.use(session({ store, secret, resave: false, saveUninitialized: false }));
  app.get('/me', (req, res) => {
    const user = (req as unknown as { session: { user?: { id: string } } }).session.user;
    if (user === undefined) res.sendStatus(401);
    else res.type('text/plain').send(user.id);
  });
  return {
    listener: app,
    visits,
    async close() {
      client.destroy();
      const cleaner = new Redis(settings.redisUrl, { maxRetriesPerRequest: 1 });
      await deletePrefix(cleaner, prefix);
      cleaner.disconnect();
    },
  };
}
