import { type RouteHandler, createNextRoutes } from '@cloakroom/example-recipes';
import { describeRecipe, toRequest } from './recipe-flow';

// Next.js calls each route file's exported handler with a web Request; so does
// this table, keyed the way the App Router maps app/api/<route>/route.ts.
describeRecipe('Next.js route handlers (web Request/Response)', async (cloakroom, options) => {
  const routes = createNextRoutes(cloakroom, options);
  const table: Record<string, RouteHandler> = {
    'POST /login': routes.login.POST,
    'GET /me': routes.me.GET,
    'POST /elevate': routes.elevate.POST,
    'POST /logout': routes.logout.POST,
    'POST /logout-others': routes.logoutOthers.POST,
    'GET /sessions': routes.sessions.GET,
  };
  return {
    send: async (request) => {
      const webRequest = toRequest('https://app.example.test', request);
      const handler = table[`${request.method} ${new URL(webRequest.url).pathname}`];
      if (handler === undefined) throw new Error(`no route for ${request.method} ${request.path}`);
      return handler(webRequest);
    },
    close: async () => {},
  };
});
