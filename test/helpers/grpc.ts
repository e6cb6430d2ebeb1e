/**
 * Real gRPC servers and clients (@grpc/grpc-js, the proto in test/fixtures/echo.proto) on
 * 127.0.0.1 port 0, h2c. A server answers every kind of call with its name, sends a custom
 * trailer (x-served-by), fails "fail" with INVALID_ARGUMENT, and answers "slow" after 1.5 s.
 * With `failWith` set, Say and Collect (after reading every message) fail with that status
 * before sending any message: a trailers-only answer.
 */
import * as grpc from '@grpc/grpc-js'
import * as protoLoader from '@grpc/proto-loader'
import { repoPath } from './paths.js'

type Teardown = { teardown: (fn: () => unknown) => void }

export interface Msg { text: string, server?: string }

const PROTO = repoPath('test/fixtures/echo.proto')
const HEALTH_PROTO = repoPath('test/fixtures/health.proto')
const definition = protoLoader.loadSync([PROTO, HEALTH_PROTO], { keepCase: true, defaults: true, enums: String })
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the loaded package is untyped
const pkg = grpc.loadPackageDefinition(definition) as any
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type EchoClient = any

export interface GrpcBackend {
  name: string
  port: number
  url: string
  calls: number
  /** What grpc.health.v1.Health/Check answers per service ("" for the server); unknown names: SERVICE_UNKNOWN. */
  health: Map<string, 'SERVING' | 'NOT_SERVING'>
  /** Health checks answered. */
  checks: number
  /** A gRPC status code every Say and Collect call fails with; undefined: they succeed. */
  failWith: number | undefined
}

export async function startGrpcBackend (t: Teardown, name: string): Promise<GrpcBackend> {
  const server = new grpc.Server()
  const b: GrpcBackend = { name, port: 0, url: '', calls: 0, health: new Map([['', 'SERVING'], ['test.v1.Echo', 'SERVING']]), checks: 0, failWith: undefined }
  const trailer = (): grpc.Metadata => { const m = new grpc.Metadata(); m.set('x-served-by', name); return m }
  server.addService(pkg.test.v1.Echo.service, {
    Say: (call: grpc.ServerUnaryCall<Msg, Msg>, cb: grpc.sendUnaryData<Msg>) => {
      b.calls++
      if (b.failWith !== undefined) {
        cb({ code: b.failWith, details: `${name} fails with ${b.failWith}` })
        return
      }
      if (call.request.text === 'slow') {
        setTimeout(() => { cb(null, { text: 'late', server: name }, trailer()) }, 1500)
        return
      }
      if (call.request.text === 'fail') {
        cb({ code: grpc.status.INVALID_ARGUMENT, details: 'fail was asked for', metadata: trailer() })
        return
      }
      cb(null, { text: call.request.text, server: name }, trailer())
    },
    Collect: (call: grpc.ServerReadableStream<Msg, Msg>, cb: grpc.sendUnaryData<Msg>) => {
      b.calls++
      const texts: string[] = []
      call.on('data', (m: Msg) => texts.push(m.text))
      call.on('end', () => {
        if (b.failWith !== undefined) cb({ code: b.failWith, details: `${name} fails with ${b.failWith}` })
        else cb(null, { text: texts.join(','), server: name }, trailer())
      })
    },
    Split: (call: grpc.ServerWritableStream<Msg, Msg>) => {
      b.calls++
      for (const part of call.request.text.split(',')) call.write({ text: part, server: name })
      call.end(trailer())
    },
    Chat: (call: grpc.ServerDuplexStream<Msg, Msg>) => {
      b.calls++
      call.on('data', (m: Msg) => { call.write({ text: m.text.toUpperCase(), server: name }) })
      call.on('end', () => { call.end(trailer()) })
    }
  })
  server.addService(pkg.grpc.health.v1.Health.service, {
    Check: (call: grpc.ServerUnaryCall<{ service: string }, { status: string }>, cb: grpc.sendUnaryData<{ status: string }>) => {
      b.checks++
      cb(null, { status: b.health.get(call.request.service) ?? 'SERVICE_UNKNOWN' })
    }
  })
  b.port = await new Promise<number>((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => { if (err !== null) reject(err); else resolve(port) })
  })
  b.url = `http://127.0.0.1:${b.port}`
  t.teardown(async () => { await new Promise<void>((resolve) => { server.tryShutdown(() => { resolve() }) }) })
  return b
}

/** A client on one channel (one HTTP/2 connection) to the gateway at 127.0.0.1:port, h2c. */
export function grpcClient (t: Teardown, port: number): EchoClient {
  const client = new pkg.test.v1.Echo(`127.0.0.1:${port}`, grpc.credentials.createInsecure())
  t.teardown(() => { client.close() })
  return client
}

/** A unary Say call: the reply, the status and the trailers (metadata) the client got. */
export async function say (client: EchoClient, text: string, opts: { deadlineMs?: number } = {}): Promise<{ reply?: Msg, error?: grpc.ServiceError, trailers: grpc.Metadata | undefined }> {
  return await new Promise((resolve) => {
    let trailers: grpc.Metadata | undefined
    const options = opts.deadlineMs === undefined ? {} : { deadline: Date.now() + opts.deadlineMs }
    const call = client.Say({ text }, options, (error: grpc.ServiceError | null, reply: Msg) => {
      setImmediate(() => { resolve(error === null ? { reply, trailers } : { error, trailers }) })
    })
    call.on('status', (s: grpc.StatusObject) => { trailers = s.metadata })
  })
}

export { grpc }
