export { instrumentCloakroom } from './instrument';
export type { InstrumentCloakroomOptions } from './options';
export { ATTR as CLOAKROOM_ATTRIBUTES } from './attributes';
