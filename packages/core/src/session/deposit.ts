// Sessions for tokens from an external identity provider (BFF / token handler).
import { InvalidArgument, TokenRejected } from '../errors';
import { forbiddenKeyIn } from '../lib/forbidden-keys';
import type { Actor } from '../contracts/policy';
import { type SessionConfig, type SessionContext, newFamily } from './context';
import { insertSession } from './insert';
import { isUsable, load, secretsOrReject } from './load';
import type { LivePayload, SessionSecrets } from '../crypto/payload-format';
import { revokeFamily } from './refresh';
import { generateTicket, sessionIdOf } from '../ticket/ticket';
import type { DepositTokens, TokenIssuer } from '../contracts/token-issuer';

const MAX_TOKEN = 16 * 1024;

// A provider's claims become `resolve().claims`: the same names are refused
// as in the app's own claims (a "__proto__" member would reach the app).
function refuseForbiddenClaims(payload: Record<string, unknown>): void {
  const name = forbiddenKeyIn(payload);
  if (name !== undefined) {
    throw new TokenRejected(`the token's claims must not contain ${name}`);
  }
}

function checkTokens(tokens: DepositTokens): void {
  if (typeof tokens !== 'object' || tokens === null)
    throw new InvalidArgument('tokens must be an object');
  for (const name of ['accessToken', 'refreshToken', 'idToken'] as const) {
    const v = tokens[name];
    if (v === undefined && name !== 'accessToken') continue;
    if (typeof v !== 'string' || v.length === 0 || v.length > MAX_TOKEN) {
      throw new InvalidArgument(
        `${name} must be a non-empty string of at most ${MAX_TOKEN} characters`,
      );
    }
  }
}

function issuerOf(ctx: SessionConfig, name: string): TokenIssuer {
  const found = ctx.trustedIssuers.find((i) => i.issuer === name);
  if (found === undefined)
    throw new InvalidArgument('issuer is not among the configured trustedIssuers');
  return found;
}

const secretsOf = (
  sub: string,
  claims: Record<string, unknown>,
  tokens: DepositTokens,
): SessionSecrets => ({
  sub,
  claims,
  token: tokens.accessToken,
  ...(tokens.refreshToken === undefined ? {} : { refreshToken: tokens.refreshToken }),
  ...(tokens.idToken === undefined ? {} : { idToken: tokens.idToken }),
});

/** Verify an external access token and keep it (and its companions) behind a new ticket. */
export async function deposit(
  ctx: SessionContext,
  tokens: DepositTokens,
  options: { readonly issuer: string; readonly label?: string },
  actor?: Actor,
) {
  ctx.ensureOpen();
  checkTokens(tokens);
  const label = options?.label;
  if (label !== undefined && (typeof label !== 'string' || label.length > 200)) {
    throw new InvalidArgument('label must be a string of at most 200 characters');
  }
  await ctx.authorize('session.create', actor);
  const issuer = issuerOf(ctx, options?.issuer);
  const verified = await issuer.verify(tokens.accessToken);
  const { sub } = verified.payload;
  if (typeof sub !== 'string' || sub.length === 0 || sub.length > 1024) {
    throw new TokenRejected('the token has no usable subject');
  }
  refuseForbiddenClaims(verified.payload);
  const ticket = generateTicket();
  const id = sessionIdOf(ticket);
  const subjectIndex = await ctx.indexOf({ subject: sub, issuer: issuer.issuer });
  const now = ctx.now();
  const abs = now + ctx.times.absolute;
  const payload: LivePayload = {
    k: 'live',
    inner: ctx.sealSecrets(ticket, id, secretsOf(sub, { ...verified.payload }, tokens)),
    kid: verified.header.kid ?? '',
    ext: issuer.issuer,
    tokenExp: verified.payload.exp * 1000,
    fam: newFamily(),
    created: now,
    seen: now,
    idle: Math.min(now + ctx.times.idle, abs),
    abs,
    ...(label === undefined ? {} : { label }),
  };
  return insertSession(ctx, ticket, id, subjectIndex, payload);
}

/**
 * After the app refreshed with its provider: swap in the new tokens, keeping
 * the ticket. The new access token is verified against the session's issuer
 * and must carry the same subject.
 * @returns false when the ticket does not resolve to a deposited session.
 */
export async function replaceTokens(
  ctx: SessionContext,
  ticket: unknown,
  tokens: DepositTokens,
  actor?: Actor,
): Promise<boolean> {
  ctx.ensureOpen();
  checkTokens(tokens);
  await ctx.authorize('session.refresh', actor);
  for (let attempt = 0; attempt < 4; attempt++) {
    const loaded = await load(ctx, ticket, 'refresh');
    if (loaded === null) return false;
    if (loaded.payload.k === 'tomb') {
      // A rotated ticket: after its grace window this is reuse, as in refresh.
      if (ctx.now() >= loaded.payload.grace) {
        await revokeFamily(ctx, loaded.id, loaded.record, loaded.payload);
      } else {
        ctx.emit({
          type: 'session.rejected',
          operation: 'refresh',
          reason: 'rotated',
          sessionId: loaded.id,
        });
      }
      return false;
    }
    if (loaded.payload.ext === undefined) return false;
    const { id, record, payload } = loaded;
    const issuerName = loaded.payload.ext;
    if (!(await isUsable(ctx, id, payload, ctx.now(), 'refresh'))) return false;
    const secrets = secretsOrReject(ctx, loaded.ticket, id, payload, 'refresh');
    if (secrets === null) return false;
    const verified = await issuerOf(ctx, issuerName).verify(tokens.accessToken);
    if (verified.payload.sub !== secrets.sub)
      throw new TokenRejected('the new token is for another subject');
    refuseForbiddenClaims(verified.payload);
    const next: LivePayload = {
      ...payload,
      inner: ctx.sealSecrets(
        loaded.ticket,
        id,
        secretsOf(secrets.sub, { ...verified.payload }, tokens),
      ),
      kid: verified.header.kid ?? '',
      tokenExp: verified.payload.exp * 1000,
    };
    const sealed = await ctx.seal(id, record.subject, next);
    let written: boolean;
    try {
      written = await ctx.store.replace(
        { ...record, version: record.version + 1, payload: sealed },
        record.version,
      );
    } finally {
      // Whatever the store answered (or if it failed midway), this process
      // stops answering the old tokens from its cache at once (SEC-32), as
      // revoke does: the channel's own invalidation may be slow or lost.
      ctx.nearCache?.invalidate(id);
    }
    if (written) {
      ctx.emit({ type: 'session.touched', sessionId: id, tokenRenewed: true });
      return true;
    }
  }
  return false;
}
