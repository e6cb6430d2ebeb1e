import t from 'tap'
import { spawn, type ChildProcess } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { send, startBackend } from './helpers/gateway.js'

const SERVER = fileURLToPath(new URL('../dist/server.js', import.meta.url))

/**
 * The environment for the spawned gateway, without tap's coverage hooks: coverage of the
 * compiled dist/ files would be merged over the sources' coverage and hide it.
 */
function childEnv (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra }
  for (const k of Object.keys(env)) if (k === 'NODE_V8_COVERAGE' || k === 'NODE_OPTIONS' || k.startsWith('_TAPJS')) delete env[k]
  return env
}

interface Run { child: ChildProcess, lines: Array<Record<string, unknown>>, stderr: () => string, exit: Promise<number | null>, port: Promise<number> }

/** Starts dist/server.js as users do; resolves `port` from its "gateway ready" log line. */
function run (args: string[]): Run {
  const child = spawn(process.execPath, [SERVER, ...args], { env: childEnv(), stdio: ['ignore', 'pipe', 'pipe'] })
  const lines: Array<Record<string, unknown>> = []
  let err = ''
  let out = ''
  let onPort: (p: number) => void = () => {}
  const port = new Promise<number>((resolve) => { onPort = resolve })
  child.stdout!.on('data', (c: Buffer) => {
    out += c.toString()
    let i
    while ((i = out.indexOf('\n')) !== -1) {
      const text = out.slice(0, i)
      out = out.slice(i + 1)
      if (!text.startsWith('{')) continue
      const line = JSON.parse(text) as Record<string, unknown>
      lines.push(line)
      if (line.msg === 'gateway ready') onPort(line.port as number)
    }
  })
  child.stderr!.on('data', (c: Buffer) => { err += c.toString() })
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  return { child, lines, stderr: () => err, exit, port }
}

function configFile (dir: string, yaml: string): string {
  const f = join(dir, 'gateway.yaml')
  writeFileSync(f, yaml)
  return f
}

t.test('--validate: exit 0 for a valid file, 1 with the field path and no stack for an invalid one', async (t) => {
  const dir = t.testdir()
  const good = configFile(dir, 'pools:\n  web:\n    backends: [ { url: "http://127.0.0.1:9" } ]\n')
  const ok = run(['--validate', '--config', good])
  t.equal(await ok.exit, 0)
  const bad = join(dir, 'bad.yaml')
  writeFileSync(bad, 'listen:\n  port: 99999\npools:\n  web:\n    backends: [ { url: "ftp://x" } ]\n')
  const no = run(['--validate', `--config=${bad}`])
  t.equal(await no.exit, 1)
  t.match(no.stderr(), /listen\.port/)
  t.match(no.stderr(), /pools\.web\.backends\[0\]\.url/)
  t.notMatch(no.stderr(), /\n\s+at /, 'no stack trace')
})

t.test('starting with an invalid config exits 1 without listening', async (t) => {
  const r = run(['--config', configFile(t.testdir(), 'pools: {}\nbogus: 1\n')])
  t.equal(await r.exit, 1)
  t.match(r.stderr(), /bogus/)
})

