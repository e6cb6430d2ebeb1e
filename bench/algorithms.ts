/**
 * `npm run bench:algorithms`: every registered algorithm through the discrete-event simulator
 * (bench/sim), in virtual time, no sockets. Deterministic for a given seed.
 *
 *   node dist/bench/algorithms.js [--seed 1] [--duration 60000] [--load 0.6]
 */
import { parseArgs } from 'node:util'
import { algorithms } from '../algorithms/index.js'
import { report } from './sim/report.js'

const { values } = parseArgs({
  options: {
    seed: { type: 'string', default: '1' },
    duration: { type: 'string', default: '60000' },
    load: { type: 'string', default: '0.6' }
  }
})

const seed = Number(values.seed)
const durationMs = Number(values.duration)
const load = Number(values.load)
if (!Number.isInteger(seed) || !(durationMs > 0) || !(load > 0)) {
  process.stderr.write('usage: algorithms.js [--seed INT] [--duration MS] [--load FRACTION]\n')
  process.exit(2)
}
process.stdout.write(report(algorithms, { seed, durationMs, load }) + '\n')
