export { createExpressApp, type ExpressRecipeOptions } from './express';
export { createFastifyApp, type FastifyRecipeOptions } from './fastify';
export { createHonoApp, type HonoRecipeOptions } from './hono';
export {
  createNextRoutes,
  type NextRecipeOptions,
  type NextRoutes,
  type RouteHandler,
} from './next';
export { createNodeHandler, type NodeHandler, type NodeRecipeOptions } from './node-http';
