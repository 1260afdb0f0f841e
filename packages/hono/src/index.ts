export {
  cloakroomHono,
  type CloakroomEnv,
  type HonoCloakroom,
  type HonoCloakroomOptions,
} from './hono-adapter';
export type {
  CloakroomContext,
  CloakroomHttpOptions,
  RouteOptions,
  Session,
} from '@cloakroom/http';
