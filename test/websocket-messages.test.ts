// WebSocket messages pass the gateway unchanged: text, binary, 16 MB, fragmented, and pings.
import t from 'tap'
import { once } from 'node:events'
import { randomBytes } from 'node:crypto'
import { startGateway } from './helpers/gateway.js'
import { nextMessage, open, roundTrip, serverSockets, sha, startWsBackend, wsUrl, wsYaml } from './helpers/ws.js'

t.test('messages pass unchanged: text, binary, 16 MB, fragmented; a ping is answered by the backend', async (t) => {
  const b = await startWsBackend(t, 'b1')
  const gw = await startGateway(t, wsYaml([b]))
  const ws = await open(t, wsUrl(gw.port, '/chat'))
  t.equal(b.accepted, 1, 'the backend accepted the connection')

  let m = nextMessage(ws)
  ws.send('héllo wörld')
  let got = await m
  t.equal(got.isBinary, false, 'text stays text')
  t.equal(got.data.toString(), 'héllo wörld')

  const bin = Buffer.from([0, 1, 2, 0xfe, 0xff, 0x80])
  m = nextMessage(ws)
  ws.send(bin)
  got = await m
  t.equal(got.isBinary, true, 'binary stays binary')
  t.same([...got.data], [...bin])

  const big = randomBytes(16 * 1024 * 1024)
  m = nextMessage(ws)
  ws.send(big)
  got = await m
  t.equal(got.isBinary, true)
  t.equal(got.data.length, big.length, '16 MB came back')
  t.equal(sha(got.data), sha(big), 'byte for byte')

  const backendSide = serverSockets(b)[0]!
  const fragmentsSeen: boolean[] = []
  backendSide.on('message', (_d, isBinary) => { fragmentsSeen.push(isBinary) })
  m = nextMessage(ws)
  ws.send('frag', { fin: false })
  ws.send('men', { fin: false })
  ws.send('ted', { fin: true })
  got = await m
  t.equal(got.data.toString(), 'fragmented', 'a fragmented message arrives whole')
  t.equal(got.isBinary, false)
  t.same(fragmentsSeen, [false], 'the backend got it as one text message')

  const pings: string[] = []
  backendSide.on('ping', (d) => { pings.push(d.toString()) })
  const pong = once(ws, 'pong')
  ws.ping('are-you-there')
  const [pongData] = await pong as [Buffer]
  t.equal(pongData.toString(), 'are-you-there', 'pong with the ping payload')
  t.same(pings, ['are-you-there'], 'the ping went through to the backend, which answered it')

  t.equal(await roundTrip(ws, 'still open'), 'still open', 'the connection keeps working')
  t.equal(b.accepted, 1, 'all on one backend connection')
})
