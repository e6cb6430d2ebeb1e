/**
 * Shared by the parts of `npm run bench` (bench/run.ts): the one address everything listens on
 * and the one way a line reaches stdout.
 */

/** Backends, echo servers and the gateway all listen here; load goes nowhere else. */
export const HOST = '127.0.0.1'

/** Writes one line to stdout (synchronously ordered with the other lines of the bench). */
export const out = (line = ''): void => { process.stdout.write(line + '\n') }
