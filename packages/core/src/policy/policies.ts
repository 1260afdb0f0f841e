// Built-in access policies (SEC-26). Compose them with allOf / anyOf.
import { ConfigInvalid } from '../errors';
import { type Cidr, ipInAny, parseCidr } from './ip-address';
import { actsOnOwnSubject } from './same-subject';
import {
  type AccessPolicy,
  type AccessRequest,
  type Action,
  type Decision,
  LIFECYCLE_ACTIONS,
} from '../contracts/policy';

const ALLOW: Decision = Object.freeze({ allow: true });
const deny = (reason: string): Decision => ({ allow: false, reason });

/** Every action, for wildcard expansion and validation. */
export const ALL_ACTIONS: readonly Action[] = [
  'session.create',
  'session.resolve',
  'session.refresh',
  'session.revoke',
  'session.list',
  'subject.revoke',
  'keys.rotate',
  'store.rewrap',
  'store.sweep',
];

/** Operator actions: the ones an address rule usually guards. */
export const OPERATOR_ACTIONS: readonly Action[] = [
  'subject.revoke',
  'session.list',
  'keys.rotate',
  'store.rewrap',
  'store.sweep',
];

/** An action, `*` (all), or a namespace wildcard such as `session.*`. */
export type ActionPattern = Action | '*' | 'session.*' | 'subject.*' | 'keys.*' | 'store.*';

function expand(patterns: readonly string[], where: string): ReadonlySet<Action> {
  const out = new Set<Action>();
  for (const p of patterns) {
    const matched = ALL_ACTIONS.filter(
      (a) => p === '*' || p === a || (p.endsWith('.*') && a.startsWith(p.slice(0, -1))),
    );
    if (matched.length === 0)
      throw new ConfigInvalid(`unknown action pattern "${String(p).slice(0, 64)}" in ${where}`);
    for (const a of matched) out.add(a);
  }
  return out;
}

/** Options of {@link rolePolicy}. */
export interface RolePolicyOptions {
  /** Role → action patterns it grants. */
  readonly roles: Readonly<Record<string, readonly ActionPattern[]>>;
  /**
   * Actions granted to every caller, including the application acting
   * without an actor, when they act on a ticket they hold; when the action
   * names a subject (e.g. `revokeSession(subject, id)`), only that subject
   * itself or a role granting it may. @default the session lifecycle (create, resolve, refresh, revoke)
   */
  readonly everyone?: readonly ActionPattern[];
}

/**
 * Role-based access: an action is allowed when `everyone` grants it or any of
 * the actor's roles does. Unknown roles grant nothing; unknown action
 * patterns are rejected at configuration.
 *
 * @example
 * ```ts
 * const policy = rolePolicy({ roles: { admin: ['*'], support: ['session.list', 'subject.revoke'] } });
 * ```
 */
export function rolePolicy(options: RolePolicyOptions): AccessPolicy {
  const everyone = expand(options.everyone ?? LIFECYCLE_ACTIONS, 'everyone');
  const grants = new Map<string, ReadonlySet<Action>>();
  for (const [role, patterns] of Object.entries(options.roles ?? {})) {
    grants.set(role, expand(patterns, `role "${role.slice(0, 64)}"`));
  }
  return {
    name: 'roles',
    authorize(request) {
      const { action, actor, target } = request;
      // `everyone` covers acting on a ticket one holds; acting on a subject by
      // name (revoke one of its sessions by id, list, revoke all) needs a role
      // or to be that subject.
      if (everyone.has(action)) {
        if (target?.subject === undefined) return ALLOW;
        if (actsOnOwnSubject(request)) return ALLOW;
      }
      for (const role of actor?.roles ?? []) if (grants.get(role)?.has(action)) return ALLOW;
      return deny(`no role grants ${action}`);
    },
  };
}

