// Proves `@cloakroom/core/web` runs on a Web-standard platform: bundles the
// built entry for the browser with esbuild (a Node built-in anywhere in its
// graph fails the build), then runs the bundle in a bare V8 context that has
// no `require`, `process` or `Buffer`, and reads and writes a ticket cookie.
// Run after `pnpm build`.

import { createContext, runInContext } from 'node:vm';
import { build } from 'esbuild';

const entry = process.argv[2]
  ? new URL(`file://${process.argv[2]}`)
  : new URL('../packages/core/dist/web.js', import.meta.url);
const out = await build({
  entryPoints: [entry.pathname],
  bundle: true,
  platform: 'browser',
  format: 'iife',
  globalName: 'cloakroomWeb',
  write: false,
  logLevel: 'silent',
  metafile: true,
}).catch((error) => {
  for (const e of error.errors ?? []) console.error(`check-web-bundle: ${e.text}`);
  console.error('check-web-bundle: @cloakroom/core/web does not bundle for the browser platform');
  process.exit(1);
});

const code = out.outputFiles[0].text;
const inputs = Object.keys(out.metafile.inputs);
const nodeish = inputs.filter((i) => /^node:|(^|\/)(crypto|http|https|tls|net|fs)$/.test(i));
if (nodeish.length > 0) {
  console.error(`check-web-bundle: Node modules in the web bundle: ${nodeish.join(', ')}`);
  process.exit(1);
}

// A bare context: only the ECMAScript globals, like an isolate without Node.
const sandbox = createContext({});
runInContext(code, sandbox);
const check = runInContext(
  `(() => {
    const { readTicketCookie, serializeTicketCookie, parseTicket, TICKET_PREFIX } = cloakroomWeb;
    const ticket = TICKET_PREFIX + 'A'.repeat(43);
    const header = serializeTicketCookie(ticket, { expiresAt: Date.UTC(2030, 0, 1) });
    const back = readTicketCookie(header.split(';')[0] + '; other=1');
    let refused = false;
    try { parseTicket('cr1_../../etc'); } catch (e) { refused = e.code === 'ERR_TICKET_MALFORMED'; }
    return { same: back === ticket, parsed: parseTicket(ticket) === ticket, refused, header };
  })()`,
  sandbox,
);
if (!check.same || !check.parsed || !check.refused || !/^__Host-/.test(check.header)) {
  console.error(
    `check-web-bundle: the bundle misbehaved: ${JSON.stringify({ ...check, header: undefined })}`,
  );
  process.exit(1);
}
const kib = (Buffer.byteLength(code) / 1024).toFixed(1);
console.log(
  `check-web-bundle: @cloakroom/core/web bundles for the browser platform (${inputs.length} modules, ${kib} KiB, no Node built-in) and reads/writes the ticket cookie in a bare V8 context`,
);
