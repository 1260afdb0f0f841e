// `pnpm --filter @cloakroom/bench format-cap`: where the memory-store resolve
// stands against the floor, layer by layer, in alternating rounds in one
// process (CPU microseconds per call, one in flight, median of the rounds).
//
//   floor (the bench's)  `pnpm bench`'s floor: SHA-256 of the ticket, a Map
//                        lookup, one AES-GCM open, JSON.parse, expiry check
//   floor, inline        the same steps written out in one function
//   + memory store       the same, the record read through the memory store
//                        (argument check, the payload copied out of the arena)
//   + the format         ticket parse, store read, Mt and Ms, one AES-GCM open
//                        under the data key, the frame decoded and
//                        shape-checked: core's own functions, no session logic
//   resolve              cloakroom.resolve: the above plus expiry, key state,
//                        policy and the answer object
//
// The steps between two layers are what each one costs over the floor.
import { hash } from 'node:crypto';
import { createAesGcmCipher, parseTicket, sessionIdOf } from '@cloakroom/core';
import { createMemoryStore } from '@cloakroom/store-memory';
// Internal modules of core (this package is private): the steps of the format-2 open.
import { recordMaskKeysOf } from '../../core/src/crypto/aes-gcm-cipher';
import { openBoundRecord } from '../../core/src/crypto/bound-record';
import { ticketMask } from '../../core/src/crypto/format';
import { decodePayload } from '../../core/src/crypto/payload-format';
import { CLAIMS, cloakroomOver, makeFixture } from './fixture';
import { floorOpen, floorOps } from './floor';
import { memoryFloor } from './floor-backend';
import { median } from './measure';

const SESSIONS = 1000;

/** CPU microseconds per call of `fn` over `n` sequential calls. */
async function cpuPerCall(n: number, fn: (i: number) => Promise<unknown>): Promise<number> {
  const cpu = process.cpuUsage();
  for (let i = 0; i < n; i++) await fn(i);
  const used = process.cpuUsage(cpu);
  return (used.user + used.system) / n;
}

async function main(): Promise<void> {
  const rounds = Number(process.argv[2] ?? 8);
  const calls = Number(process.argv[3] ?? 50_000);
  const fixture = await makeFixture();

  const store = createMemoryStore({ maxSessions: 10 * SESSIONS });
  const cloakroom = cloakroomOver(fixture, store);
  const tickets: string[] = [];
  for (let i = 0; i < SESSIONS; i++)
    tickets.push((await cloakroom.create(`p-${i % 97}`, { ...CLAIMS })).ticket);
  const first = await store.get(sessionIdOf(tickets[0] as string));
  if (first === null) throw new Error('format-cap: no record');

  // The floor, and the floor's own records copied into a second memory store.
  const backend = memoryFloor();
  const floor = floorOps(fixture, backend, first.payload.byteLength);
  const floorTickets: string[] = [];
  const floorStore = createMemoryStore({ maxSessions: 10 * SESSIONS });
  for (let i = 0; i < SESSIONS; i++) {
    const ticket = await floor.create(`p-${i % 97}`);
    const id = hash('sha256', ticket, 'base64url');
    const record = await backend.get(id);
    if (record === null) throw new Error('format-cap: no floor record');
    floorTickets.push(ticket);
    await floorStore.insert({
      id,
      subject: hash('sha256', record.subject, 'base64url'),
      expiresAt: record.expiresAt,
      version: 1,
      payload: record.payload,
    });
  }
  const key = fixture.storageKey;
  const masks = recordMaskKeysOf(createAesGcmCipher({ keys: fixture.keys }));
  if (masks === undefined) throw new Error('format-cap: the default cipher has mask keys');

  // The floor's resolve written out in one function, over either backend.
  const floorInline = async (
    i: number,
    get: (id: string) => Promise<{ readonly payload: Uint8Array } | null>,
  ) => {
    const ticket = floorTickets[i % SESSIONS] as string;
    const id = hash('sha256', ticket, 'base64url');
    const record = await get(id);
    if (record === null) throw new Error('format-cap: missed');
    const session = JSON.parse(floorOpen(key, record.payload, id).toString());
    if (session.exp <= Date.now()) throw new Error('format-cap: expired');
  };
  const layers: Array<[string, (i: number) => Promise<unknown>]> = [
    ["floor (the bench's)", (i) => floor.resolve(floorTickets[i % SESSIONS] as string)],
    ['floor, inline', (i) => floorInline(i, (id) => backend.get(id))],
    ['+ memory store', (i) => floorInline(i, (id) => floorStore.get(id))],
    [
      '+ the format',
      async (i) => {
        const ticket = parseTicket(tickets[i % SESSIONS]);
        const id = sessionIdOf(ticket);
        const record = await store.get(id);
        if (record === null) throw new Error('format-cap: missed');
        const mt = ticketMask(ticket);
        const { plain } = await openBoundRecord(masks, record.payload, id, record.subject, mt);
        if (decodePayload(plain)?.k !== 'live') throw new Error('format-cap: not live');
      },
    ],
    [
      'resolve',
      async (i) => {
        if ((await cloakroom.resolve(tickets[i % SESSIONS])) === null)
          throw new Error('format-cap: missed');
      },
    ],
  ];
  const perLayer = layers.map(() => [] as number[]);
  for (const [, fn] of layers) await cpuPerCall(calls / 5, fn);
  for (let round = 0; round < rounds; round++) {
    // The layer that goes first rotates, so drift hits every layer alike.
    for (let j = 0; j < layers.length; j++) {
      const k = (j + round) % layers.length;
      perLayer[k]?.push(await cpuPerCall(calls, (layers[k] as (typeof layers)[number])[1]));
    }
  }
  const medians = perLayer.map((values) => median(values));
  const floorUs = medians[0] as number;
  process.stdout.write(
    `memory store, 1 in flight, ${rounds} alternating rounds of ${calls} calls (median CPU µs per call)\n`,
  );
  process.stdout.write(
    '| layer | CPU µs | over the layer before | floor / layer |\n|---|--:|--:|--:|\n',
  );
  layers.forEach(([name], k) => {
    const us = medians[k] as number;
    const step = k === 0 ? '' : `+${(us - (medians[k - 1] as number)).toFixed(2)}`;
    process.stdout.write(
      `| ${name} | ${us.toFixed(2)} | ${step} | ${(floorUs / us).toFixed(2)}x |\n`,
    );
  });
  await cloakroom.close();
  await floor.close();
  await floorStore.close();
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exitCode = 1;
});
