import type { Server } from 'node:http';
import { createHonoApp } from '@cloakroom/example-recipes';
import { serve } from '@hono/node-server';
import { describeRecipe, overLoopback } from './recipe-flow';

describeRecipe('Hono on @hono/node-server (real loopback socket)', async (cloakroom, options) => {
  const app = createHonoApp(cloakroom, options);
  // Without an http2 or https option, serve() starts a node:http server.
  return overLoopback(serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }) as Server);
});
