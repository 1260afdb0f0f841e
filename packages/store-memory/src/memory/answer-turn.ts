// When `get` answers. The memory store finds a record at once, so an
// answer delivered at once would let a busy server finish each request in
// the same callback that read it: read one socket, answer it with its own
// write, go on to the next. Over HTTP that cost ~45% more server CPU per
// request than the Redis store, whose answers arrive together with one
// reply (docs/performance-http.md, "Why the memory store costs more CPU
// than Redis over HTTP": 76.7 against 52.8 µs; answering from the next
// turn, 53.6 µs). But a server with one request at a time gains nothing
// from waiting: it pays a whole turn of the loop per request (−8% at one
// connection). So `get` reads the table at call time, always, and then:
//
// - while the loop is busy (the last turn it finished held two reads or
//   more), hands its answer over in the check phase of the event loop:
//   every read made while the loop was reading sockets is answered
//   together, after it;
// - while it is not (the last finished turn held one read at most),
//   answers at once.
//
// A turn is counted from its first read to the check phase that follows it.
//
// `setImmediate` from node:timers, not the global one: a test that fakes
// the global timers must not leave the store's reads waiting for a tick
// it never advances.
import { setImmediate as afterPoll } from 'node:timers';

/**
 * Counts the reads of each turn of the event loop and says when a read's
 * answer is handed over: `undefined` (at once) while the last finished turn
 * held one read at most, else a promise that settles in this turn's check
 * phase, shared by every read of the turn. Internal.
 */
export function createAnswerTurn(): () => Promise<void> | undefined {
  /** Reads since this turn's first one; 0 when no turn is open. */
  let reads = 0;
  /** How many reads the last finished turn held. */
  let lastTurn = 0;
  /** The hand-over of this turn's waiting reads, when one waits. */
  let handOver: Promise<void> | undefined;
  let release: (() => void) | undefined;

  const endTurn = (): void => {
    // Reset before the waiting reads are released: their continuations run
    // after this callback, so a read they make opens the next turn.
    lastTurn = reads;
    reads = 0;
    const waiting = release;
    handOver = undefined;
    release = undefined;
    waiting?.();
  };

  return () => {
    if (reads++ === 0) afterPoll(endTurn);
    if (lastTurn <= 1) return undefined;
    handOver ??= new Promise<void>((resolve) => {
      release = resolve;
    });
    return handOver;
  };
}