t.test('GATEWAY_CONFIG names the file when --config is absent', async (t) => {
  const f = configFile(t.testdir(), 'pools:\n  web:\n    backends: [ { url: "http://127.0.0.1:9" } ]\n')
  const child = spawn(process.execPath, [SERVER, '--validate'], { env: childEnv({ GATEWAY_CONFIG: f }), stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  child.stdout.on('data', (c: Buffer) => { out += c.toString() })
  t.equal(await new Promise((resolve) => child.on('exit', resolve)), 0)
  t.match(out, f)
})

t.test('SIGTERM: stops accepting, lets the in-flight request finish, exits 0', async (t) => {
  let arrived!: () => void
  const inFlight = new Promise<void>((resolve) => { arrived = resolve })
  const b = await startBackend(t, 'slow', (_req, res) => { arrived(); setTimeout(() => res.end('finished'), 500) })
  const r = run(['--config', configFile(t.testdir(), `listen: { port: 0 }\nadmin: { port: 0 }\npools:\n  web:\n    backends: [ { url: "${b.url}" } ]\n`)])
  t.teardown(() => { r.child.kill('SIGKILL') })
  const port = await r.port
  const pending = send(`http://127.0.0.1:${port}/`)
  await inFlight
  r.child.kill('SIGTERM')
  const reply = await pending
  t.equal(reply.status, 200)
  t.equal(reply.text, 'finished', 'the in-flight request completed')
  t.equal(await r.exit, 0)
  await t.rejects(send(`http://127.0.0.1:${port}/`), 'nothing listens after shutdown')
  t.ok(r.lines.some((l) => l.msg === 'access' && l.status === 200), 'its access line was written before exit')
})

t.test('a second signal exits at once; shutdown.timeout bounds the wait', async (t) => {
  const b = await startBackend(t, 'hang', () => { /* never answers */ })
  const yaml = `listen: { port: 0 }\nadmin: { port: 0 }\nshutdown: { timeout: 300ms }\npools:\n  web:\n    backends: [ { url: "${b.url}" } ]\n`
  const dir = t.testdir({ a: {}, b: {} })

  const first = run(['--config', configFile(join(dir, 'a'), yaml)])
  t.teardown(() => { first.child.kill('SIGKILL') })
  const p1 = await first.port
  send(`http://127.0.0.1:${p1}/`).catch(() => {})
  while (b.seen.length === 0) await new Promise((resolve) => setTimeout(resolve, 10))
  first.child.kill('SIGTERM')
  t.equal(await first.exit, 0, 'exits 0 once shutdown.timeout has passed')
  t.ok(first.lines.some((l) => l.msg === 'shutdown timeout reached: exiting with requests still in flight'))

  const second = run(['--config', configFile(join(dir, 'b'), yaml.replace('300ms', '1m'))])
  t.teardown(() => { second.child.kill('SIGKILL') })
  const p2 = await second.port
  send(`http://127.0.0.1:${p2}/`).catch(() => {})
  while (b.seen.length < 2) await new Promise((resolve) => setTimeout(resolve, 10))
  second.child.kill('SIGTERM')
  await new Promise((resolve) => setTimeout(resolve, 100))
  second.child.kill('SIGTERM')
  t.equal(await second.exit, 1, 'the second signal exits without waiting for the 1 minute timeout')
})

t.test('SIGHUP re-reads the config file; an invalid file is refused and the running config keeps serving', async (t) => {
  const a = await startBackend(t, 'a')
  const b = await startBackend(t, 'b')
  const dir = t.testdir()
  const yaml = (url: string): string => `listen: { port: 0 }\nadmin: { port: 0 }\npools:\n  web:\n    backends: [ { url: "${url}" } ]\n`
  const file = configFile(dir, yaml(a.url))
  const r = run(['--config', file])
  t.teardown(() => { r.child.kill('SIGKILL') })
  const url = `http://127.0.0.1:${await r.port}/`
  t.equal((await send(url)).text, 'a')
  const logged = async (msg: string): Promise<void> => { while (!r.lines.some((l) => l.msg === msg)) await new Promise((resolve) => setTimeout(resolve, 20)) }
  writeFileSync(file, yaml(b.url))
  r.child.kill('SIGHUP')
  await logged('config reloaded')
  t.equal((await send(url)).text, 'b', 'the new backend serves after SIGHUP')
  writeFileSync(file, 'pools: {}\n')
  r.child.kill('SIGHUP')
  await logged('reload refused: the config file is invalid; the running config keeps serving')
  t.equal((await send(url)).text, 'b', 'still serving the last good config')
  r.child.kill('SIGTERM')
  t.equal(await r.exit, 0)
})
