// The manager the operator commands run through: allow-all policy (the
// operator holds the keys already), the operator's actor id for audit.
import {
  type Cloakroom,
  type KeyProvider,
  allowAll,
  createCloakroom,
  ConfigInvalid,
} from '@cloakroom/core';
import type { Connection } from './connect';
import type { CommandContext } from './context';
import { type LoadedKeys, loadKeys } from './keys-config';

// Operator commands never sign tokens; these only satisfy the options check.
const ISSUER = 'cloakroom-cli';

/** A manager over the context's store and keys; close it with `manager.close()`. */
export async function openManager(
  ctx: CommandContext,
  conn: Connection,
  keys?: LoadedKeys,
): Promise<Cloakroom> {
  const loaded = keys ?? (await loadKeys(ctx, { conn }));
  return managerWith(ctx, conn, loaded.provider);
}

/** A manager over the given provider. */
export function managerWith(
  ctx: CommandContext,
  conn: Connection,
  provider: KeyProvider,
): Cloakroom {
  return createCloakroom({
    store: conn.sessionStore(),
    keys: provider,
    policy: allowAll(),
    issuer: ISSUER,
    audience: ISSUER,
    clock: ctx.clock,
  });
}

/**
 * A provider for commands that never touch keys (sweep): every method
 * rejects, so a code path that unexpectedly needs a key fails loudly.
 */
export function noKeys(): KeyProvider {
  const fail = () =>
    Promise.reject(
      new ConfigInvalid('this command needs keys: configure a master key or a keys file'),
    );
  return { signingKey: fail, verificationKey: fail, storageKeys: fail, indexKey: fail, jwks: fail };
}
