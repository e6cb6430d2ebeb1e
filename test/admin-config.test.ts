import t from 'tap'
import type { AddressInfo } from 'node:net'
import { poolYaml, send, startBackends, startGateway } from './helpers/gateway.js'

t.test('GET /admin/config is the effective config with the token redacted', async (t) => {
  const [b] = await startBackends(t, 1)
  const gw = await startGateway(t, poolYaml([b!], 'admin: { token: very-secret }\n'))
  await gw.app.adminServer.listen({ port: 0, host: '127.0.0.1' })
  const base = `http://127.0.0.1:${(gw.app.adminServer.server.address() as AddressInfo).port}`
  const r = await send(base + '/admin/config', { headers: { authorization: 'Bearer very-secret' } })
  t.equal(r.status, 200)
  const cfg = JSON.parse(r.text)
  t.equal(cfg.admin.token, '<redacted>')
  t.notOk(r.text.includes('very-secret'), 'the secret appears nowhere')
  t.equal(cfg.pools.web.backends[0].url, b!.url)
  t.equal(cfg.listen[0].headersTimeout, 10_000, 'defaults are filled in (effective config)')
  t.equal((await send(base + '/admin/config')).status, 401, 'behind the token like the rest of /admin')
})

t.test('POST /admin/config/validate checks YAML or JSON and applies nothing', async (t) => {
  const [b] = await startBackends(t, 1)
  const gw = await startGateway(t, poolYaml([b!]))
  await gw.app.adminServer.listen({ port: 0, host: '127.0.0.1' })
  const base = `http://127.0.0.1:${(gw.app.adminServer.server.address() as AddressInfo).port}`
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read answer fields freely
  const post = async (body: string, type: string): Promise<{ status: number, json: any }> => {
    const r = await send(base + '/admin/config/validate', { method: 'POST', headers: { 'content-type': type }, body })
    return { status: r.status, json: JSON.parse(r.text) }
  }
  t.same(await post(`pools:\n  web:\n    backends: [ { url: "${b!.url}" } ]\n`, 'application/yaml'), { status: 200, json: { ok: true } })
  t.same(await post(JSON.stringify({ pools: { web: { backends: [{ url: b!.url }] } } }), 'application/json'), { status: 200, json: { ok: true } }, 'JSON is accepted too')
  const bad = await post('listen:\n  port: 99999\npools:\n  web:\n    backends: [ { url: "ftp://x" } ]\n', 'text/yaml')
  t.equal(bad.status, 400)
  t.equal(bad.json.error, 'GW_CONFIG_INVALID')
  t.same(bad.json.issues.map((i: { path: string }) => i.path), ['listen.port', 'pools.web.backends[0].url'])
  t.equal(bad.json.issues[0].line, 2, 'with the YAML line')
  const syntax = await post('pools: [unclosed', 'text/plain')
  t.equal(syntax.status, 400)
  t.match(syntax.json.issues[0].message, /.+/)
  t.equal(gw.app.pools.get('web')!.backends.length, 1, 'nothing was applied')
})
