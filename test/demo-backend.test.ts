// The demo backend (demo/backend.ts) on real sockets, port 0. Timing checks only assert a lower
// bound: an upper bound would make the test flaky on a loaded machine.
import t, { type Test } from 'tap'
import diagnostics from 'node:diagnostics_channel'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { performance } from 'node:perf_hooks'
import { MAX_DELAY_MS, parseCliOptions, resolveDelay, startBackend, type RunningBackend } from '../demo/backend.js'
import { within } from './helpers/wait.js'

async function start (t: Test, name: string, delayMs = 0): Promise<{ backend: RunningBackend, base: string }> {
  const backend = await startBackend({ name, delayMs })
  t.teardown(() => backend.close())
  return { backend, base: `http://127.0.0.1:${backend.port}` }
}

t.test('GET answers with the name in the body and the x-backend header', async t => {
  const { base } = await start(t, 'b-one')
  const res = await fetch(`${base}/anything?x=1`)
  t.equal(res.status, 200)
  t.equal(res.headers.get('x-backend'), 'b-one')
  t.match(res.headers.get('content-type'), /^text\/plain/)
  t.equal(await res.text(), 'hello from b-one\n')
})

t.test('GET /health answers JSON status ok with the name', async t => {
  const { base } = await start(t, 'b-health')
  const res = await fetch(`${base}/health`)
  t.equal(res.status, 200)
  t.match(res.headers.get('content-type'), /^application\/json/)
  t.same(await res.json(), { status: 'ok', name: 'b-health' })
})

t.test('?delay=MS holds the answer back at least that long', async t => {
  const { base } = await start(t, 'b-slow')
  const delay = 150
  const t0 = performance.now()
  const res = await fetch(`${base}/?delay=${delay}`)
  await res.text()
  // -1: libuv arms timers from its cached loop time, which can lag real time by under 1 ms.
  t.ok(performance.now() - t0 >= delay - 1, 'took at least the delay')
})

t.test('the delayMs option applies when the query has no delay', async t => {
  const { base } = await start(t, 'b-slow-default', 120)
  const t0 = performance.now()
  await (await fetch(`${base}/`)).text()
  t.ok(performance.now() - t0 >= 120 - 1, 'took at least the default delay')
})

t.test('delay parsing: query overrides default, bad values fall back, capped at 60 s', async t => {
  t.equal(resolveDelay('/', 0), 0)
  t.equal(resolveDelay('/', 50), 50)
  t.equal(resolveDelay('/?delay=20', 50), 20)
  t.equal(resolveDelay('/?delay=0', 50), 0)
  t.equal(resolveDelay('/?delay=abc', 50), 50)
  t.equal(resolveDelay('/?delay=-5', 50), 50)
  t.equal(resolveDelay('/?delay=', 50), 50)
  t.equal(resolveDelay('/?delay=999999999', 0), MAX_DELAY_MS)
  t.equal(MAX_DELAY_MS, 60_000)
})

t.test('POST and PUT echo the body byte count as JSON', async t => {
  const { base } = await start(t, 'b-body')
  const body = Buffer.alloc(100 * 1024, 0x61)
  const post = await fetch(`${base}/upload?q=1`, { method: 'POST', body })
  t.equal(post.headers.get('x-backend'), 'b-body')
  t.same(await post.json(), { name: 'b-body', method: 'POST', url: '/upload?q=1', bytes: body.length })

  const put = await fetch(`${base}/item`, { method: 'PUT', body: 'hello' })
  t.same(await put.json(), { name: 'b-body', method: 'PUT', url: '/item', bytes: 5 })

  const empty = await fetch(`${base}/`, { method: 'POST' })
  t.same(await empty.json(), { name: 'b-body', method: 'POST', url: '/', bytes: 0 })
})

t.test('a busy port rejects with EADDRINUSE', async t => {
  const { backend } = await start(t, 'b-first')
  await t.rejects(startBackend({ name: 'b-second', port: backend.port }), { code: 'EADDRINUSE' })
})

t.test('close() resolves while a delayed request is in flight, and frees the port', async t => {
  const backend = await startBackend({ name: 'b-close' })
  const base = `http://127.0.0.1:${backend.port}`
  // The backend does not tell when a request arrives; node:http does, on its diagnostics
  // channel (one message per request, with the server that got it).
  const arrived = new Promise<void>(resolve => {
    const onRequest = (message: unknown): void => {
      const server = (message as { server: Server }).server
      if ((server.address() as AddressInfo | null)?.port !== backend.port) return
      diagnostics.unsubscribe('http.server.request.start', onRequest)
      resolve()
    }
    diagnostics.subscribe('http.server.request.start', onRequest)
  })
  const pending = fetch(`${base}/?delay=30000`).then(r => r.text())
  pending.catch(() => {}) // awaited below; rejects once close() drops it
  await within(arrived, { message: 'the request reached the server' })
  await backend.close()
  await t.rejects(pending, 'the in-flight request is dropped')
  await t.rejects(fetch(`${base}/`), 'nothing listens any more')
})

t.test('CLI options: flags win over env, env is the fallback, bad values are named', async t => {
  t.same(parseCliOptions(['--name', 'b1', '--port', '9001', '--delay', '50'], {}),
    { name: 'b1', host: '127.0.0.1', port: 9001, delayMs: 50 })
  t.same(parseCliOptions([], { BACKEND_NAME: 'b2', PORT: '9002', DELAY_MS: '5', HOST: '0.0.0.0' }),
    { name: 'b2', host: '0.0.0.0', port: 9002, delayMs: 5 })
  t.same(parseCliOptions(['--name', 'flag'], { BACKEND_NAME: 'env' }).name, 'flag')
  t.throws(() => parseCliOptions(['--port', '70000'], {}), /--port/)
  t.throws(() => parseCliOptions(['--delay', '-1'], {}), /--delay/)
  t.throws(() => parseCliOptions(['--bogus'], {}))
})
