// The store CLI (docs/store-cli.md) on a real etcd: push seeds an empty store as revision 1 and
// moves it on keeping the admin API changes (--reset drops them; a change that lands between
// push's read and its write is kept too), pull prints what push wrote, diff exits 0 for the same
// document and 1 with the change shown, and an invalid file, an unreachable etcd, an empty store
// or a config without store.etcd are one line on stderr and exit 2, with etcd unchanged. The
// commands are called in-process (lib/store/cli.ts) and through the real `node dist/store-cli.js`.
import t, { type Test } from 'tap'
import { spawn } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { hostname } from 'node:os'
import { join } from 'node:path'
import { load } from 'js-yaml'
import { etcdMissing, startEtcd } from './helpers/etcd.js'
import { deadPort } from './helpers/gateway.js'
import { repoPath } from './helpers/paths.js'
import { childEnv } from './helpers/process.js'
import { openContext, push, runCli, type CliResult } from '../lib/store/cli.js'
import { parseState } from '../lib/store/state-etcd.js'
import type { StoredState } from '../lib/store/types.js'

const PREFIX = '/ub-cli-test/'
const KEY = `${PREFIX}config`

const gatewayYaml = (etcd: string, prefix = PREFIX): string => `listen: { host: 127.0.0.1, port: 0 }
admin: { host: 127.0.0.1, port: 0 }
store:
  etcd: { endpoints: [${etcd}], prefix: ${prefix}, dialTimeout: 1s }
pools:
  local-only:
    backends: [{ url: http://127.0.0.1:9999 }]
`

// The file pushed: its listen section is local and must not reach etcd.
const fleetYaml = (backends: string[]): string => `listen: { host: 127.0.0.1, port: 1234 }
pools:
  web:
    algorithm: round-robin
    backends:
${backends.map((b) => `      - url: ${b}\n`).join('')}routes:
  - match: { pathPrefix: / }
    pool: web
`

const SHARED = { pools: { web: { algorithm: 'round-robin', backends: [{ url: 'http://127.0.0.1:9001' }, { url: 'http://127.0.0.1:9002' }] } }, routes: [{ match: { pathPrefix: '/' }, pool: 'web' }] }

/** `node dist/store-cli.js args`, as users run it. */
async function spawnCli (args: string[], cwd: string): Promise<CliResult> {
  const child = spawn(process.execPath, [repoPath('dist/store-cli.js'), ...args], { cwd, env: childEnv(), stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d: Buffer) => { stdout += d.toString() })
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve))
  return { code: code as CliResult['code'], stdout, stderr }
}

const oneLine = (t: Test, s: string, re: RegExp, what: string): void => {
  t.match(s, re, what)
  t.equal(s.trimEnd().split('\n').length, 1, `${what}: one line`)
  t.notMatch(s, /\n\s+at /, `${what}: no stack trace`)
}

