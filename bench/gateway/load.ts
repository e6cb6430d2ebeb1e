/**
 * HTTP load of `npm run bench`, with autocannon: measure() runs an uncounted warm-up (if any),
 * then the measured run, against one URL, and returns its row of the table. One run at a time.
 *
 * stopLoad() stops the run in progress and makes every later load (here and in
 * measure-streams.ts, through throwIfStopped()) throw 'stopped' instead of starting: cleanup
 * calls it, so nothing keeps loading a gateway that is being shut down (loop.ts's loops stop
 * between operations, through isStopping()).
 *
 * https URLs work too: autocannon connects with tls.connect (no certificate check, no ALPN, so
 * HTTP/1.1) and keeps its connections alive like plain ones. `servername` is the SNI it sends.
 */
import { createRequire } from 'node:module'
import { out } from './common.js'
import type { Options } from './options.js'

// autocannon ships no type declarations (and no @types package is installed): this is the part
// of its programmatic API used here. The instance is a thenable with stop().
interface CannonOptions {
  url: string
  connections: number
  duration: number
  method?: string
  body?: Buffer
  headers?: Record<string, string>
  servername?: string
}
interface CannonResult {
  requests: { mean: number }
  latency: { p50: number, p99: number }
  non2xx: number
  errors: number
  timeouts: number
  '2xx': number
}
interface CannonInstance extends PromiseLike<CannonResult> { stop (): void }
type Autocannon = (opts: CannonOptions) => CannonInstance
/** Loaded on first use (it is CommonJS, hence createRequire). */
let autocannon: Autocannon | undefined

/** One line of the table: autocannon's latency is in whole milliseconds. */
export interface Row { target: string, rps: number, p50: number, p99: number, non2xx: number, errors: number }

/** The run in progress, so cleanup can stop it; `stopping` keeps a new one from starting after that. */
let current: CannonInstance | undefined
let stopping = false

export function stopLoad (): void {
  stopping = true
  current?.stop()
}

/** True once cleanup has begun: the other load loops (loop.ts) check it between operations. */
export function isStopping (): boolean {
  return stopping
}

export function throwIfStopped (): void {
  if (stopping) throw new Error('stopped')
}

async function load (url: string, opts: Options, seconds: number): Promise<CannonResult> {
  throwIfStopped()
  const body = opts.body > 0 ? Buffer.alloc(opts.body, 0x61) : undefined
  autocannon ??= createRequire(import.meta.url)('autocannon') as Autocannon
  current = autocannon({
    url,
    connections: opts.connections,
    duration: seconds,
    // SNI must be a host name (an IP address there is refused by RFC 6066, and Node warns).
    ...(url.startsWith('https:') && { servername: 'localhost' }),
    ...(body !== undefined && { method: 'POST', body, headers: { 'content-type': 'application/octet-stream' } })
  })
  try {
    return await current
  } finally {
    current = undefined
  }
}

export async function measure (target: string, url: string, opts: Options): Promise<Row> {
  if (opts.warmup > 0) {
    out(`  ${target}: warm-up ${opts.warmup} s ...`)
    await load(url, opts, opts.warmup)
  }
  out(`  ${target}: measuring ${opts.duration} s ...`)
  const r = await load(url, opts, opts.duration)
  return { target, rps: r.requests.mean, p50: r.latency.p50, p99: r.latency.p99, non2xx: r.non2xx, errors: r.errors + r.timeouts }
}
