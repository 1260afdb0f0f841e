export { cloakroomFastify, type FastifyCloakroom } from './fastify-adapter';
export type {
  CloakroomContext,
  CloakroomHttpOptions,
  RouteOptions,
  Session,
} from '@cloakroom/http';
