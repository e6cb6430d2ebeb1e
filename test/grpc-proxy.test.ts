// gRPC through the gateway: an h2c client listener, an HTTP/2 (h2c) pool of real grpc-js
// servers. Every kind of call works with its trailers (grpc-status, grpc-message, custom
// ones); one client connection's calls are balanced per call over the pool.
import t from 'tap'
import { deadUrl, startGateway } from './helpers/gateway.js'
import { h2Session } from './helpers/h2.js'
import { waitFor } from './helpers/wait.js'
import { grpc, grpcClient, say, startGrpcBackend, type EchoClient, type Msg } from './helpers/grpc.js'

const grpcYaml = (backends: Array<{ url: string }>, extra = ''): string => `listen: { http2: true }
pools:
  orders:
    protocol: http2
    backends:
${backends.map((b) => `      - url: ${b.url}\n`).join('')}${extra}`

t.test('unary calls with trailers, and 99 calls on one connection spread over three backends', async (t) => {
  const backends = [await startGrpcBackend(t, 'g1'), await startGrpcBackend(t, 'g2'), await startGrpcBackend(t, 'g3')]
  const gw = await startGateway(t, grpcYaml(backends))
  const client = grpcClient(t, gw.port)
  const one = await say(client, 'hello')
  t.same(one.reply, { text: 'hello', server: 'g1' })
  t.same(one.trailers?.get('x-served-by'), ['g1'], 'a custom trailer reached the client')
  const fail = await say(client, 'fail')
  t.equal(fail.error?.code, grpc.status.INVALID_ARGUMENT, 'grpc-status from the backend trailers')
  t.equal(fail.error?.details, 'fail was asked for', 'grpc-message too')

  for (const b of backends) b.calls = 0
  const replies = await Promise.all(Array.from({ length: 99 }, async (_, i) => await say(client, `n${i}`)))
  t.equal(replies.filter((r) => r.reply !== undefined).length, 99, 'every call answered')
  t.same(backends.map((b) => b.calls), [33, 33, 33], 'balanced per call, not per connection')
  const access = gw.logs.filter((l) => l.msg === 'access')
  t.match(access.at(-1), { http: '2.0', method: 'POST', path: '/test.v1.Echo/Say', status: 200 })
})

t.test('client streaming, server streaming and bidirectional calls', async (t) => {
  const b = await startGrpcBackend(t, 'g1')
  const gw = await startGateway(t, grpcYaml([b]))
  const client: EchoClient = grpcClient(t, gw.port)

  const collected = await new Promise<Msg>((resolve, reject) => {
    const call = client.Collect((err: grpc.ServiceError | null, m: Msg) => { if (err !== null) reject(err); else resolve(m) })
    for (const text of ['a', 'b', 'c']) call.write({ text })
    call.end()
  })
  t.same(collected, { text: 'a,b,c', server: 'g1' }, 'client streaming')

  const parts = await new Promise<string[]>((resolve, reject) => {
    const got: string[] = []
    const call = client.Split({ text: 'x,y,z' })
    call.on('data', (m: Msg) => got.push(m.text))
    call.on('error', reject)
    call.on('end', () => { resolve(got) })
  })
  t.same(parts, ['x', 'y', 'z'], 'server streaming')

  const chat = await new Promise<{ got: string[], trailer: unknown }>((resolve, reject) => {
    const got: string[] = []
    let trailer: unknown
    const call = client.Chat()
    call.on('data', (m: Msg) => {
      got.push(m.text)
      if (got.length < 3) call.write({ text: `m${got.length}` })
      else call.end()
    })
    call.on('status', (s: grpc.StatusObject) => { trailer = s.metadata.get('x-served-by') })
    call.on('error', reject)
    call.on('end', () => { setImmediate(() => { resolve({ got, trailer }) }) })
    call.write({ text: 'm0' })
  })
  t.same(chat.got, ['M0', 'M1', 'M2'], 'bidirectional, message by message')
  t.same(chat.trailer, ['g1'])
})

