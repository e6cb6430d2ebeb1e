import t from 'tap'
import { poolYaml, send, startBackends, startGateway } from './helpers/gateway.js'

const STICKY = '    algorithm: { name: sticky, cookie: pin, maxAge: 3600 }\n'

t.test('sticky: the first answer pins the client with a cookie; later requests stay on that backend', async (t) => {
  const backends = await startBackends(t, 3)
  const gw = await startGateway(t, poolYaml(backends, '', STICKY))
  const first = await send(gw.url + '/')
  const setCookie = String(first.headers['set-cookie'])
  t.match(setCookie, /^pin=[0-9a-z]+; Path=\/; HttpOnly; SameSite=Lax; Max-Age=3600$/)
  t.notMatch(setCookie, /127\.0\.0\.1|:\d{4,5}/, 'the cookie does not reveal the backend address')
  const cookie = setCookie.split(';')[0]!
  for (let i = 0; i < 5; i++) {
    const r = await send(gw.url + '/', { headers: { cookie: `other=1; ${cookie}` } })
    t.equal(r.text, first.text, `request ${i + 1} stays on ${first.text}`)
    t.equal(r.headers['set-cookie'], undefined, 'no new cookie while the pin holds')
  }
  const fresh = await send(gw.url + '/')
  t.not(fresh.text, first.text, 'a client without the cookie is placed by the inner round robin')
})

t.test('sticky: when the pinned backend is not ready, the client moves and is re-pinned', async (t) => {
  const backends = await startBackends(t, 2)
  const gw = await startGateway(t, poolYaml(backends, '', STICKY))
  const first = await send(gw.url + '/')
  const cookie = String(first.headers['set-cookie']).split(';')[0]!
  const pinned = backends.find((b) => b.name === first.text)!
  gw.app.pools.get('web')!.setEnabled(`127.0.0.1:${pinned.port}`, false)
  const moved = await send(gw.url + '/', { headers: { cookie } })
  t.not(moved.text, first.text)
  t.match(String(moved.headers['set-cookie']), /^pin=/, 're-pinned to the new backend')
  t.not(String(moved.headers['set-cookie']).split(';')[0], cookie)
})

t.test('sticky with an inner algorithm that needs a key of its own is a config error', async (t) => {
  const backends = await startBackends(t, 1)
  await t.rejects(startGateway(t, poolYaml(backends, '', '    algorithm: { name: sticky, inner: nope }\n')), /pools\.web\.algorithm\.inner: unknown algorithm "nope"/)
})
