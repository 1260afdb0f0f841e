import type { SessionRecord, SessionStore } from '@cloakroom/core';
import { ConformanceFailure, type SuiteClock } from './harness';
import { labelledId } from './records';

/** Ids and subjects the generated commands pick from: few, so they collide often. */
export const ID_POOL: readonly string[] = Array.from({ length: 6 }, (_, i) =>
  labelledId(`id-${i}`),
);
export const SUBJECT_POOL: readonly string[] = Array.from({ length: 3 }, (_, i) =>
  labelledId(`subject-${i}`),
);

/** Where a record stands at a given time, allowing for the backend's expiry granularity. */
export type Life = 'alive' | 'dead' | 'unsure';

/** Alive while `now <= expiresAt - g`, dead from `now >= expiresAt + g - 1`, unsure in between. */
export function lifeOf(expiresAt: number, now: number, g: number): Life {
  if (now <= expiresAt - g) return 'alive';
  if (now >= expiresAt + g - 1) return 'dead';
  return 'unsure';
}

/**
 * When a record took its seat (for `insertWithLimit`): between `lo` and `hi`
 * on the store's clock, read before and after the call. One seat is surely
 * earlier than another only when its `hi` is below the other's `lo`; closer
 * seats are ties, which a store may order either way.
 */
export interface Seat {
  readonly lo: number;
  readonly hi: number;
}

/**
 * The reference the store is compared with: every record the store may still
 * hold, live or dead. Dead records stay until something overwrites or sweeps
 * them, because a store is allowed to keep them (unreturned) until then.
 */
export class SessionModel {
  readonly records = new Map<string, SessionRecord>();
  /**
   * Seats by record id (only tracked when the store has `insertWithLimit`):
   * absent means seatless (a rotate's old record), `'unknown'` a seat the
   * contract leaves open (a rotate from a seatless record, or into another
   * subject); no limit command runs on a subject with an unknown seat live.
   */
  readonly seats = new Map<string, Seat | 'unknown'>();
  /** Virtual-time step; every expiry and clock move is a multiple of it, so boundaries are hit exactly. */
  readonly unit: number;
  /** Added to generated expiries so that, with a coarse backend, no check lands in the unsure window. */
  private readonly offset: number;

  /**
   * With a virtual clock and exact expiry, every seat-taking command first
   * moves the clock 1 ms on, so seats never tie and their order is checked
   * exactly (a store may order seats by its clock).
   */
  readonly seatStep: boolean;

  constructor(
    readonly clock: SuiteClock,
    readonly g: number,
    /** True when the store has `insertWithLimit`: seats are tracked and checked. */
    readonly limits = false,
  ) {
    this.unit = g <= 1 ? 1000 : Math.max(1000, 2 * g);
    this.offset = g <= 1 ? 0 : g;
    this.seatStep = limits && clock.virtual && g <= 1;
  }

  /** An expiry `steps` units from now; in real time, far in the past (steps <= 0) or an hour+ ahead. */
  expiry(steps: number): number {
    const now = this.clock.now();
    if (this.clock.virtual) return now + steps * this.unit + this.offset;
    return steps <= 0 ? now - this.g - 1000 * (1 - steps) : now + 3_600_000 * steps;
  }

  life(record: SessionRecord): Life {
    const life = lifeOf(record.expiresAt, this.clock.now(), this.g);
    if (life === 'unsure') {
      throw new ConformanceFailure(
        `suite bug: model landed inside the expiry tolerance of ${record.id}`,
      );
    }
    return life;
  }

  /** The live record with this id, if any. */
  live(id: string): SessionRecord | undefined {
    const record = this.records.get(id);
    return record && this.life(record) === 'alive' ? record : undefined;
  }

  liveRecords(): SessionRecord[] {
    return [...this.records.values()].filter((r) => this.life(r) === 'alive');
  }

  deadRecords(): SessionRecord[] {
    return [...this.records.values()].filter((r) => this.life(r) === 'dead');
  }

  liveOfSubject(subject: string): SessionRecord[] {
    return this.liveRecords().filter((r) => r.subject === subject);
  }

  /** Drops a record and its seat. */
  drop(id: string): void {
    this.records.delete(id);
    this.seats.delete(id);
  }
}

/** The real system the commands drive. */
export type ModelReal = SessionStore;
