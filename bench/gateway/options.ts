/**
 * Command line of `npm run bench`. parseOptions() returns every option validated, with its
 * default; it throws an Error whose message names the bad flag (the caller prints it with USAGE
 * and exits 2). --help prints USAGE and exits 0 right here.
 *
 * --mode picks what is measured (bench/gateway/modes.ts); http, the default, is the original
 * bench and its output. In h2 and grpc modes --connections counts HTTP/2 connections (gRPC
 * channels), each carrying --streams requests at once, so the default 4 x 16 keeps as many
 * requests in flight as http's 64 keep-alive connections.
 */
import { parseArgs } from 'node:util'

export const MODES = ['http', 'tls', 'h2', 'grpc'] as const
export type Mode = typeof MODES[number]

export interface Options { mode: Mode, duration: number, connections: number, streams: number, body: number, warmup: number, accessLog: boolean, metrics: boolean }

export const USAGE = `usage: node dist/bench/run.js [--mode http|tls|h2|grpc] [--duration S] [--connections C] [--streams N] [--body BYTES] [--warmup S] [--access-log] [--no-metrics]
  --mode M         http (default): HTTP/1.1 keep-alive, WebSocket and TCP, direct and through the gateway
                   tls: HTTPS keep-alive and new TLS connections per second (full and resumed handshakes)
                   h2: HTTP/2 over TLS to the gateway, to HTTP/1.1 and to h2c backends
                   grpc: unary gRPC calls, direct and through the gateway (h2c and TLS listeners)
  --duration S     measured seconds per target, 1-300 (default 10)
  --connections C  concurrent connections, 1-1000 (default 64; h2 and grpc: HTTP/2 connections, default 4)
  --streams N      h2 and grpc: requests in flight per connection, 1-1000 (default 16)
  --body BYTES     http and tls: POST a body of this size instead of GET, 0-16777216 (default 0: GET)
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

function modeOption (raw: string | undefined): Mode {
  if (raw === undefined) return 'http'
  if (!(MODES as readonly string[]).includes(raw)) throw new Error(`--mode must be one of ${MODES.join(', ')}, got "${raw}"`)
  return raw as Mode
}

export function parseOptions (argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      mode: { type: 'string' },
      duration: { type: 'string' },
      connections: { type: 'string' },
      streams: { type: 'string' },
      body: { type: 'string' },
      warmup: { type: 'string' },
      'access-log': { type: 'boolean', default: false },
      'no-metrics': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false }
    }
  })
  if (values.help === true) { process.stdout.write(USAGE); process.exit(0) }
  const mode = modeOption(values.mode)
  const multiplexed = mode === 'h2' || mode === 'grpc'
  return {
    mode,
    duration: intOption('duration', values.duration, 10, 1, 300),
    connections: intOption('connections', values.connections, multiplexed ? 4 : 64, 1, 1000),
    streams: intOption('streams', values.streams, 16, 1, 1000),
    body: intOption('body', values.body, 0, 0, 16 * 1024 * 1024),
    warmup: intOption('warmup', values.warmup, 2, 0, 60),
    accessLog: values['access-log'] === true,
    metrics: values['no-metrics'] !== true
  }
}
