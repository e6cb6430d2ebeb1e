/**
 * Command line of `npm run bench`. parseOptions() returns every option validated, with its
 * default; it throws an Error whose message names the bad flag (the caller prints it with USAGE
 * and exits 2). --help prints USAGE and exits 0 right here.
 */
import { parseArgs } from 'node:util'

export interface Options { duration: number, connections: number, body: number, warmup: number, accessLog: boolean, metrics: boolean }

export const USAGE = `usage: node dist/bench/run.js [--duration S] [--connections C] [--body BYTES] [--warmup S] [--access-log] [--no-metrics]
  --duration S     measured seconds per target, 1-300 (default 10)
  --connections C  concurrent keep-alive connections, 1-1000 (default 64)
  --body BYTES     POST a body of this size instead of GET, 0-16777216 (default 0: GET)
  --warmup S       uncounted seconds per target before measuring, 0-60 (default 2)
  --access-log     run the gateway with log level info and access lines (to a file)
  --no-metrics     run the gateway with metrics.enabled: false (to measure what metrics cost)
`

function intOption (name: string, raw: string | undefined, def: number, min: number, max: number): number {
  if (raw === undefined) return def
  const n = Number(raw)
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`--${name} must be an integer from ${min} to ${max}, got "${raw}"`)
  return n
}

export function parseOptions (argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      duration: { type: 'string' },
      connections: { type: 'string' },
      body: { type: 'string' },
      warmup: { type: 'string' },
      'access-log': { type: 'boolean', default: false },
      'no-metrics': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false }
    }
  })
  if (values.help === true) { process.stdout.write(USAGE); process.exit(0) }
  return {
    duration: intOption('duration', values.duration, 10, 1, 300),
    connections: intOption('connections', values.connections, 64, 1, 1000),
    body: intOption('body', values.body, 0, 0, 16 * 1024 * 1024),
    warmup: intOption('warmup', values.warmup, 2, 0, 60),
    accessLog: values['access-log'] === true,
    metrics: values['no-metrics'] !== true
  }
}
