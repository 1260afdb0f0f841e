// The HTTP contenders: each answers GET /me by reading the cookie, finding the
// session and answering 200 with its subject (the ceilings skip the lookup).

export const CONTENDERS = [
  'ceiling-node',
  'ceiling-express',
  'cloakroom-memory-node',
  'cloakroom-redis-node',
  'cloakroom-memory-express',
  'cloakroom-redis-express',
  'express-session-redis',
  'iron-session-node',
] as const;

/**
 * Contenders for investigations only, run when named in `--http-contenders`:
 * Cloakroom on the memory store answering from setImmediate, i.e. after the
 * poll phase has read every ready socket (batches answers as the Redis store
 * does naturally).
 */
export const EXPERIMENTS = ['cloakroom-memory-node-deferred'] as const;

export const ALL_CONTENDERS = [...CONTENDERS, ...EXPERIMENTS] as const;
export type ContenderName = (typeof ALL_CONTENDERS)[number];

export type Framework = 'node' | 'express';

export interface ContenderInfo {
  readonly name: ContenderName;
  readonly framework: Framework;
  /** What the table says in its first column. */
  readonly label: string;
}

const LABELS: Record<ContenderName, string> = {
  'ceiling-node': 'no session (ceiling), node:http',
  'ceiling-express': 'no session (ceiling), Express 5',
  'cloakroom-memory-node': 'Cloakroom, memory store, node:http (@cloakroom/core)',
  'cloakroom-redis-node': 'Cloakroom, Redis store, node:http (@cloakroom/core)',
  'cloakroom-memory-express': 'Cloakroom, memory store, Express 5 (@cloakroom/express)',
  'cloakroom-redis-express': 'Cloakroom, Redis store, Express 5 (@cloakroom/express)',
  'express-session-redis': 'express-session + connect-redis (node-redis 5), Express 5',
  'iron-session-node': 'iron-session (unseal per request), node:http',
  'cloakroom-memory-node-deferred':
    'Cloakroom, memory store, node:http, answer deferred to setImmediate (experiment)',
};

export function contenderInfo(name: ContenderName): ContenderInfo {
  return {
    name,
    framework: name.includes('-node') ? 'node' : 'express',
    label: LABELS[name],
  };
}

/** The ceiling each contender's requests/s is divided by: the no-session server of its framework. */
export function ceilingOf(name: ContenderName): ContenderName {
  return contenderInfo(name).framework === 'node' ? 'ceiling-node' : 'ceiling-express';
}

export function isContender(name: string): name is ContenderName {
  return (ALL_CONTENDERS as readonly string[]).includes(name);
}
