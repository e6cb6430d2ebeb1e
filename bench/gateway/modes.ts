/**
 * The measurements of the tls, h2 and grpc modes of `npm run bench` (http is run.ts's original
 * sequence). Each runs its targets one after another (an uncounted warm-up, then the measured
 * run, as measure() does for autocannon), prints the table and the ratios that matter for it,
 * and returns the rows and ratios for the JSON summary. `failed` counts non-2xx answers and
 * errors through the gateway: non-zero makes the bench exit 1.
 *
 * What each row is, and why it is there, is in docs/benchmarks.md.
 */
import { readFileSync } from 'node:fs'
import type { ClientHttp2Session } from 'node:http2'
import type { Client } from '@grpc/grpc-js'
import type { BackendGroup } from './backends.js'
import type { BenchCert } from './certs.js'
import { h2Request, h2Sessions, tlsRequests } from './clients.js'
import { HOST, out } from './common.js'
import { callEcho, echoClient } from './grpc-echo.js'
import { measure, throwIfStopped, type Row } from './load.js'
import { closedLoop, type Operation } from './loop.js'
import type { Options } from './options.js'
import { table } from './report.js'

export interface ModeContext { opts: Options, backends: BackendGroup, cert: BenchCert, port: number, tlsPort: number, h2cPort: number }
export interface ModeResult { rows: Row[], ratios: Record<string, number>, extra: Record<string, unknown>, failed: number }

/** Warm-up (not counted) then the measured run of one closed-loop target. */
async function looped (target: string, slots: number, opts: Options, op: Operation): Promise<Row> {
  throwIfStopped()
  if (opts.warmup > 0) {
    out(`  ${target}: warm-up ${opts.warmup} s ...`)
    await closedLoop(target, slots, opts.warmup, op)
  }
  out(`  ${target}: measuring ${opts.duration} s ...`)
  return await closedLoop(target, slots, opts.duration, op)
}

const ratio = (a: Row, b: Row): number => b.rps > 0 ? Number((a.rps / b.rps).toFixed(3)) : 0
const failures = (rows: Row[]): number => rows.reduce((n, r) => n + r.non2xx + r.errors, 0)

function print (rows: Row[], ratios: Record<string, number>): void {
  out()
  out(table(rows))
  out()
  for (const [k, v] of Object.entries(ratios)) out(`  ${k}: ${v.toFixed(2)}`)
}

/**
 * tls: HTTPS keep-alive (autocannon, --connections) against plaintext through the same gateway
 * and a bare Node https server; then new connections per second, each one request on a fresh
 * TLS connection: full handshakes (no session offered) direct and through the gateway, and
 * resumed ones (session tickets) through the gateway. Handshake loops use at most 16 slots:
 * enough to keep a core busy with handshakes, few enough not to queue in the accept backlog.
 */
export async function runTls (c: ModeContext): Promise<ModeResult> {
  const { opts } = c
  const tlsUrl = `https://${HOST}:${c.tlsPort}/`
  const directHttps = await measure('direct https keep-alive', `https://${HOST}:${c.backends.extra.httpsPort}/`, opts)
  const gwHttp = await measure('gateway http keep-alive', `http://${HOST}:${c.port}/`, opts)
  const gwHttps = await measure('gateway https keep-alive', tlsUrl, opts)
  const slots = Math.min(opts.connections, 16)
  const directNew = await looped('direct new TLS (full)', slots, opts, tlsRequests(c.backends.extra.httpsPort!, false).op)
  const gwNew = await looped('gateway new TLS (full)', slots, opts, tlsRequests(c.tlsPort, false).op)
  const resumed = tlsRequests(c.tlsPort, true)
  const gwResumed = await looped('gateway new TLS (resumed)', slots, opts, resumed.op)
  const rows = [directHttps, gwHttp, gwHttps, directNew, gwNew, gwResumed]
  const ratios = {
    'gateway https/http keep-alive': ratio(gwHttps, gwHttp),
    'gateway/direct https keep-alive': ratio(gwHttps, directHttps),
    'gateway/direct full handshakes': ratio(gwNew, directNew),
    'gateway resumed/full handshakes': ratio(gwResumed, gwNew)
  }
  print(rows, ratios)
  out(`  handshake rows are new connections per second (one GET each, ${slots} at a time); ` +
    `${resumed.resumed()} of the resumed row's handshakes (warm-up included) were resumed`)
  return { rows, ratios, extra: { handshakeSlots: slots, resumedHandshakes: resumed.resumed() }, failed: failures([gwHttp, gwHttps, gwNew, gwResumed]) }
}

