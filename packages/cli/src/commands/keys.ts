// `cloakroom keys init|status|rotate|compromise|rotate-master`: the
// rotating key set shared through the store. Never prints key material.
import { CliFailure, UsageError } from '../cli-errors';
import type { CommandContext } from '../context';
import { isoTime, table } from '../format';
import type { ExitCode } from '../io';
import type { KeySetStatus, KeyStatus } from '@cloakroom/core';
import { loadKeys, masterKeyInput, requireRotating } from '../keys-config';

function when(k: KeyStatus): string {
  switch (k.state) {
    case 'pending':
      return `activates ${isoTime(k.activatesAt)}`;
    case 'primary':
      return k.retiresAt === undefined
        ? `since ${isoTime(k.activatesAt)}`
        : `retires ${isoTime(k.retiresAt)}`;
    case 'retired':
      return k.expiresAt === undefined
        ? `retired ${isoTime(k.retiresAt ?? k.activatesAt)}, kept until disabled`
        : `verifies until ${isoTime(k.expiresAt)}`;
    case 'disabled':
      return k.disabledAt === undefined ? 'disabled' : `disabled ${isoTime(k.disabledAt)}`;
    default:
      return 'destroyed';
  }
}

function keyRow(k: KeyStatus): string[] {
  const extra = k.kind === 'signing' ? (k.alg ?? '') : `seals ${k.seals ?? 0}`;
  return [`  ${k.id}`, k.state, extra, when(k)];
}

function printStatus(ctx: CommandContext, status: KeySetStatus): void {
  if (ctx.json) {
    ctx.printJson({ type: 'rotating', ...status });
    return;
  }
  ctx.print(
    `key set "${status.name}" (version ${status.version}, master key ${status.masterKeyId})`,
  );
  ctx.print('signing keys:');
  for (const line of table(status.signing.map(keyRow))) ctx.print(line);
  ctx.print('storage keys:');
  for (const line of table(status.storage.map(keyRow))) ctx.print(line);
  if (status.lastError !== undefined) ctx.print(`last error: ${status.lastError.code}`);
}

/** Run `keys init`: create the rotating key set when absent, then show it. */
export async function keysInit(ctx: CommandContext): Promise<ExitCode> {
  const keys = await loadKeys(ctx, { create: true });
  const provider = requireRotating(keys, 'keys init');
  printStatus(ctx, await provider.status());
  return 0;
}

/** Run `keys status`. Static keys show their ids only. */
export async function keysStatus(ctx: CommandContext): Promise<ExitCode> {
  const keys = await loadKeys(ctx);
  if (keys.kind === 'rotating') {
    printStatus(ctx, await keys.provider.status());
    return 0;
  }
  const ring = await keys.provider.storageKeys();
  const jwks = await keys.provider.jwks();
  const signing = jwks.keys.map((k, i) => ({
    id: k.kid,
    alg: k.alg,
    state: i === 0 ? 'primary' : 'retired',
  }));
  const storage = ring.keys.map((k) => ({ id: k.id, state: k.state }));
  if (ctx.json) {
    ctx.printJson({ type: 'static', signing, storage });
    return 0;
  }
  ctx.print('static keys (from the keys file)');
  ctx.print('signing keys:');
  for (const line of table(signing.map((k) => [`  ${k.id}`, k.state, k.alg]))) ctx.print(line);
  ctx.print('storage keys:');
  for (const line of table(storage.map((k) => [`  ${k.id}`, k.state]))) ctx.print(line);
  return 0;
}

/** Run `keys rotate [signing|storage]` (both when no kind is given). */
export async function keysRotate(ctx: CommandContext): Promise<ExitCode> {
  const kind = ctx.args[0];
  if (kind !== undefined && kind !== 'signing' && kind !== 'storage') {
    throw new UsageError('keys rotate takes signing or storage (or nothing for both)');
  }
  const provider = requireRotating(await loadKeys(ctx), 'keys rotate');
  const kinds: readonly ('signing' | 'storage')[] =
    kind === undefined ? ['signing', 'storage'] : [kind];
  const rotated: KeyStatus[] = [];
  for (const k of kinds) rotated.push(await provider.rotate(k));
  const status = await provider.status();
  if (ctx.json) {
    ctx.printJson({ rotated, status: { type: 'rotating', ...status } });
    return 0;
  }
  for (const k of rotated) {
    ctx.print(`new ${k.kind} key ${k.id}: ${k.state}, primary from ${isoTime(k.activatesAt)}`);
  }
  printStatus(ctx, status);
  return 0;
}

async function disableCommand(ctx: CommandContext, routine: boolean): Promise<ExitCode> {
  const verb = routine ? 'disable' : 'compromise';
  const id = ctx.args[0];
  if (id === undefined || !/^[A-Za-z0-9_-]{1,64}$/.test(id)) {
    throw new UsageError(
      `keys ${verb} needs the key id (a kid or storage key id, as \`keys status\` shows)`,
    );
  }
  const provider = requireRotating(await loadKeys(ctx), `keys ${verb}`);
  const before = await provider.status();
  if (![...before.signing, ...before.storage].some((k) => k.id === id)) {
    throw new CliFailure(`no key with id ${id} in key set "${before.name}"`);
  }
  const status = routine ? await provider.disable(id) : await provider.compromise(id);
  if (ctx.json) {
    ctx.printJson({
      [routine ? 'disabled' : 'compromised']: id,
      status: { type: 'rotating', ...status },
    });
    return 0;
  }
  ctx.print(`key ${id} is disabled: tokens and sessions under it no longer verify or open`);
  printStatus(ctx, status);
  return 0;
}

/** Run `keys compromise <id>`: disable a signing or storage key at once, even a primary. */
export function keysCompromise(ctx: CommandContext): Promise<ExitCode> {
  return disableCommand(ctx, false);
}

/** Run `keys disable <id>`: routine retirement of a retired or pending key (refuses a primary). */
export function keysDisable(ctx: CommandContext): Promise<ExitCode> {
  return disableCommand(ctx, true);
}

/** Run `keys rotate-master`: re-seal the key set under a new master key. */
export async function keysRotateMaster(ctx: CommandContext): Promise<ExitCode> {
  const next = masterKeyInput(ctx, 'new');
  if (next === undefined) {
    throw new UsageError(
      'keys rotate-master needs the new master key in CLOAKROOM_NEW_MASTER_KEY or --new-master-key-file FILE',
    );
  }
  const provider = requireRotating(await loadKeys(ctx), 'keys rotate-master');
  const before = await provider.status();
  const status = await provider.rotateMasterKey(next);
  if (ctx.json) {
    ctx.printJson({
      previousMasterKeyId: before.masterKeyId,
      status: { type: 'rotating', ...status },
    });
    return 0;
  }
  ctx.print(
    `key set "${status.name}" is now sealed under master key ${status.masterKeyId} (was ${before.masterKeyId}); give every instance the new master key`,
  );
  return 0;
}
