import t from 'tap'
import { poolYaml, send, startBackend, startGateway, deadUrl } from './helpers/gateway.js'

t.test('a GET whose backend refuses the connection is retried on another backend', async (t) => {
  const live = await startBackend(t, 'live')
  const gw = await startGateway(t, poolYaml([{ url: await deadUrl() }, live]))
  for (let i = 0; i < 4; i++) {
    const r = await send(gw.url + '/x')
    t.equal(r.status, 200, `request ${i + 1} answered by the live backend`)
    t.equal(r.text, 'live')
  }
  // Round robin over [dead, live]: a retry does not take live's turn, so every other request
  // starts at the dead backend (passive health checks take it out: resilience-passive.test.ts).
  const retried = gw.logs.filter((l) => l.msg === 'access' && l.retries === 1)
  t.equal(retried.length, 2, 'the two requests that started at the dead backend were retried once')
})

t.test('a retryable status (503) is retried elsewhere; the client never sees it', async (t) => {
  const sick = await startBackend(t, 'sick', (_req, res) => { res.statusCode = 503; res.end('busy') })
  const well = await startBackend(t, 'well')
  const gw = await startGateway(t, poolYaml([sick, well]))
  for (let i = 0; i < 4; i++) t.equal((await send(gw.url + '/')).text, 'well')
  t.equal(sick.seen.length, 2, 'the sick backend was tried once per request that started there')
})

t.test('not retried: POST, attempts 1, an empty budget, or an answer already under way', async (t) => {
  const dead = await deadUrl()
  const live = await startBackend(t, 'live')
  const post = await startGateway(t, poolYaml([{ url: dead }, live]))
  t.equal((await send(post.url + '/', { method: 'POST', body: 'x' })).status, 502, 'POST is not idempotent: no retry')

  const once = await startGateway(t, poolYaml([{ url: dead }, live], '', '    retry: { attempts: 1 }\n'))
  t.equal((await send(once.url + '/')).status, 502, 'attempts: 1 turns retries off')

  const broke = await startGateway(t, poolYaml([{ url: dead }, live], '', '    retry: { budget: { percent: 0, minRetries: 0 } }\n'))
  t.equal((await send(broke.url + '/')).status, 502, 'no budget, no retry')

  const half = await startBackend(t, 'half', (_req, res) => {
    res.writeHead(200, { 'content-length': '100' })
    res.write('partial')
    setTimeout(() => res.socket?.destroy(), 20)
  })
  const mid = await startGateway(t, poolYaml([half, live]))
  await t.rejects(send(mid.url + '/'), 'the client sees the cut, not a retried answer glued on')
  t.equal(live.seen.length, 0, 'nothing was retried once bytes had gone to the client')
})

t.test('PUT with a small body is retried when allowed, with the body sent again', async (t) => {
  const dead = await deadUrl()
  const echo = await startBackend(t, 'echo', (_req, res, body) => { res.end(body) })
  const gw = await startGateway(t, poolYaml([{ url: dead }, echo], '', '    retry: { methods: [GET, PUT] }\n'))
  const r = await send(gw.url + '/doc', { method: 'PUT', body: 'replayable body' })
  t.equal(r.status, 200)
  t.equal(r.text, 'replayable body')
  t.equal(echo.seen[0]!.headers['content-length'], '15')
})

t.test('perTryTimeout cuts a slow try and the retry goes to another backend', async (t) => {
  const slow = await startBackend(t, 'slow', (_req, res) => { setTimeout(() => res.end('slow'), 3000).unref() })
  const fast = await startBackend(t, 'fast')
  const gw = await startGateway(t, poolYaml([slow, fast], '', '    retry: { perTryTimeout: 150ms }\n'))
  const r = await send(gw.url + '/')
  t.equal(r.text, 'fast')
  const line = gw.logs.find((l) => l.msg === 'access')
  t.equal(line?.retries, 1)
})

t.test('with every backend failing, the client gets the last error after the allowed attempts', async (t) => {
  let hits = 0
  const a = await startBackend(t, 'a', (_req, res) => { hits++; res.statusCode = 502; res.end() })
  const b = await startBackend(t, 'b', (_req, res) => { hits++; res.statusCode = 502; res.end() })
  const gw = await startGateway(t, poolYaml([a, b], '', '    retry: { attempts: 3 }\n'))
  const r = await send(gw.url + '/')
  t.equal(r.status, 502, 'the last answer is passed on as it is')
  t.equal(hits, 2, 'one try per backend: a status is not retried where no other backend is left')
})