/** `opts.streams` requests in flight on each of `sessions` HTTP/2 sessions. */
async function h2Target (target: string, url: string, path: string, opts: Options): Promise<Row> {
  throwIfStopped()
  const sessions: ClientHttp2Session[] = await h2Sessions(url, opts.connections)
  let next = 0
  try {
    // Each slot takes the next session in turn, so every session carries `streams` slots.
    return await looped(target, opts.connections * opts.streams, opts, () => h2Request(sessions[next++ % sessions.length]!, path))
  } finally {
    for (const s of sessions) s.destroy()
  }
}

/**
 * h2: HTTP/2 (node:http2 client) straight to an h2c backend, then to the gateway's TLS listener
 * (ALPN h2) with HTTP/1.1 backends behind it, and with h2c backends (`protocol: http2`).
 */
export async function runH2 (c: ModeContext): Promise<ModeResult> {
  const { opts } = c
  const direct = await h2Target('direct h2c', `http://${HOST}:${c.backends.extra.h2cPorts![0]}`, '/', opts)
  const gwH1 = await h2Target('gateway h2 -> h1 pool', `https://${HOST}:${c.tlsPort}`, '/', opts)
  const gwH2c = await h2Target('gateway h2 -> h2c pool', `https://${HOST}:${c.tlsPort}`, '/h2c', opts)
  const rows = [direct, gwH1, gwH2c]
  const ratios = { 'gateway (h1 pool)/direct': ratio(gwH1, direct), 'gateway (h2c pool)/direct': ratio(gwH2c, direct) }
  print(rows, ratios)
  out(`  ${opts.connections} HTTP/2 connections x ${opts.streams} streams in flight; rows are responses per second`)
  return { rows, ratios, extra: { streams: opts.streams }, failed: failures([gwH1, gwH2c]) }
}

/** `opts.streams` unary calls in flight on each of `connections` channels to target. */
async function grpcTarget (target: string, address: string, opts: Options, ca?: Buffer): Promise<Row> {
  throwIfStopped()
  const clients: Client[] = Array.from({ length: opts.connections }, () => echoClient(address, ca))
  const payload = Buffer.alloc(64, 0x61)
  let next = 0
  try {
    return await looped(target, opts.connections * opts.streams, opts, async () => {
      const err = await callEcho(clients[next++ % clients.length]!, payload)
      if (err !== null) throw err
      return 'ok'
    })
  } finally {
    for (const client of clients) client.close()
  }
}

/**
 * grpc: unary calls with 64-byte messages straight to one echo server, then through the
 * gateway's h2c listener and its TLS listener to three of them (balanced per call).
 */
export async function runGrpc (c: ModeContext): Promise<ModeResult> {
  const { opts } = c
  const ca = readFileSync(c.cert.cert)
  const direct = await grpcTarget('direct grpc', `${HOST}:${c.backends.extra.grpcPorts![0]}`, opts)
  const gwH2c = await grpcTarget('gateway grpc h2c', `${HOST}:${c.h2cPort}`, opts)
  const gwTls = await grpcTarget('gateway grpc tls', `${HOST}:${c.tlsPort}`, opts, ca)
  const rows = [direct, gwH2c, gwTls]
  const ratios = { 'gateway h2c/direct': ratio(gwH2c, direct), 'gateway tls/direct': ratio(gwTls, direct) }
  print(rows, ratios)
  out(`  ${opts.connections} channels x ${opts.streams} calls in flight, 64 B messages; rows are calls per second`)
  return { rows, ratios, extra: { streams: opts.streams }, failed: failures([gwH2c, gwTls]) }
}
