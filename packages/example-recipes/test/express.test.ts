import { createExpressApp } from '@cloakroom/example-recipes';
import { describeRecipe, overLoopback } from './recipe-flow';

describeRecipe('Express (real loopback socket)', async (cloakroom, options) =>
  overLoopback(createExpressApp(cloakroom, options).listen(0, '127.0.0.1')),
);
