import t from 'tap'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { send, startBackend } from './helpers/gateway.js'
import { configFile, exited, ready, run } from './helpers/process.js'
import { waitFor, within } from './helpers/wait.js'

t.test('--validate: exit 0 for a valid file, 1 with the field path and no stack for an invalid one', async (t) => {
  const dir = t.testdir()
  const good = configFile(dir, 'pools:\n  web:\n    backends: [ { url: "http://127.0.0.1:9" } ]\n')
  const ok = run(['--validate', '--config', good])
  t.equal(await exited(ok), 0)
  const bad = join(dir, 'bad.yaml')
  writeFileSync(bad, 'listen:\n  port: 99999\npools:\n  web:\n    backends: [ { url: "ftp://x" } ]\n')
  const no = run(['--validate', `--config=${bad}`])
  t.equal(await exited(no), 1)
  t.match(no.stderr(), /listen\.port/)
  t.match(no.stderr(), /pools\.web\.backends\[0\]\.url/)
  t.notMatch(no.stderr(), /\n\s+at /, 'no stack trace')
})

t.test('starting with an invalid config exits 1 without listening', async (t) => {
  const r = run(['--config', configFile(t.testdir(), 'pools: {}\nbogus: 1\n')])
  t.equal(await exited(r), 1)
  t.match(r.stderr(), /bogus/)
})

t.test('GATEWAY_CONFIG names the file when --config is absent', async (t) => {
  const f = configFile(t.testdir(), 'pools:\n  web:\n    backends: [ { url: "http://127.0.0.1:9" } ]\n')
  const r = run(['--validate'], { GATEWAY_CONFIG: f })
  let out = ''
  r.child.stdout!.on('data', (c: Buffer) => { out += c.toString() })
  t.equal(await exited(r), 0)
  t.match(out, f)
})

t.test('SIGTERM: stops accepting, lets the in-flight request finish, exits 0', async (t) => {
  let arrived!: () => void
  const inFlight = new Promise<void>((resolve) => { arrived = resolve })
  // Answers only once the test releases it: after the gateway has begun shutting down.
  let release!: () => void
  const held = new Promise<void>((resolve) => { release = resolve })
  const b = await startBackend(t, 'slow', (_req, res) => { arrived(); void held.then(() => res.end('finished')) })
  const r = run(['--config', configFile(t.testdir(), `listen: { port: 0 }\nadmin: { port: 0 }\npools:\n  web:\n    backends: [ { url: "${b.url}" } ]\n`)])
  t.teardown(() => { r.child.kill('SIGKILL') })
  const port = await ready(r)
  const pending = send(`http://127.0.0.1:${port}/`)
  await within(inFlight, { message: 'the request reached the backend' })
  r.child.kill('SIGTERM')
  await waitFor(() => r.lines.some((l) => l.msg === 'shutting down: no new connections, finishing in-flight requests'),
    { message: 'the gateway logged that it is shutting down', seen: () => r.lines.map((l) => l.msg) })
  release()
  const reply = await pending
  t.equal(reply.status, 200)
  t.equal(reply.text, 'finished', 'the in-flight request completed')
  t.equal(await exited(r), 0)
  await t.rejects(send(`http://127.0.0.1:${port}/`), 'nothing listens after shutdown')
  t.ok(r.lines.some((l) => l.msg === 'access' && l.status === 200), 'its access line was written before exit')
})

t.test('a second signal exits at once; shutdown.timeout bounds the wait', async (t) => {
  // Never answers; counts the requests that reached it.
  let arrivals = 0
  const b = await startBackend(t, 'hang', () => { arrivals++ })
  const arrived = async (n: number): Promise<void> => {
    await waitFor(() => arrivals >= n, { message: `request ${n} reached the backend`, seen: () => arrivals })
  }
  const yaml = `listen: { port: 0 }\nadmin: { port: 0 }\nshutdown: { timeout: 300ms }\npools:\n  web:\n    backends: [ { url: "${b.url}" } ]\n`
  const dir = t.testdir({ a: {}, b: {} })

  const first = run(['--config', configFile(join(dir, 'a'), yaml)])
  t.teardown(() => { first.child.kill('SIGKILL') })
  const p1 = await ready(first)
  send(`http://127.0.0.1:${p1}/`).catch(() => {})
  await arrived(1)
  first.child.kill('SIGTERM')
  t.equal(await exited(first), 0, 'exits 0 once shutdown.timeout has passed')
  t.ok(first.lines.some((l) => l.msg === 'shutdown timeout reached: exiting with requests still in flight'))

  const second = run(['--config', configFile(join(dir, 'b'), yaml.replace('300ms', '1m'))])
  t.teardown(() => { second.child.kill('SIGKILL') })
  const p2 = await ready(second)
  send(`http://127.0.0.1:${p2}/`).catch(() => {})
  await arrived(2)
  second.child.kill('SIGTERM')
  // The second signal once the first one is being handled: shutdown has begun.
  await waitFor(() => second.lines.some((l) => l.msg === 'shutting down: no new connections, finishing in-flight requests'),
    { message: 'the gateway logged that it is shutting down', seen: () => second.lines.map((l) => l.msg) })
  second.child.kill('SIGTERM')
  t.equal(await exited(second), 1, 'the second signal exits without waiting for the 1 minute timeout')
})

t.test('SIGHUP re-reads the config file; an invalid file is refused and the running config keeps serving', async (t) => {
  const a = await startBackend(t, 'a')
  const b = await startBackend(t, 'b')
  const dir = t.testdir()
  const yaml = (url: string): string => `listen: { port: 0 }\nadmin: { port: 0 }\npools:\n  web:\n    backends: [ { url: "${url}" } ]\n`
  const file = configFile(dir, yaml(a.url))
  const r = run(['--config', file])
  t.teardown(() => { r.child.kill('SIGKILL') })
  const url = `http://127.0.0.1:${await ready(r)}/`
  t.equal((await send(url)).text, 'a')
  const logged = async (msg: string): Promise<void> => {
    await waitFor(() => r.lines.some((l) => l.msg === msg), { message: `the gateway logged "${msg}"`, seen: () => r.lines.map((l) => l.msg) })
  }
  writeFileSync(file, yaml(b.url))
  r.child.kill('SIGHUP')
  await logged('config reloaded')
  t.equal((await send(url)).text, 'b', 'the new backend serves after SIGHUP')
  writeFileSync(file, 'pools: {}\n')
  r.child.kill('SIGHUP')
  await logged('reload refused: the config file is invalid; the running config keeps serving')
  t.equal((await send(url)).text, 'b', 'still serving the last good config')
  r.child.kill('SIGTERM')
  t.equal(await exited(r), 0)
})
