// When `get` answers. The memory store finds a record at once, so an
// answer delivered at once would let a server finish each request in the
// same callback that read it: read one socket, answer it with its own
// write, go on to the next. Over HTTP that cost ~45% more server CPU per
// request than the Redis store, whose answers arrive together with one
// reply (docs/performance-http.md, "Why the memory store costs more CPU
// than Redis over HTTP": 76.7 against 52.8 µs; answering from the next
// turn, 53.6 µs). So `get` reads the table at call time, as before, and
// hands its answer over in the check phase of the event loop: every read
// made while the loop was reading sockets is answered together, after it.
//
// `setImmediate` from node:timers, not the global one: a test that fakes
// the global timers must not leave the store's reads waiting for a tick
// it never advances.
import { setImmediate as afterPoll } from 'node:timers';

/**
 * A function whose promise settles in the event loop's next check phase:
 * one `setImmediate` per turn, shared by every caller of that turn.
 * Internal.
 */
export function createAnswerTurn(): () => Promise<void> {
  let turn: Promise<void> | undefined;
  const schedule = (resolve: () => void): void => {
    afterPoll(() => {
      // Cleared here: the answers' continuations run after this callback, so a
      // read they make waits for the next turn instead of joining this one.
      turn = undefined;
      resolve();
    });
  };
  return () => {
    turn ??= new Promise<void>(schedule);
    return turn;
  };
}
