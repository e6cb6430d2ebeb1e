import t from 'tap'
import { errorBody, send, startBackend, startGateway } from './helpers/gateway.js'

t.test('routes: host, path prefix, headers and methods; first match wins', async (t) => {
  const api = await startBackend(t, 'api')
  const canary = await startBackend(t, 'canary')
  const web = await startBackend(t, 'web')
  const gw = await startGateway(t, `
pools:
  api: { backends: [ { url: ${api.url} } ] }
  canary: { backends: [ { url: ${canary.url} } ] }
  web: { backends: [ { url: ${web.url}/base } ] }
routes:
  - { match: { host: api.local, pathPrefix: /api, headers: { x-canary: "1" } }, pool: canary }
  - { match: { host: api.local, pathPrefix: /api, methods: [GET, HEAD] }, pool: api, stripPrefix: true }
  - { match: { host: "*.wild.test", pathPrefix: /w }, pool: api }
  - { match: { pathPrefix: /static/ }, pool: web }
`)
  const get = async (path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<string> => {
    const r = await send(gw.url + path, { headers, method })
    return `${r.status} ${r.status === 200 ? r.text : errorBody(r.text).error}`
  }
  t.equal(await get('/api/users?id=1', { host: 'api.local' }), '200 api')
  t.equal(api.seen.at(-1)!.url, '/users?id=1', 'prefix stripped, query kept')
  t.equal(await get('/api', { host: 'API.local:8080' }), '200 api', 'host matched without case or port')
  t.equal(api.seen.at(-1)!.url, '/', 'stripping the whole path leaves /')
  t.equal(await get('/api?x=1', { host: 'api.local' }), '200 api')
  t.equal(api.seen.at(-1)!.url, '/?x=1')
  t.equal(await get('/api/x', { host: 'api.local', 'x-canary': '1' }), '200 canary', 'first match wins')
  t.equal(canary.seen.at(-1)!.url, '/api/x', 'no stripPrefix: path unchanged')
  t.equal(await get('/apis', { host: 'api.local' }), '404 GW_ROUTE_NOT_FOUND', 'prefixes match whole segments')
  t.equal(await get('/api/x', { host: 'api.local' }, 'POST'), '404 GW_ROUTE_NOT_FOUND', 'method not in the list')
  t.equal(await get('/api/x', { host: 'other.local' }), '404 GW_ROUTE_NOT_FOUND', 'other host')
  t.equal(await get('/w/1', { host: 'a.wild.test' }), '200 api', 'wildcard host')
  t.equal(await get('/w/1', { host: 'wild.test' }), '404 GW_ROUTE_NOT_FOUND', 'wildcard needs a subdomain')
  t.equal(await get('/static/app.js'), '200 web')
  t.equal(web.seen.at(-1)!.url, '/base/static/app.js', 'backend base path prepended')
})
