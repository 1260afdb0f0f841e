export { createExpressApp, type ExpressRecipeOptions } from './express';
export { createFastifyApp, type FastifyRecipeOptions } from './fastify';
export { createHonoApp, type HonoRecipeOptions } from './hono';
export { createNodeHandler, type NodeHandler, type NodeRecipeOptions } from './node-http';
