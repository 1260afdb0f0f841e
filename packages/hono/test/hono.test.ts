import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type CloakroomEnv, cloakroomHono } from '@cloakroom/hono';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { describeAdapter } from '../../http/test/adapter-flow';

type Claims = { role: string };

describeAdapter('Hono 4 on @hono/node-server', async (cloakroom, options, state) => {
  const auth = cloakroomHono(cloakroom, options);
  const app = new Hono<CloakroomEnv<Claims>>();
  // The opt-out route comes before the middleware, with its own.
  app.post('/webhook', auth.middleware({ csrf: false }), (c) => c.json({ hooks: ++state.hooks }));
  app.use(auth.middleware());
  app.post('/login', async (c) => {
    const { username } = await c.req.json<{ username: string }>();
    const { csrfToken } = await c.get('cloakroom').signIn(username, { role: 'user' });
    return c.json({ csrfToken });
  });
  app.get('/me', auth.required, (c) => {
    const session = c.get('session')!;
    return c.json({ subject: session.subject, claims: session.claims });
  });
  app.post('/elevate', auth.required, async (c) => {
    const next = await c.get('cloakroom').refresh({ claims: { role: 'admin' } });
    return c.json({}, next === null ? 401 : 200);
  });
  app.post('/logout', async (c) => {
    await c.get('cloakroom').signOut();
    return c.body(null, 204);
  });
  app.post('/logout-everywhere', auth.required, async (c) =>
    c.json({ revoked: await c.get('cloakroom').signOutEverywhere() }),
  );
  app.on(['POST', 'PUT', 'PATCH', 'DELETE'], '/notes', auth.required, (c) =>
    c.json({ notes: ++state.notes }, 201),
  );

  const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }) as Server;
  if (!server.listening) await new Promise((resolve) => server.once('listening', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
});
