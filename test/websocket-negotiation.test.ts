// The subprotocol and permessage-deflate are negotiated between client and backend, end to end.
import t from 'tap'
import { startGateway } from './helpers/gateway.js'
import { open, roundTrip, serverSockets, startWsBackend, wsUrl, wsYaml } from './helpers/ws.js'

t.test('subprotocol and permessage-deflate are negotiated with the backend end to end', async (t) => {
  const b = await startWsBackend(t, 'b1')
  const gw = await startGateway(t, wsYaml([b]))
  const ws = await open(t, wsUrl(gw.port), { protocols: ['chat.v2', 'chat.v1'] })
  t.equal(ws.protocol, 'chat.v2', 'the backend picked chat.v2 and the client got it')
  t.same(String(b.upgrades[0]!['sec-websocket-protocol']).split(/\s*,\s*/), ['chat.v2', 'chat.v1'], 'the whole offer, in order, reached the backend')
  t.match(String(b.upgrades[0]!['sec-websocket-extensions']), /permessage-deflate/, 'the backend saw the extension offer')
  t.match(ws.extensions, /permessage-deflate/, 'the client has permessage-deflate')
  t.match(serverSockets(b)[0]!.extensions, /permessage-deflate/, 'and so does the backend side')
  // Compressed frames (the payload compresses well) must survive the tunnel untouched.
  const text = 'abc'.repeat(10_000)
  t.equal(await roundTrip(ws, text), text, 'a compressed message round-trips')

  const plain = await open(t, wsUrl(gw.port), { perMessageDeflate: false })
  t.equal(plain.extensions, '', 'a client that offers no extension gets none')
  t.equal(b.upgrades[1]!['sec-websocket-extensions'], undefined, 'and the backend saw no offer')
  t.equal(await roundTrip(plain, text), text)
})
