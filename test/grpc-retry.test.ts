// gRPC calls are retried by gRPC's rules (docs/resilience.md#grpc-retries): a call that never
// reached a backend always may be; a backend's trailers-only status only when the pool lists it
// in retry.grpcStatuses; a streamed body is replayed whole. Calls are counted by gRPC status in
// /metrics and carry service, method and status on the access line; a rate-limited call gets
// RESOURCE_EXHAUSTED as a gRPC status.
import t from 'tap'
import { deadUrl, startGateway } from './helpers/gateway.js'
import { scrape } from './helpers/metrics.js'
import { grpc, grpcClient, say, startGrpcBackend, type EchoClient, type Msg } from './helpers/grpc.js'

const yaml = (urls: string[], retry = '', extra = ''): string => `listen: { http2: true }
pools:
  orders:
    protocol: http2
    algorithm: round-robin
${retry === '' ? '' : `    retry: ${retry}\n`}    backends:
${urls.map((u) => `      - url: ${u}\n`).join('')}${extra}`

async function collect (client: EchoClient, texts: string[]): Promise<{ reply?: Msg, error?: grpc.ServiceError }> {
  return await new Promise((resolve) => {
    const call = client.Collect((error: grpc.ServiceError | null, reply: Msg) => { resolve(error === null ? { reply } : { error }) })
    for (const text of texts) call.write({ text })
    call.end()
  })
}

t.test('a call that never reached a backend (refused) is tried at another, by default', async (t) => {
  const dead = await deadUrl()
  const ok = await startGrpcBackend(t, 'ok')
  const gw = await startGateway(t, yaml([dead, ok.url]))
  const client = grpcClient(t, gw.port)
  const replies = await Promise.all(Array.from({ length: 6 }, async (_, i) => await say(client, `n${i}`)))
  t.same(replies.map((r) => r.reply?.server), Array(6).fill('ok'), 'every call answered by the live backend')
  t.equal(ok.calls, 6)
})

t.test('a trailers-only UNAVAILABLE is not retried by default, and is when the pool lists it', async (t) => {
  const bad = await startGrpcBackend(t, 'bad')
  const good = await startGrpcBackend(t, 'good')
  bad.failWith = grpc.status.UNAVAILABLE

  const plain = await startGateway(t, yaml([bad.url, good.url]))
  const c1 = grpcClient(t, plain.port)
  const first = await Promise.all(Array.from({ length: 4 }, async (_, i) => await say(c1, `a${i}`)))
  t.equal(first.filter((r) => r.error?.code === grpc.status.UNAVAILABLE).length, 2, 'the backend\'s UNAVAILABLE reached the client: no grpcStatuses, no retry')
  t.equal(bad.calls + good.calls, 4, 'one try per call')

  bad.calls = 0
  good.calls = 0
  const listed = await startGateway(t, yaml([bad.url, good.url], '{ grpcStatuses: [UNAVAILABLE] }'))
  const c2 = grpcClient(t, listed.port)
  const second = await Promise.all(Array.from({ length: 4 }, async (_, i) => await say(c2, `b${i}`)))
  t.same(second.map((r) => r.reply?.server), Array(4).fill('good'), 'retried at the other backend')
  t.equal(bad.calls, 2, 'the failing backend saw its share once')
  t.equal(good.calls, 4)
  const s = await scrape(listed.app)
  t.equal(s.value('gateway_retries_total', { pool: 'orders', reason: 'status' }), 2, 'retries counted with reason status')

  bad.calls = 0
  bad.failWith = grpc.status.INVALID_ARGUMENT
  const other = await say(c2, 'c')
  const again = await say(c2, 'd')
  t.equal([other, again].filter((r) => r.error?.code === grpc.status.INVALID_ARGUMENT).length, 1, 'a status the pool does not list is the answer')
})

t.test('a client-streaming call is replayed whole to the next backend', async (t) => {
  const bad = await startGrpcBackend(t, 'bad')
  const good = await startGrpcBackend(t, 'good')
  bad.failWith = grpc.status.UNAVAILABLE
  const gw = await startGateway(t, yaml([bad.url, good.url], '{ grpcStatuses: [UNAVAILABLE] }'))
  const client = grpcClient(t, gw.port)
  const r = await collect(client, ['one', 'two', 'three'])
  t.same(r.reply, { text: 'one,two,three', server: 'good' }, 'every message reached the second backend')
  t.equal(bad.calls, 1, 'the first backend read the call and failed it')

  // Over retry.maxReplayBody nothing is kept: the failure is the answer.
  const small = await startGateway(t, yaml([bad.url, good.url], '{ grpcStatuses: [UNAVAILABLE], maxReplayBody: 8 }'))
  const c2 = grpcClient(t, small.port)
  const results = await Promise.all([collect(c2, ['a-long-message', 'another-one']), collect(c2, ['a-long-message', 'another-one'])])
  t.equal(results.filter((x) => x.error?.code === grpc.status.UNAVAILABLE).length, 1, 'the call to the failing backend is not retried')
  t.equal(results.filter((x) => x.reply?.text === 'a-long-message,another-one').length, 1)
})

t.test('metrics by gRPC status and route, access lines with service, method and status', async (t) => {
  const b = await startGrpcBackend(t, 'g1')
  const gw = await startGateway(t, yaml([b.url], '', 'routes:\n  - { name: echo, match: { pathPrefix: /test.v1.Echo }, pool: orders }\n'))
  const client = grpcClient(t, gw.port)
  await say(client, 'x')
  await say(client, 'y')
  await say(client, 'fail')
  const s = await scrape(gw.app)
  t.equal(s.value('gateway_grpc_requests_total', { pool: 'orders', route: 'echo', grpc_code: 'OK' }), 2)
  t.equal(s.value('gateway_grpc_requests_total', { pool: 'orders', route: 'echo', grpc_code: 'INVALID_ARGUMENT' }), 1)
  t.notOk(s.families.get('gateway_grpc_requests_total')!.metrics.some((m) => m.labels?.grpc_method !== undefined), 'no method label unless configured')
  const lines = gw.logs.filter((l) => l.msg === 'access')
  t.match(lines.at(-1), { http: '2.0', grpcService: 'test.v1.Echo', grpcMethod: 'Say', grpcStatus: 3, grpcStatusName: 'INVALID_ARGUMENT' })

  const labelled = await startGateway(t, yaml([b.url], '', 'metrics: { grpcMethods: true }\n'))
  const c2 = grpcClient(t, labelled.port)
  await say(c2, 'z')
  const s2 = await scrape(labelled.app)
  t.equal(s2.value('gateway_grpc_requests_total', { route: '0', grpc_service: 'test.v1.Echo', grpc_method: 'Say', grpc_code: 'OK' }), 1, 'service and method when metrics.grpcMethods is on; the route by index without a name')
})

t.test('a rate-limited call gets RESOURCE_EXHAUSTED, not an HTTP 429', async (t) => {
  const b = await startGrpcBackend(t, 'g1')
  const gw = await startGateway(t, yaml([b.url], '', 'routes:\n  - { match: { pathPrefix: / }, pool: orders, rateLimit: { max: 1, window: 1m } }\n'))
  const client = grpcClient(t, gw.port)
  t.equal((await say(client, 'first')).reply?.server, 'g1')
  const limited = await say(client, 'second')
  t.equal(limited.error?.code, grpc.status.RESOURCE_EXHAUSTED)
  t.same(limited.trailers?.get('x-gateway-error'), ['GW_RATE_LIMITED'])
  t.equal(b.calls, 1, 'the limited call never reached the backend')
})
