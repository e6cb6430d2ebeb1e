/**
 * The servers the tls, h2 and grpc modes of `npm run bench` add to the backend worker
 * (backend-worker.ts), besides the three demo backends:
 * - tls: `httpsPort`, a bare node:https server with the bench certificate answering a fixed
 *   text: the ceiling of Node's own TLS in this setup, with no proxying behind it;
 * - h2: `h2cPorts`, three node:http2 servers speaking h2c (prior knowledge) answering the
 *   same fixed text, for the gateway's `protocol: http2` pool and the direct h2c baseline;
 * - grpc: `grpcPorts`, three unary echo servers (grpc-echo.ts).
 * Every server listens on HOST, free ports; close() stops them all and drops their connections.
 */
import { readFileSync } from 'node:fs'
import { createServer as createHttps } from 'node:https'
import http2 from 'node:http2'
import type { AddressInfo, Server } from 'node:net'
import type { BenchCert } from './certs.js'
import { HOST } from './common.js'
import { startGrpcEcho } from './grpc-echo.js'
import type { Mode } from './options.js'

export interface ModePorts { httpsPort?: number, h2cPorts?: number[], grpcPorts?: number[] }
export interface ModeBackends { ports: ModePorts, close: () => Promise<void> }

const body = (name: string): string => `hello from ${name}\n`

async function listen (server: Server): Promise<number> {
  await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(0, HOST, resolve) })
  return (server.address() as AddressInfo).port
}

export async function startModeBackends (mode: Mode, cert?: BenchCert): Promise<ModeBackends> {
  const closers: Array<() => Promise<void>> = []
  const ports: ModePorts = {}
  if (mode === 'tls' && cert !== undefined) {
    const text = body('direct-tls')
    const server = createHttps({ cert: readFileSync(cert.cert), key: readFileSync(cert.key) }, (req, res) => {
      req.resume()
      req.on('end', () => { res.writeHead(200, { 'content-type': 'text/plain', 'content-length': text.length }).end(text) })
    })
    ports.httpsPort = await listen(server)
    closers.push(async () => { server.closeAllConnections(); await new Promise((resolve) => server.close(resolve)) })
  }
  if (mode === 'h2') {
    ports.h2cPorts = []
    for (let i = 1; i <= 3; i++) {
      const sessions = new Set<http2.ServerHttp2Session>()
      const text = body(`h2c-${i}`)
      const server = http2.createServer()
      server.on('session', (s) => { sessions.add(s); s.once('close', () => sessions.delete(s)) })
      server.on('stream', (stream) => {
        stream.resume()
        stream.on('end', () => { stream.respond({ ':status': 200, 'content-type': 'text/plain', 'content-length': text.length }); stream.end(text) })
        stream.on('error', () => {})
      })
      ports.h2cPorts.push(await listen(server))
      closers.push(async () => { for (const s of sessions) s.destroy(); await new Promise((resolve) => server.close(resolve)) })
    }
  }
  if (mode === 'grpc') {
    ports.grpcPorts = []
    for (let i = 0; i < 3; i++) {
      const s = await startGrpcEcho(HOST)
      ports.grpcPorts.push(s.port)
      closers.push(s.close)
    }
  }
  return { ports, close: async () => { await Promise.allSettled(closers.map((c) => c())) } }
}
