export { cloakroomExpress, type ExpressCloakroom } from './express-adapter';
export type {
  CloakroomContext,
  CloakroomHttpOptions,
  RouteOptions,
  Session,
} from '@cloakroom/http';
