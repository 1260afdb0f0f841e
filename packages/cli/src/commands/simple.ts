// `cloakroom jwks`, `sweep` and `revoke-subject`.
import { UsageError } from '../cli-errors';
import type { CommandContext } from '../context';
import type { ExitCode } from '../io';
import { loadKeys } from '../keys-config';
import { managerWith, noKeys, openManager } from '../manager';

/**
 * Run `jwks`: the public signing keys (always JSON: a JWKS is a JSON
 * document). Static keys need no store.
 */
export async function jwks(ctx: CommandContext): Promise<ExitCode> {
  const keys = await loadKeys(ctx);
  ctx.printJson(await keys.provider.jwks());
  return 0;
}

/** Run `sweep`: delete expired sessions (stores without native expiry). */
export async function sweep(ctx: CommandContext): Promise<ExitCode> {
  const conn = await ctx.connect();
  // Sweeping needs no key; a configured one is still loaded so it is checked.
  const hasKeys =
    ctx.option('keys-file') !== undefined ||
    ctx.option('master-key-file') !== undefined ||
    Boolean(ctx.io.env.CLOAKROOM_KEYS_FILE) ||
    Boolean(ctx.io.env.CLOAKROOM_MASTER_KEY);
  const manager = hasKeys ? await openManager(ctx, conn) : managerWith(ctx, conn, noKeys());
  try {
    const swept = await manager.sweep(ctx.actor);
    if (ctx.json) ctx.printJson({ swept });
    else ctx.print(`swept ${swept} expired session${swept === 1 ? '' : 's'}`);
  } finally {
    await manager.close();
  }
  return 0;
}

/** Run `revoke-subject <subject>`: end every session of one user. */
export async function revokeSubject(ctx: CommandContext): Promise<ExitCode> {
  const subject = ctx.args[0];
  if (subject === undefined || subject === '') {
    throw new UsageError('revoke-subject needs the subject (user id)');
  }
  const manager = await openManager(ctx, await ctx.connect());
  try {
    const revoked = await manager.revokeSubject(subject, ctx.actor);
    // The subject is user data: the output reports the count only.
    if (ctx.json) ctx.printJson({ revoked });
    else ctx.print(`revoked ${revoked} session${revoked === 1 ? '' : 's'}`);
  } finally {
    await manager.close();
  }
  return 0;
}
