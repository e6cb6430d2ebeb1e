/**
 * What `npm run bench` prints, apart from the progress lines of the runs: the header (setup and
 * how to read the numbers), the HTTP table with the gateway/direct ratio and warnings, and the
 * one-line JSON summary that comes last (for notes; its keys are a stable format).
 */
import { statSync } from 'node:fs'
import { out } from './common.js'
import type { Row } from './load.js'
import type { StreamsSummary } from './measure-streams.js'
import type { ModeResult } from './modes.js'
import type { Options } from './options.js'

export function printHeader (opts: Options, cores: number): void {
  if (opts.mode !== 'http') { printModeHeader(opts, cores); return }
  out(`UltraBalancer bench: node ${process.version}, ${cores} CPU core(s), ${opts.connections} connections, ` +
    `${opts.duration} s per target ${opts.warmup > 0 ? `after ${opts.warmup} s warm-up` : 'without warm-up'}, ${opts.body > 0 ? `POST ${opts.body} B bodies` : 'GET, no body'}, ` +
    `gateway access log ${opts.accessLog ? 'on (to a file)' : 'off (level warn)'}, metrics ${opts.metrics ? 'on' : 'off'}`)
  out('Note: autocannon (main thread) and the three backends (one worker thread) run in this process and share the')
  out(`machine's ${cores} core(s) with the gateway process, so absolute numbers understate every side: compare the ratio.`)
  out('"direct" is backend-1 alone, without the gateway; through the gateway, requests go round-robin to all three.')
  out()
}

export function table (rows: Row[]): string {
  // autocannon records latency in whole milliseconds: 0 means under 1 ms. The other loads
  // (loop.ts) record fractions, printed with two decimals.
  const ms = (v: number): string => v === 0 ? '<1' : Number.isInteger(v) ? String(v) : v.toFixed(2)
  const head = ['target', 'req/s', 'p50 ms', 'p99 ms', 'non-2xx', 'errors']
  const cells = rows.map(r => [r.target, r.rps.toFixed(0), ms(r.p50), ms(r.p99), String(r.non2xx), String(r.errors)])
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map(c => c[i]!.length)))
  const line = (c: string[]): string => '  ' + c.map((v, i) => i === 0 ? v.padEnd(widths[i]!) : v.padStart(widths[i]!)).join('  ')
  return [line(head), line(widths.map(w => '-'.repeat(w))), ...cells.map(line)].join('\n')
}

/** gateway.rps / direct.rps, 0 when direct got nothing through. */
export function httpRatio (direct: Row, gateway: Row): number {
  return direct.rps > 0 ? gateway.rps / direct.rps : 0
}

/** The table, the ratio line, and warnings about failed requests and the log size. */
export function printHttp (direct: Row, gateway: Row, opts: Options, logFile: string): void {
  const ratio = httpRatio(direct, gateway)
  out()
  out(table([direct, gateway]))
  out()
  out(`  gateway/direct: ${ratio.toFixed(2)} of the req/s; p99 ${gateway.p99 - direct.p99 >= 0 ? '+' : ''}${gateway.p99 - direct.p99} ms`)
  if (gateway.non2xx + gateway.errors > 0) out(`  warning: the gateway run had ${gateway.non2xx} non-2xx answers and ${gateway.errors} errors; see ${logFile}`)
  if (opts.accessLog) out(`  gateway log written during the bench: ${(statSync(logFile).size / 1e6).toFixed(1)} MB`)
  out()
}

export function summary (opts: Options, cores: number, direct: Row, gateway: Row, streams: StreamsSummary): string {
  return JSON.stringify({
    bench: 'ultrabalancer',
    node: process.version,
    cores,
    connections: opts.connections,
    duration: opts.duration,
    warmup: opts.warmup,
    body: opts.body,
    accessLog: opts.accessLog,
    metrics: opts.metrics,
    direct,
    gateway,
    ratio: Number(httpRatio(direct, gateway).toFixed(3)),
    ...streams
  })
}

/** The header of the tls, h2 and grpc modes. */
function printModeHeader (opts: Options, cores: number): void {
  const load = opts.mode === 'tls'
    ? `${opts.connections} connections, keep-alive rows ${opts.body > 0 ? `POST ${opts.body} B bodies` : 'GET, no body'}`
    : `${opts.connections} connections x ${opts.streams} streams`
  out(`UltraBalancer bench --mode ${opts.mode}: node ${process.version}, ${cores} CPU core(s), ${load}, ` +
    `${opts.duration} s per target ${opts.warmup > 0 ? `after ${opts.warmup} s warm-up` : 'without warm-up'}, ` +
    `gateway access log ${opts.accessLog ? 'on (to a file)' : 'off (level warn)'}, metrics ${opts.metrics ? 'on' : 'off'}`)
  out('Note: the load (main thread) and the backends (one worker thread) run in this process and share the')
  out(`machine's ${cores} core(s) with the gateway process: compare the ratios, not the absolute figures.`)
  out('See docs/benchmarks.md for what each row measures; bench/tls-peers.sh compares with nginx on pinned cores.')
  out()
}

/** The last line of the tls, h2 and grpc modes (for notes; a stable format like summary()). */
export function modeSummary (opts: Options, cores: number, r: ModeResult): string {
  return JSON.stringify({
    bench: 'ultrabalancer',
    mode: opts.mode,
    node: process.version,
    cores,
    connections: opts.connections,
    duration: opts.duration,
    warmup: opts.warmup,
    accessLog: opts.accessLog,
    metrics: opts.metrics,
    ...r.extra,
    rows: r.rows,
    ratios: r.ratios
  })
}