if (etcdMissing !== undefined) {
  t.plan(0, etcdMissing)
} else {
  t.setTimeout(60_000)
  const etcd = await startEtcd(t)
  const dir = t.testdir()
  const config = join(dir, 'gateway.yaml')
  writeFileSync(config, gatewayYaml(etcd.url))
  const file = join(dir, 'fleet.yaml')
  writeFileSync(file, fleetYaml(['http://127.0.0.1:9001', 'http://127.0.0.1:9002']))
  const cli = async (...args: string[]): Promise<CliResult> => await runCli(['--config', config, ...args], {}, dir)
  const stored = async (): Promise<{ state: StoredState, modRevision: number }> => {
    const { kv } = await etcd.client.get(KEY)
    const state = parseState(kv?.value ?? '')
    if (typeof state === 'string') throw new Error(`etcd holds no state: ${state}`)
    return { state, modRevision: kv!.modRevision }
  }

  t.test('pull and diff on an empty store are refused', async (t) => {
    for (const args of [['pull'], ['diff', file]]) {
      const r = await cli(...args)
      t.equal(r.code, 2, args[0])
      oneLine(t, r.stderr, /etcd has no config at \/ub-cli-test\/config yet: push one/, args[0])
    }
  })

  t.test('push into an empty store writes revision 1, shared sections only (the real script)', async (t) => {
    const r = await spawnCli(['push', '--config', config, 'fleet.yaml'], dir)
    t.same(r, { code: 0, stdout: 'pushed fleet.yaml to etcd as revision 1 (0 admin API change(s) kept on top)\n', stderr: '' })
    const { state } = await stored()
    t.equal(state.revision, 1)
    t.same(state.base, SHARED, 'the listen section stayed local')
    t.same(state.overrides, {})
    t.match(state.history, [{ revision: 1, change: 'pushed fleet.yaml with the store CLI', instance: `cli/${hostname()}`, via: 'admin' }])
  })

  t.test('a push keeps the admin API changes in etcd; --reset drops them', async (t) => {
    // As a gateway's admin API writes them: a new revision with overrides on the same base.
    const { state } = await stored()
    const overrides = {
      web: { remove: [], add: [{ id: 'extra', url: 'http://127.0.0.1:9005', weight: 2 }], set: { '127.0.0.1:9001': { weight: 5 } } },
      gone: { remove: ['x'], add: [], set: {} }
    }
    await etcd.client.put(KEY, JSON.stringify({ ...state, revision: 2, overrides }))

    let r = await cli('push', file)
    t.equal(r.stdout, `pushed ${file} to etcd as revision 3 (2 admin API change(s) kept on top)\n`)
    t.match(r.stderr, /dropped an admin API change that no longer applies: pool "gone" is no longer in the config/, 'what no longer applies is said')
    let now = (await stored()).state
    t.equal(now.revision, 3)
    t.same(now.overrides, { web: overrides.web }, 'the changes to web are kept')
    t.match(now.history.at(-1)?.change, /^pushed .*fleet\.yaml with the store CLI; dropped: pool "gone"/)

    const pulled = await cli('pull')
    t.match(pulled.stdout, /# admin API changes kept on top of this document: 2\n# {3}web: added backend extra \(http:\/\/127\.0\.0\.1:9005, weight 2\)\n# {3}web: backend 127\.0\.0\.1:9001: weight 5\n/, 'pull lists them')

    r = await cli('push', file, '--reset')
    t.equal(r.stdout, `pushed ${file} to etcd as revision 4 (0 admin API change(s) kept on top)\n`)
    now = (await stored()).state
    t.same(now.overrides, {})
    t.match(now.history.at(-1)?.change, /--reset dropped 2 admin API change\(s\)/)
  })

  t.test('pull prints YAML that parses back to the pushed shared sections', async (t) => {
    const r = await cli('pull')
    t.equal(r.code, 0)
    t.equal(r.stderr, '')
    t.same(load(r.stdout), SHARED, 'the comment block is only comments')
    t.match(r.stdout, /\n# etcd \/ub-cli-test\/config: revision 4\n# last change: pushed .* \(cli\/.*\)\n# admin API changes kept on top of this document: none\n$/)
  })

  t.test('diff: 0 for the same document, 1 with the change shown for an edited one', async (t) => {
    let r = await cli('diff', file)
    t.same(r, { code: 0, stdout: `${file} is the same as etcd revision 4 (0 admin API change(s) kept on top in etcd)\n`, stderr: '' })

    // Key order means nothing: the same document with its sections swapped is the same.
    const swapped = join(dir, 'swapped.yaml')
    writeFileSync(swapped, 'routes: [{ pool: web, match: { pathPrefix: / } }]\npools: { web: { backends: [{ url: http://127.0.0.1:9001 }, { url: http://127.0.0.1:9002 }], algorithm: round-robin } }\n')
    t.equal((await cli('diff', swapped)).code, 0, 'mapping key order is ignored')

    const edited = join(dir, 'edited.yaml')
    writeFileSync(edited, fleetYaml(['http://127.0.0.1:9001', 'http://127.0.0.1:9003']))
    r = await spawnCli(['diff', '--config', config, 'edited.yaml'], dir)
    t.equal(r.code, 1, 'different: exit 1, as diff(1)')
    t.equal(r.stderr, '')
    t.match(r.stdout, /^--- etcd \/ub-cli-test\/config \(revision 4\)\n\+\+\+ edited\.yaml \(shared sections\)\n@@ -\d+,\d+ \+\d+,\d+ @@\n/)
    t.match(r.stdout, /\n-\s+- url: http:\/\/127\.0\.0\.1:9002\n\+\s+- url: http:\/\/127\.0\.0\.1:9003\n/, 'the changed backend')
    t.notMatch(r.stdout, /^[-+]\s+- url: http:\/\/127\.0\.0\.1:9001$/m, 'the unchanged one is context')
    t.match(r.stdout, /# 0 admin API change\(s\) kept on top in etcd/)
  })

  t.test('an invalid file is refused with exit 2 and etcd unchanged', async (t) => {
    const before = await stored()
    const bad = join(dir, 'bad.yaml')
    writeFileSync(bad, fleetYaml(['not-a-url']))
    const r = await cli('push', bad)
    t.equal(r.code, 2)
    oneLine(t, r.stderr, /^ultrabalancer-store: .*bad\.yaml \(its shared sections with the local sections of .*gateway\.yaml\) has 1 issue: pools\.web\.backends\[0\]\.url: /, 'the issue is named')
    t.equal(r.stdout, '')
    const syntax = join(dir, 'syntax.yaml')
    writeFileSync(syntax, 'pools: [\n')
    oneLine(t, (await cli('push', syntax)).stderr, /syntax\.yaml has 1 issue: .*line/, 'a YAML syntax error')
    oneLine(t, (await cli('push', join(dir, 'missing.yaml'))).stderr, /cannot read config file .*missing\.yaml: file not found/, 'a missing file')
    t.same(await stored(), before, 'etcd was not written')
  })

  t.test('a change landing between the read and the write is kept: the push retries on it', async (t) => {
    const { state } = await stored()
    const ctx = openContext(config, {}, dir)
    t.teardown(async () => { await ctx.client.close() })
    const get = ctx.client.get.bind(ctx.client)
    let raced = false
    // A gateway's admin API writes revision 5 just after the CLI read revision 4.
    ctx.client.get = async (key) => {
      const r = await get(key)
      if (!raced) {
        raced = true
        await etcd.client.put(KEY, JSON.stringify({ ...state, revision: 5, overrides: { web: { remove: [], add: [], set: { '127.0.0.1:9002': { enabled: false } } } } }))
      }
      return r
    }
    const r = await push(ctx, 'fleet.yaml', { reset: false })
    t.equal(r.stdout, 'pushed fleet.yaml to etcd as revision 6 (1 admin API change(s) kept on top)\n', 'written on top of revision 5')
    t.same((await stored()).state.overrides, { web: { remove: [], add: [], set: { '127.0.0.1:9002': { enabled: false } } } })
  })

  t.test('etcd unreachable: exit 2 and one clear line (the real script)', async (t) => {
    const down = join(dir, 'down.yaml')
    writeFileSync(down, gatewayYaml(`http://127.0.0.1:${await deadPort()}`))
    for (const args of [['pull'], ['push', 'fleet.yaml'], ['diff', 'fleet.yaml']]) {
      const r = await spawnCli(['--config', down, ...args], dir)
      t.equal(r.code, 2, args[0])
      t.equal(r.stdout, '')
      oneLine(t, r.stderr, /^ultrabalancer-store: etcd is unreachable \(http:\/\/127\.0\.0\.1:\d+\): /, args[0])
    }
  })

  t.test('a config without store.etcd, and usage mistakes, exit 2', async (t) => {
    const plain = join(dir, 'plain.yaml')
    writeFileSync(plain, 'pools: { web: { backends: [{ url: http://127.0.0.1:9001 }] } }\n')
    let r = await runCli(['pull'], { GATEWAY_CONFIG: plain }, dir)
    t.equal(r.code, 2)
    oneLine(t, r.stderr, /plain\.yaml has no store\.etcd section/, '$GATEWAY_CONFIG without store.etcd')
    for (const [args, re] of [[[], /a command is needed/], [['fetch'], /unknown command fetch/], [['push'], /push needs a FILE/], [['pull', 'x'], /pull takes no FILE/], [['diff', 'x', '--reset'], /--reset is for push only/], [['pull', '--force'], /unknown option --force/]] as const) {
      r = await cli(...args)
      t.equal(r.code, 2, args.join(' '))
      oneLine(t, r.stderr, re, args.join(' ') || '(no arguments)')
    }
    r = await cli('--help')
    t.equal(r.code, 0)
    t.match(r.stdout, /^Usage: node dist\/store-cli\.js <push\|pull\|diff>/)
  })
}
