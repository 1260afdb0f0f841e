import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { cloakroomExpress } from '@cloakroom/express';
import express from 'express';
import { describeAdapter } from '../../http/test/adapter-flow';

describeAdapter('Express 5', async (cloakroom, options, state) => {
  const auth = cloakroomExpress(cloakroom, options);
  const app = express();
  app.use(express.json(), express.urlencoded({ extended: false }));
  // The opt-out route comes before the middleware, with its own.
  app.post('/webhook', auth.middleware({ csrf: false }), (_req, res) => {
    res.json({ hooks: ++state.hooks });
  });
  app.use(auth.middleware());
  app.post('/login', async (req, res) => {
    const { csrfToken } = await req.cloakroom.signIn(req.body.username, { role: 'user' });
    res.json({ csrfToken });
  });
  app.get('/me', auth.required, (req, res) => {
    const session = auth.session(req)!;
    res.json({ subject: session.subject, claims: session.claims });
  });
  app.post('/elevate', auth.required, async (req, res) => {
    const next = await auth.context(req).refresh({ claims: { role: 'admin' } });
    res.status(next === null ? 401 : 200).json({});
  });
  app.post('/logout', async (req, res) => {
    await req.cloakroom.signOut();
    res.status(204).end();
  });
  app.post('/logout-everywhere', auth.required, async (req, res) => {
    res.json({ revoked: await req.cloakroom.signOutEverywhere() });
  });
  app.all('/notes', auth.required, (_req, res) => {
    res.status(201).json({ notes: ++state.notes });
  });
  app.use(auth.errorHandler);

  const server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
});
