export { createExpressApp, type ExpressRecipeOptions } from './express';
