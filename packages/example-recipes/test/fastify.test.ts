import { createFastifyApp } from '@cloakroom/example-recipes';
import { describeRecipe, overLoopback } from './recipe-flow';

describeRecipe('Fastify (real loopback socket)', async (cloakroom, options) => {
  const app = await createFastifyApp(cloakroom, options);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { send } = await overLoopback(app.server);
  return { send, close: () => app.close() };
});
