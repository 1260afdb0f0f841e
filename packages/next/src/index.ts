export {
  cloakroomNext,
  type CloakroomRouteHandler,
  type NextCloakroom,
  type NextCloakroomOptions,
  type NextRouteHandler,
} from './next-adapter';
export type {
  CloakroomContext,
  CloakroomHttpOptions,
  RouteOptions,
  Session,
} from '@cloakroom/http';
