// No backend can be reached: the upgrade is refused with a catalogue JSON error, never a 101.
import t from 'tap'
import { deadUrl, startGateway } from './helpers/gateway.js'
import { openWs, wsUrl, wsYaml } from './helpers/ws.js'

t.test('no backend can be reached: the upgrade is refused with a JSON error, not a 101', async (t) => {
  const gw = await startGateway(t, wsYaml([{ url: await deadUrl() }, { url: await deadUrl() }]))
  const err = await openWs(wsUrl(gw.port)).then(() => undefined, (e: { status?: number, body?: string }) => e)
  t.ok(err !== undefined, 'the upgrade failed')
  t.ok(err!.status === 502 || err!.status === 503, `answered ${String(err!.status)}`)
  const body = JSON.parse(err!.body!) as { error: string }
  t.match(body.error, /^GW_/)
  t.notOk(err!.body!.includes('127.0.0.1'), 'the body names no backend address')
})
