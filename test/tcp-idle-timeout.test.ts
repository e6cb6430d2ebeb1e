// idleTimeout of a tcp listener: a connection without traffic either way is closed by the
// gateway. The timeout is a socket timer (lib/tcp/tunnel.ts, socket.setTimeout), so these run on
// real time: the traffic is paced with real timers, and no timing is asserted.
import t from 'tap'
import { openTcp, startTcpBackend, startTcpBackends, startTcpGateway, tcpClient, tcpYaml, whoami } from './helpers/tcp.js'
import { waitFor } from './helpers/wait.js'

t.test('idleTimeout: a connection without traffic is closed by the gateway; traffic either way keeps it open', async (t) => {
  t.test('an idle connection is closed', async (t) => {
    const [b] = await startTcpBackends(t, 1)
    const gw = await startTcpGateway(t, tcpYaml([b!], { listener: { idleTimeout: '300ms' } }))
    const { name, client } = await whoami(t, gw.tcpPort)
    t.equal(name, 't1')
    const r = await client.waitClosed()
    t.equal(r.data.toString(), 't1\n', 'nothing after the answer')
    await waitFor(() => b!.open === 0, { message: 'the backend connection is closed too', seen: () => b!.open })
    await waitFor(() => openTcp(gw.app) === 0, { message: 'the gateway counts it closed', seen: () => openTcp(gw.app) })
    const line = gw.logs.find((l) => l.msg === 'tcp connection closed')
    t.equal(line?.endedBy, 'idle', 'logged as ended by the idle timeout')
  })

  t.test('client traffic keeps the connection open', async (t) => {
    const [b] = await startTcpBackends(t, 1)
    const gw = await startTcpGateway(t, tcpYaml([b!], { listener: { idleTimeout: '400ms' } }))
    const { client } = await whoami(t, gw.tcpPort)
    for (let i = 0; i < 24; i++) { // 24 x 50 ms: three idle timeouts
      t.equal(await client.echo(`p${i}`), `p${i}`)
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    t.notOk(client.socket.destroyed || client.ended, 'still open')
    await client.waitClosed() // bounded: rejects when the connection is not closed within 5 s
    t.pass('closed once the traffic stopped')
  })

  t.test('backend traffic alone keeps the connection open', async (t) => {
    const ticker = await startTcpBackend(t, 'ticker', (socket) => {
      let n = 0
      const timer = setInterval(() => {
        if (n++ < 20) socket.write('.')
        else clearInterval(timer)
      }, 50)
      socket.on('close', () => { clearInterval(timer) })
    })
    const gw = await startTcpGateway(t, tcpYaml([ticker], { listener: { idleTimeout: '400ms' } }))
    const c = tcpClient(t, gw.tcpPort)
    await c.waitFor(20)
    t.equal(c.text, '.'.repeat(20), 'every tick arrived: the connection outlived several idle timeouts')
    const r = await c.waitClosed()
    t.equal(r.data.length, 20)
  })
})
