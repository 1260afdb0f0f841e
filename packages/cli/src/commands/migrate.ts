// `cloakroom migrate [--print]`: PostgreSQL tables, applied or printed.
import { UsageError } from '../cli-errors';
import { loadBackend } from '../connect';
import type { CommandContext } from '../context';
import type { ExitCode } from '../io';
import { parseStoreUrl } from '../store-url';

/** Run `migrate`. `--print` needs no connection (and no store URL: defaults apply). */
export async function migrateCommand(ctx: CommandContext): Promise<ExitCode> {
  const text = ctx.option('store') ?? ctx.io.env.CLOAKROOM_STORE_URL;
  const spec = text === undefined || text === '' ? undefined : parseStoreUrl(text);
  if (spec !== undefined && spec.kind !== 'postgres') {
    throw new UsageError(
      `migrate is for postgres:// stores; a ${spec.kind} store needs no migration`,
    );
  }
  if (ctx.flag('print')) {
    const names = {
      ...(spec?.kind === 'postgres' && spec.schema !== undefined ? { schema: spec.schema } : {}),
      ...(spec?.kind === 'postgres' && spec.table !== undefined ? { table: spec.table } : {}),
    };
    const { migrationSql } = await loadBackend(
      'postgres',
      () => import('@cloakroom/store-postgres'),
    );
    const sql = migrationSql(names);
    if (ctx.json) ctx.printJson({ sql });
    else ctx.io.stdout(sql.endsWith('\n') ? sql : `${sql}\n`);
    return 0;
  }
  const conn = await ctx.connect();
  const result = await (conn.migrate as NonNullable<typeof conn.migrate>)();
  if (ctx.json) ctx.printJson(result);
  else if (result.applied.length === 0) ctx.print('schema is current: nothing to apply');
  else
    for (const m of result.applied) ctx.print(`applied ${m.table} v${m.version}: ${m.description}`);
  return 0;
}
