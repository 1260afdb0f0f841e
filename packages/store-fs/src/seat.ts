/** The last stamp this process handed out. */
let last = 0;

/**
 * The stamp of a seat taken now: microseconds since the epoch (wall clock,
 * so processes sharing a directory agree to the millisecond), strictly
 * increasing within this process, and above `after` (a caller holding the
 * subject's lock passes the subject's latest stamp, so its seat sorts last
 * even if the clock stepped back). Safe integers until the year 2255.
 */
export function seatStamp(after = -1): number {
  const stamp = Math.max(Date.now() * 1000, last + 1, after + 1);
  last = stamp;
  return stamp;
}
