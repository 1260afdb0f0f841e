// create and refresh draw a ticket and the record's data key in one CSPRNG
// call (generateTicketAndKey): both halves must be full-strength and
// unrelated, and the ticket exactly what generateTicket makes.
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { parseTicket } from '../../src/ticket/ticket-shape';
import { generateTicketAndKey } from '../../src/ticket/ticket';

const bitCounts = (rows: Uint8Array[]) => {
  const ones = new Array<number>(256).fill(0);
  for (const bytes of rows) {
    for (let bit = 0; bit < 256; bit++) {
      if (((bytes[bit >> 3] as number) >> (bit & 7)) & 1) ones[bit] = (ones[bit] as number) + 1;
    }
  }
  return ones;
};

describe('SEC-01 generateTicketAndKey', () => {
  afterEach(() => vi.restoreAllMocks());

  it('SEC-01 tickets are well-formed and distinct; keys are 32 bytes and distinct', () => {
    const tickets = new Set<string>();
    const keys = new Set<string>();
    for (let i = 0; i < 20_000; i++) {
      const { ticket, dataKey } = generateTicketAndKey();
      expect(parseTicket(ticket)).toBe(ticket);
      expect(dataKey).toBeInstanceOf(Uint8Array);
      expect(dataKey.byteLength).toBe(32);
      tickets.add(ticket);
      keys.add(Buffer.from(dataKey).toString('hex'));
    }
    expect(tickets.size).toBe(20_000);
    expect(keys.size).toBe(20_000);
  });

  it('SEC-01 every bit of the ticket, of the key, and of ticket XOR key varies (no shared or fixed bytes)', () => {
    const n = 4000;
    const t: Uint8Array[] = [];
    const k: Uint8Array[] = [];
    const x: Uint8Array[] = [];
    for (let i = 0; i < n; i++) {
      const { ticket, dataKey } = generateTicketAndKey();
      const tb = Buffer.from(ticket.slice(4), 'base64url');
      t.push(tb);
      k.push(Uint8Array.from(dataKey));
      x.push(tb.map((b, j) => b ^ (dataKey[j] as number)));
    }
    // Binomial(4000, 0.5): sd ≈ 32; 10 sd either side never fails by chance.
    for (const counts of [bitCounts(t), bitCounts(k), bitCounts(x)]) {
      for (const c of counts) {
        expect(c).toBeGreaterThan(n / 2 - 320);
        expect(c).toBeLessThan(n / 2 + 320);
      }
    }
  });

  it('SEC-01 the ticket half of the draw is wiped once encoded; the key is not', () => {
    const { ticket, dataKey } = generateTicketAndKey();
    const whole = new Uint8Array(dataKey.buffer, dataKey.byteOffset - 32, 64);
    expect(whole.subarray(0, 32).every((b) => b === 0)).toBe(true);
    expect(Buffer.from(whole.subarray(32)).equals(Buffer.from(dataKey))).toBe(true);
    expect(Buffer.from(ticket.slice(4), 'base64url').equals(Buffer.from(dataKey))).toBe(false);
  });

  it('SEC-01 comes from the CSPRNG, not Math.random', () => {
    const spy = vi.spyOn(Math, 'random').mockReturnValue(0.5);
    fc.assert(
      fc.property(fc.constant(0), () => {
        const a = generateTicketAndKey();
        const b = generateTicketAndKey();
        return a.ticket !== b.ticket && !Buffer.from(a.dataKey).equals(Buffer.from(b.dataKey));
      }),
      { numRuns: 200 },
    );
    expect(spy).not.toHaveBeenCalled();
  });
});
