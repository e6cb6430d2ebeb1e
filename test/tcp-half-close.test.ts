// Half-close through a tcp listener: a FIN from either side is passed on, and the other
// direction keeps flowing.
import t from 'tap'
import { startTcpBackend, startTcpGateway, tcpClient, tcpYaml } from './helpers/tcp.js'
import { waitFor, within } from './helpers/wait.js'

t.test('half-close is passed on both ways', async (t) => {
  t.test('the client ends its side; a backend that answers only after the FIN is heard', async (t) => {
    const replyOnEnd = await startTcpBackend(t, 'on-end', (socket) => {
      const chunks: Buffer[] = []
      socket.on('data', (c: Buffer) => chunks.push(c))
      socket.on('end', () => { socket.end(`got:${Buffer.concat(chunks).toString()}`) })
    })
    const gw = await startTcpGateway(t, tcpYaml([replyOnEnd]))
    const c = tcpClient(t, gw.tcpPort)
    await c.connected
    c.write('hello ')
    c.end('world')
    const r = await c.waitClosed()
    t.equal(r.data.toString(), 'got:hello world', 'the reply sent after the FIN arrived')
    t.ok(r.ended, 'then the end')
    t.equal(r.error, undefined)
  })

  t.test('the backend ends its side first; the client can still send', async (t) => {
    let heard!: (s: string) => void
    const received = new Promise<string>((resolve) => { heard = resolve })
    const banner = await startTcpBackend(t, 'banner', (socket) => {
      const chunks: Buffer[] = []
      socket.end('bye\n')
      socket.on('data', (c: Buffer) => chunks.push(c))
      socket.on('end', () => { heard(Buffer.concat(chunks).toString()) })
    })
    const gw = await startTcpGateway(t, tcpYaml([banner]))
    const c = tcpClient(t, gw.tcpPort, { allowHalfOpen: true })
    await c.waitFor('bye\n')
    await waitFor(() => c.ended, { message: 'the client saw the backend\'s FIN' })
    c.write('late ')
    c.end('data')
    t.equal(await within(received, { message: 'the backend heard the client\'s FIN' }), 'late data', 'what the client sent after the backend\'s FIN reached the backend')
    const r = await c.waitClosed()
    t.equal(r.error, undefined)
  })
})
