// consistent-hash through the real gateway, ring and maglev, keyed by a header, a cookie, the
// client IP (X-Forwarded-For with listen.trustProxy) and the path: a key sticks to its backend,
// keys spread, a disabled owner's keys move elsewhere (others stay put) and come back.
import t, { type Test } from 'tap'
import type { OutgoingHttpHeaders } from 'node:http'
import { poolYaml, send, startBackends, startGateway } from './helpers/gateway.js'

interface KeyKind {
  name: string
  /** The `key:` option as YAML. */
  option: string
  /** Extra top-level YAML the key needs. */
  top: string
  /** Path and headers of a request carrying key `k`; `i` varies what must not matter. */
  request: (k: string, i: number) => { path: string, headers: OutgoingHttpHeaders }
  /** A request carrying no key at all, for kinds where that can happen. */
  keyless?: { path: string, headers: OutgoingHttpHeaders }
}

const KINDS: KeyKind[] = [
  {
    name: 'header x-user',
    option: '{ header: x-user }',
    top: '',
    // The header name is matched case-insensitively; the path does not matter.
    request: (k, i) => ({ path: `/p${i}`, headers: { 'X-User': k } }),
    keyless: { path: '/', headers: { 'x-other': 'u1' } }
  },
  {
    name: 'cookie session',
    option: '{ cookie: session }',
    top: '',
    request: (k, i) => ({ path: `/p${i}`, headers: { cookie: `theme=${i}; session=${k}` } }),
    keyless: { path: '/', headers: { cookie: 'theme=1; sessions=u1' } }
  },
  {
    name: 'ip',
    option: 'ip',
    top: 'listen:\n  trustProxy: true\n',
    // With trustProxy the first X-Forwarded-For entry is the client; later hops do not matter.
    request: (k, i) => ({ path: `/p${i}`, headers: { 'x-forwarded-for': `10.0.${k}, 192.168.0.${i}` } })
  },
  {
    name: 'path',
    option: 'path',
    top: '',
    // The query string is not part of the key.
    request: (k, i) => ({ path: `/users/${k}?page=${i}`, headers: {} })
  }
]

const KEYS = Array.from({ length: 50 }, (_, i) => `${i}.${(i * 7) % 256}`)

async function setup (t: Test, method: string, kind: KeyKind) {
  const backends = await startBackends(t, 3)
  const gw = await startGateway(t, poolYaml(backends, kind.top, `    algorithm: { name: consistent-hash, method: ${method}, key: ${kind.option} }\n`))
  const pool = gw.app.pools.get('web')!
  const idOf = (name: string): string => `127.0.0.1:${backends.find((b) => b.name === name)!.port}`
  /** The backend that answered a request with key `k`. */
  const owner = async (k: string, i = 0): Promise<string> => {
    const r = await send(gw.url, kind.request(k, i))
    if (r.status !== 200) throw new Error(`key ${k}: status ${r.status}: ${r.text}`)
    return r.text
  }
  const ownersOf = async (keys: string[]): Promise<string[]> => {
    const out: string[] = []
    for (const k of keys) out.push(await owner(k))
    return out
  }
  return { gw, pool, idOf, owner, ownersOf }
}

for (const method of ['ring', 'maglev']) {
  for (const kind of KINDS) {
    t.test(`${method}, key ${kind.name}: a key always lands on the same backend; keys spread`, async (t) => {
      const { owner, ownersOf } = await setup(t, method, kind)
      const seen: string[] = []
      for (let i = 0; i < 20; i++) seen.push(await owner(KEYS[0]!, i))
      t.same(seen, new Array<string>(20).fill(seen[0]!), `20 requests with key ${KEYS[0]!} all go to ${seen[0]!}`)
      const spread = new Set(await ownersOf(KEYS))
      t.ok(spread.size >= 2, `${KEYS.length} keys land on ${spread.size} of 3 backends`)
    })

    t.test(`${method}, key ${kind.name}: a disabled owner's keys move, others stay, and all come back`, async (t) => {
      const { pool, idOf, owner, ownersOf } = await setup(t, method, kind)
      const before = await ownersOf(KEYS)
      const gone = before[0]!
      t.equal(pool.setEnabled(idOf(gone), false), true)

      const moved = await owner(KEYS[0]!)
      t.not(moved, gone, `key ${KEYS[0]!} leaves disabled ${gone}`)
      const again: string[] = []
      for (let i = 1; i < 5; i++) again.push(await owner(KEYS[0]!, i))
      t.same(again, new Array<string>(4).fill(moved), `and stays on ${moved}`)
      const during = await ownersOf(KEYS)
      t.notOk(during.includes(gone), `no key goes to disabled ${gone}`)
      t.same(during.filter((_, i) => before[i] !== gone), before.filter((o) => o !== gone), 'keys of other backends stay put')

      t.equal(pool.setEnabled(idOf(gone), true), true)
      t.equal(await owner(KEYS[0]!), gone, `key ${KEYS[0]!} is back on ${gone}`)
      t.same(await ownersOf(KEYS), before, 'every key is back where it was')
    })

    const keyless = kind.keyless
    if (keyless !== undefined) {
      t.test(`${method}, key ${kind.name}: a request without the key still gets an answer`, async (t) => {
        const { gw } = await setup(t, method, kind)
        for (let i = 0; i < 5; i++) {
          const r = await send(gw.url, keyless)
          t.equal(r.status, 200)
          t.match(r.text, /^b[123]$/)
        }
      })
    }
  }
}

t.test('key ip without trustProxy: X-Forwarded-For is ignored, the peer address is the key', async (t) => {
  const backends = await startBackends(t, 3)
  const gw = await startGateway(t, poolYaml(backends, '', '    algorithm: { name: consistent-hash, key: ip }\n'))
  const answered = new Set<string>()
  for (const k of KEYS) answered.add((await send(gw.url, { headers: { 'x-forwarded-for': `10.0.${k}` } })).text)
  t.equal(answered.size, 1, 'every request comes from 127.0.0.1, so one backend takes them all')
})