/** Options of {@link ipAllowlist}. */
export interface IpAllowlistOptions {
  /** IPv4/IPv6 CIDR blocks or single addresses. IPv4 rules also match IPv4-mapped IPv6 addresses. */
  readonly allow: readonly string[];
  /** Actions this rule guards; others pass through (allowed). @default every action */
  readonly actions?: readonly ActionPattern[];
}

/**
 * Address rule: a guarded action is allowed only when `actor.ip` lies in one
 * of the blocks (a missing or malformed address is denied). Meant to be
 * combined: `allOf(rolePolicy(...), ipAllowlist(...))`. Derive `actor.ip`
 * with {@link clientAddress} so forwarded headers are trusted only from your proxies.
 *
 * @example
 * ```ts
 * const policy = allOf(rolePolicy({ roles: { admin: ['*'] } }),
 *   ipAllowlist({ allow: ['10.0.0.0/8', 'fd00::/8'], actions: OPERATOR_ACTIONS }));
 * ```
 */
export function ipAllowlist(options: IpAllowlistOptions): AccessPolicy {
  const blocks: readonly Cidr[] = (options.allow ?? []).map(parseCidr);
  if (blocks.length === 0) throw new ConfigInvalid('ipAllowlist needs at least one CIDR block');
  const guarded = expand(options.actions ?? ['*'], 'ipAllowlist.actions');
  return {
    name: 'ip-allowlist',
    authorize({ action, actor }) {
      if (!guarded.has(action)) return ALLOW;
      return ipInAny(actor?.ip, blocks) ? ALLOW : deny('client address not in the allowlist');
    },
  };
}

/**
 * An actor may list and revoke only its own subject's sessions. Actions on a
 * ticket the caller holds (resolve, refresh, revoke by ticket, create) pass;
 * operator actions without a subject (`keys.rotate`, `store.*`) are denied.
 *
 * @example
 * ```ts
 * await cloakroom.listSessions(userId, { subject: userId }); // allowed
 * await cloakroom.listSessions(otherId, { subject: userId }); // AccessDenied
 * ```
 */
export function ownSessionsOnly(): AccessPolicy {
  return {
    name: 'own-sessions-only',
    authorize(request: AccessRequest) {
      const { action, target } = request;
      if (target?.subject !== undefined) {
        return actsOnOwnSubject(request) ? ALLOW : deny('not the subject');
      }
      if (action === 'session.list' || action === 'subject.revoke') return deny('no subject given');
      if (action.startsWith('store.') || action.startsWith('keys.')) return deny('operator action');
      return ALLOW;
    },
  };
}

async function decide(policy: AccessPolicy, request: AccessRequest): Promise<Decision> {
  try {
    const d = await policy.authorize(request);
    return d?.allow === true
      ? ALLOW
      : deny(
          typeof (d as { reason?: unknown })?.reason === 'string'
            ? (d as { reason: string }).reason
            : 'denied',
        );
  } catch {
    return deny(`policy "${policy.name}" threw`);
  }
}

/**
 * Allowed only when every policy allows (the first denial's reason is kept).
 * A policy that throws denies.
 */
export function allOf(...policies: readonly AccessPolicy[]): AccessPolicy {
  if (policies.length === 0) throw new ConfigInvalid('allOf needs at least one policy');
  return {
    name: `allOf(${policies.map((p) => p.name).join(',')})`,
    async authorize(request) {
      for (const p of policies) {
        const d = await decide(p, request);
        if (!d.allow) return d;
      }
      return ALLOW;
    },
  };
}

/** Allowed when any policy allows. A policy that throws counts as a denial. */
export function anyOf(...policies: readonly AccessPolicy[]): AccessPolicy {
  if (policies.length === 0) throw new ConfigInvalid('anyOf needs at least one policy');
  return {
    name: `anyOf(${policies.map((p) => p.name).join(',')})`,
    async authorize(request) {
      const reasons: string[] = [];
      for (const p of policies) {
        const d = await decide(p, request);
        if (d.allow) return ALLOW;
        reasons.push(d.reason);
      }
      return deny(reasons.join('; '));
    },
  };
}
