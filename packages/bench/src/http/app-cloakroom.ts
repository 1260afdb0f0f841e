// Cloakroom over the memory or the Redis store, as an application mounts it:
// node:http with @cloakroom/core directly, or Express 5 with @cloakroom/express.
import { randomBytes } from 'node:crypto';
import { type Cloakroom, type SessionStore, readTicketCookie } from '@cloakroom/core';
import { cloakroomExpress } from '@cloakroom/express';
import { createMemoryStore } from '@cloakroom/store-memory';
import { createRedisStore } from '@cloakroom/store-redis';
import express from 'express';
import { Redis } from 'ioredis';
import { CLAIMS, cloakroomOver, makeFixture } from '../fixture';
import { deletePrefix } from '../targets';
import {
  type AppSettings,
  type ServerApp,
  nodeListener,
  sendStatus,
  sendSubject,
  subjectOf,
} from './app';
import type { Framework } from './contenders';
import type { Visit } from './protocol';

interface Backend {
  readonly store: SessionStore;
  cleanup(): Promise<void>;
}

function backend(kind: 'memory' | 'redis', settings: AppSettings): Backend {
  if (kind === 'memory') return { store: createMemoryStore(), cleanup: async () => {} };
  // The same client settings as the micro-benchmark's Redis target.
  const client = new Redis(settings.redisUrl, {
    enableAutoPipelining: settings.autoPipelining,
    maxRetriesPerRequest: 1,
  });
  const prefix = `cloakroom-bench-http:${process.pid}_${randomBytes(4).toString('hex')}:`;
  return {
    store: createRedisStore({ client, prefix }),
    cleanup: async () => {
      await deletePrefix(client, prefix);
      client.disconnect();
    },
  };
}

function nodeApp(cloakroom: Cloakroom, deferAnswer: boolean) {
  return nodeListener(async (req, res) => {
    const ticket = readTicketCookie(req.headers.cookie);
    const session = ticket === undefined ? null : await cloakroom.resolve(ticket);
    if (deferAnswer) await new Promise<void>((resolve) => setImmediate(resolve));
    if (session === null) sendStatus(res, 401);
    else sendSubject(res, session.subject);
  });
}

function expressApp(cloakroom: Cloakroom) {
  const auth = cloakroomExpress(cloakroom);
  const app = express();
  app.use(auth.middleware());
  app.get('/me', auth.required, (req, res) => {
    res.type('text/plain').send(req.cloakroom.session?.subject);
  });
  app.use(auth.errorHandler);
  return app;
}

export async function cloakroomApp(
  kind: 'memory' | 'redis',
  framework: Framework,
  settings: AppSettings,
  experiment: { readonly deferAnswer?: boolean } = {},
): Promise<ServerApp> {
  const { store, cleanup } = backend(kind, settings);
  // Default settings: ticket-bound, default TTLs and touch interval.
  const cloakroom = cloakroomOver(await makeFixture(), store);
  const visits: Visit[] = [];
  for (let i = 0; i < settings.sessions; i++) {
    const subject = subjectOf(i);
    const { ticket } = await cloakroom.create(subject, { ...CLAIMS });
    visits.push({ cookie: `__Host-cloakroom=${ticket}`, subject });
  }
  return {
    listener:
      framework === 'node'
        ? nodeApp(cloakroom, experiment.deferAnswer === true)
        : expressApp(cloakroom),
    visits,
    async close() {
      await cloakroom.close();
      await cleanup();
    },
  };
}
