import { createServer } from 'node:http';
import { createNodeHandler } from '@cloakroom/example-recipes';
import { describeRecipe, overLoopback } from './recipe-flow';

describeRecipe('node:http (real loopback socket)', async (cloakroom, options) =>
  overLoopback(createServer(createNodeHandler(cloakroom, options)).listen(0, '127.0.0.1')),
);
