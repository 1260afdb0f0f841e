// The life of a session, on the embedded memory store, with nothing to set up.
// Run from the repository root: `pnpm demo`.
import {
  type CloakroomEvent,
  createCloakroom,
  generateSecret,
  generateSigningKey,
  readTicketCookie,
  serializeTicketCookie,
  staticKeys,
} from '@cloakroom/core';
import { createMemoryStore } from '@cloakroom/store-memory';

const bold = (s: string) => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s);
const dim = (s: string) => (process.stdout.isTTY ? `\x1b[2m${s}\x1b[0m` : s);
let step = 0;
const heading = (title: string) => console.log(`\n${bold(`${++step}. ${title}`)}`);
const say = (text: string) => console.log(`   ${text}`);
const short = (s: string, n = 24) => (s.length > n ? `${s.slice(0, n)}…` : s);

// A clock we can move forward, so the demo can show what happens later without waiting.
let offset = 0;
const clock = () => Date.now() + offset;

const events: CloakroomEvent[] = [];
const signing = await generateSigningKey('EdDSA');
const store = createMemoryStore({ clock });
const cloakroom = createCloakroom({
  store,
  keys: staticKeys({
    signing: [{ alg: 'EdDSA', privateKey: signing.privateJwk }],
    storage: [{ key: generateSecret() }],
    index: generateSecret(),
  }),
  issuer: 'https://auth.demo.test',
  audience: 'https://api.demo.test',
  ttl: { idle: 30 * 60_000, absolute: 8 * 3600_000, token: 15 * 60_000 },
  refreshGraceMs: 10_000,
  clock,
  onEvent: (e) => events.push(e),
});
const lastEvent = () => {
  const e = events.at(-1);
  return e ? dim(`event: ${JSON.stringify({ ...e, at: undefined })}`) : '';
};

console.log(bold('Cloakroom demo: the JWT stays on the server; the browser holds a ticket.'));

heading('Sign-in: create a session for alice');
const created = await cloakroom.create(
  'alice@example.com',
  { role: 'editor', plan: 'pro' },
  { label: 'Firefox on Linux' },
);
say(`The client gets only this opaque ticket (256 random bits): ${created.ticket}`);
say(
  `…sent as a cookie: ${serializeTicketCookie(created.ticket, { expiresAt: created.absoluteExpiresAt, now: clock() }).replace(created.ticket, short(created.ticket, 12))}`,
);
say(lastEvent());

heading('What the store holds (all a database dump would show)');
const page = await store.scan({ limit: 10 });
for (const r of page.records) {
  const text = Buffer.from(r.payload).toString('latin1');
  say(`id       ${r.id}   ${dim('(SHA-256 of the ticket)')}`);
  say(`subject  ${r.subject}   ${dim('(HMAC of the user id)')}`);
  say(`version  ${r.version}, expires ${new Date(r.expiresAt).toISOString()}`);
  say(
    `payload  ${Buffer.from(r.payload.subarray(0, 32)).toString('hex')}… (${r.payload.length} bytes, AES-256-GCM)`,
  );
  say(
    `Does the payload contain "alice", "editor" or the token's "eyJ"? ${/alice|editor|eyJ/.test(text) ? 'YES (bug!)' : 'no'}`,
  );
  say(
    `Does anything stored contain the ticket? ${JSON.stringify({ ...r, payload: text }).includes(created.ticket.slice(4)) ? 'YES (bug!)' : 'no'}`,
  );
}

heading('A request arrives: resolve the ticket from the cookie');
const ticketFromCookie = readTicketCookie(`theme=dark; __Host-cloakroom=${created.ticket}`);
const session = await cloakroom.resolve(ticketFromCookie);
say(`subject ${session?.subject}, claims ${JSON.stringify(session?.claims)}`);
say(`token for the API (server-side only): ${short(session?.token ?? '', 40)}`);
const verified = await cloakroom.verify(session?.token);
say(
  `a resource server verifies it with the JWKS: alg ${verified.header.alg}, sub ${verified.payload.sub}, exp ${new Date(verified.payload.exp * 1000).toISOString()}`,
);

heading('Privilege change: refresh issues a new ticket and kills the old one');
const refreshed = await cloakroom.refresh(created.ticket, {
  claims: { role: 'admin', plan: 'pro' },
});
say(`new ticket: ${short(refreshed?.ticket ?? '', 16)}  (old: ${short(created.ticket, 16)})`);
say(
  `old ticket resolves to: ${JSON.stringify(await cloakroom.resolve(created.ticket))}   ${lastEvent()}`,
);
say(`new ticket resolves to role: ${(await cloakroom.resolve(refreshed?.ticket))?.claims.role}`);
const raced = await cloakroom.refresh(created.ticket);
say(
  `a racing tab refreshing the old ticket within the grace window gets the same successor: ${raced?.ticket === refreshed?.ticket}`,
);

heading('An attacker replays the stolen old ticket a minute later');
offset += 60_000;
say(`old ticket: ${JSON.stringify(await cloakroom.refresh(created.ticket))}   ${lastEvent()}`);
say(
  `the whole family is revoked, so the current ticket is dead too: ${JSON.stringify(await cloakroom.resolve(refreshed?.ticket))}`,
);

heading('Sign-in on two devices, list them, sign out of one');
const laptop = await cloakroom.create('alice@example.com', {}, { label: 'laptop' });
const phone = await cloakroom.create('alice@example.com', {}, { label: 'phone' });
const me = { subject: 'alice@example.com' };
for (const s of await cloakroom.listSessions('alice@example.com', me)) {
  say(
    `session ${short(s.sessionId, 10)} ${s.label}, last seen ${new Date(s.lastSeenAt).toISOString()}`,
  );
}
await cloakroom.revoke(phone.ticket);
say(
  `after logout on the phone: phone ${JSON.stringify(await cloakroom.resolve(phone.ticket))}, laptop still ${(await cloakroom.resolve(laptop.ticket)) ? 'signed in' : 'signed out'}`,
);
say(
  `"sign out everywhere" removed ${await cloakroom.revokeSubject('alice@example.com', me)} session(s)`,
);

heading('Idle timeout');
const idle = await cloakroom.create('bob@example.com');
offset += 30 * 60_000 + 10_000;
say(
  `bob's session after 30 idle minutes and 10 seconds: ${JSON.stringify(await cloakroom.resolve(idle.ticket))} (the audit trail says why: expired, idle)`,
);

heading('The published JWKS (public keys only) for resource servers');
say(JSON.stringify(await cloakroom.jwks()));

heading('Audit trail (hashed ids only: no tickets, tokens or user ids)');
for (const e of events.slice(-6)) say(dim(JSON.stringify({ ...e, at: undefined })));

await cloakroom.close();
console.log(
  `\n${bold('Done.')} Every check above ran against the real library. Try \`pnpm test\` next.`,
);
