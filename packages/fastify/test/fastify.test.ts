import { cloakroomFastify } from '@cloakroom/fastify';
import Fastify from 'fastify';
import { describeAdapter } from '../../http/test/adapter-flow';

describeAdapter('Fastify 5', async (cloakroom, options, state) => {
  const auth = cloakroomFastify(cloakroom, options);
  const app = Fastify();
  // Fastify parses JSON itself; forms (the `_csrf` field of the CSRF fallback) need a parser.
  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string' },
    (_request, body, done) => done(null, Object.fromEntries(new URLSearchParams(String(body)))),
  );
  await app.register(auth.plugin);
  app.post('/login', async (request) => {
    const { username } = request.body as { username: string };
    const { csrfToken } = await request.cloakroom.signIn(username, { role: 'user' });
    return { csrfToken };
  });
  app.get('/me', { preHandler: auth.required }, async (request) => {
    const session = auth.session(request)!;
    return { subject: session.subject, claims: session.claims };
  });
  app.post('/elevate', { preHandler: auth.required }, async (request, reply) => {
    const next = await auth.context(request).refresh({ claims: { role: 'admin' } });
    return reply.code(next === null ? 401 : 200).send({});
  });
  app.post('/logout', async (request, reply) => {
    await request.cloakroom.signOut();
    return reply.code(204).send();
  });
  app.post('/logout-everywhere', { preHandler: auth.required }, async (request) => ({
    revoked: await request.cloakroom.signOutEverywhere(),
  }));
  app.route({
    method: ['POST', 'PUT', 'PATCH', 'DELETE'],
    url: '/notes',
    preHandler: auth.required,
    handler: async (_request, reply) => reply.code(201).send({ notes: ++state.notes }),
  });
  app.post('/webhook', { config: { cloakroom: { csrf: false } } }, async () => ({
    hooks: ++state.hooks,
  }));
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return { url: `http://127.0.0.1:${port}`, close: () => app.close() };
});