t.test('errors the gateway makes reach gRPC clients as gRPC statuses, not HTTP errors', async (t) => {
  const dead = await deadUrl()
  const gw = await startGateway(t, grpcYaml([{ url: dead }], '    retry: { attempts: 1 }\nroutes:\n  - { match: { pathPrefix: /test.v1.Echo }, pool: orders }\n'))
  const client = grpcClient(t, gw.port)
  const down = await say(client, 'hello')
  t.equal(down.error?.code, grpc.status.UNAVAILABLE, 'a backend that refuses: UNAVAILABLE')
  t.match(down.error?.details, /backend/i, 'with the catalogue message')
  t.notMatch(down.error?.details, /127\.0\.0\.1|ECONN/, 'no internal address')
  t.same(down.trailers?.get('x-gateway-error'), ['GW_UPSTREAM_UNAVAILABLE'])

  gw.app.pools.get('orders')!.setEnabled(dead.slice('http://'.length), false)
  const none = await say(client, 'hello')
  t.equal(none.error?.code, grpc.status.UNAVAILABLE, 'no ready backend: UNAVAILABLE')
  t.same(none.trailers?.get('x-gateway-error'), ['GW_NO_BACKEND'])

  // A method no route matches.
  const other = new (Object.getPrototypeOf(client).constructor)(`127.0.0.1:${gw.port}`, grpc.credentials.createInsecure())
  t.teardown(() => { other.close() })
  const missing = await new Promise<grpc.ServiceError | null>((resolve) => {
    other.makeUnaryRequest('/other.v1.Svc/Call', (x: Buffer) => x, (x: Buffer) => x, Buffer.alloc(0), (err: grpc.ServiceError | null) => { resolve(err) })
  })
  t.equal(missing?.code, grpc.status.UNIMPLEMENTED, 'no route: UNIMPLEMENTED')
})

t.test('grpc-timeout is the call\'s deadline at the gateway: DEADLINE_EXCEEDED as a gRPC status', async (t) => {
  const b = await startGrpcBackend(t, 'g1')
  const gw = await startGateway(t, grpcYaml([b]))
  // A raw HTTP/2 client, so the deadline is only in the header (a grpc-js client would also
  // cancel the call itself at its deadline).
  const session = await h2Session(t, gw.port)
  const frame = Buffer.concat([Buffer.from([0, 0, 0, 0, 6]), Buffer.from([0x0a, 0x04]), Buffer.from('slow')])
  const result = await new Promise<{ headers: Record<string, unknown>, trailers: Record<string, unknown> }>((resolve, reject) => {
    const stream = session.request({ ':method': 'POST', ':path': '/test.v1.Echo/Say', 'content-type': 'application/grpc', te: 'trailers', 'grpc-timeout': '200m' })
    let headers: Record<string, unknown> = {}
    stream.on('response', (h) => { headers = h })
    stream.on('trailers', (tr) => { resolve({ headers, trailers: tr }) })
    stream.on('error', reject)
    stream.resume()
    stream.end(frame)
  })
  t.equal(result.headers[':status'], 200, 'HTTP 200, as gRPC wants')
  t.equal(result.trailers['grpc-status'], String(grpc.status.DEADLINE_EXCEEDED), 'DEADLINE_EXCEEDED from the gateway')
  t.equal(result.trailers['x-gateway-error'], 'GW_UPSTREAM_TIMEOUT')
  t.match(gw.logs.find((l) => l.msg === 'upstream request failed'), { code: 'GW_UPSTREAM_TIMEOUT', reason: 'timeout' }, 'the gateway timed the call out itself')
})

t.test('grpc health checks: SERVING is healthy; NOT_SERVING turns the backend unhealthy and back', async (t) => {
  const [a, b] = [await startGrpcBackend(t, 'g1'), await startGrpcBackend(t, 'g2')]
  const gw = await startGateway(t, grpcYaml([a, b], `    healthCheck:
      active: { type: grpc, service: test.v1.Echo, interval: 100ms, timeout: 100ms, unhealthyThreshold: 1, healthyThreshold: 1 }
`))
  const pool = gw.app.pools.get('orders')!
  await waitFor(() => a.checks > 0 && b.checks > 0, { message: 'both backends were checked' })
  t.same(pool.snapshot().map((s) => s.state), ['healthy', 'healthy'])
  a.health.set('test.v1.Echo', 'NOT_SERVING')
  await waitFor(() => pool.snapshot()[0]!.state === 'unhealthy', { message: 'g1 turned unhealthy', seen: () => pool.snapshot().map((s) => s.state) })
  t.match(gw.logs.find((l) => l.msg === 'backend unhealthy'), { reason: 'not serving' }, 'the reason says why')
  const client = grpcClient(t, gw.port)
  const servers = new Set<string | undefined>()
  for (let i = 0; i < 4; i++) servers.add((await say(client, `x${i}`)).reply?.server)
  t.same([...servers], ['g2'], 'calls go to the serving backend only')
  a.health.set('test.v1.Echo', 'SERVING')
  await waitFor(() => pool.snapshot()[0]!.state === 'healthy', { message: 'g1 is healthy again' })
  t.pass('back to healthy')
})

t.test('a grpc health check needs an HTTP/2 pool', async (t) => {
  const { loadConfigText } = await import('../lib/config/load.js')
  t.throws(() => loadConfigText('pools:\n  orders:\n    backends: [ { url: http://127.0.0.1:9 } ]\n    healthCheck: { active: { type: grpc } }\n', { env: {} }),
    { message: /pools\.orders\.healthCheck\.active\.type: grpc health checks need a pool that speaks HTTP\/2/ })
})
