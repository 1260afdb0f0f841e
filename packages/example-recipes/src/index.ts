export { createExpressApp, type ExpressRecipeOptions } from './express';
export { createFastifyApp, type FastifyRecipeOptions } from './fastify';
export { createNodeHandler, type NodeHandler, type NodeRecipeOptions } from './node-http';
