import t from 'tap'
import { loadConfigText } from '../lib/config/load.js'
import { poolYaml, send, startBackends, startGateway } from './helpers/gateway.js'

/**
 * Between prepare and commit (across processes, later, that window can be long) the running
 * gateway serves exactly as before: the new pools, built in prepare and taking over the running
 * backends, change neither the backends' flags nor the shared algorithm's view until the commit.
 * A test participant registered last holds the reload between the two steps.
 */
t.test('while a reload is prepared the running pools serve as before; refused, it changed nothing; committed, it applies', async (t) => {
  const [b1, b2, b3] = await startBackends(t, 3)
  const gw = await startGateway(t, poolYaml([b1!, b2!]))
  const pool = gw.app.pools.get('web')!
  void pool.drain(`127.0.0.1:${b2!.port}`)

  // The gate: armed before each reload, reached by its prepare, then opened (or refusing) by the test.
  let decide!: (refuse: boolean) => void
  let decision!: Promise<boolean>
  let arrive!: () => void
  let arrived!: Promise<void>
  const arm = (): void => {
    decision = new Promise((resolve) => { decide = resolve })
    arrived = new Promise((resolve) => { arrive = resolve })
  }
  gw.app.reload.register({
    name: 'test-gate',
    prepare: async () => {
      arrive()
      if (await decision) throw new Error('refused by the test')
      return undefined
    }
  })
  const next = (): ReturnType<typeof loadConfigText> => {
    const c = loadConfigText(poolYaml([b1!, b2!, b3!]), { env: {} })
    c.listen = gw.app.gatewayConfig.listen
    return c
  }

  arm()
  const refused = gw.app.reloadConfig(next())
  await arrived
  const during: string[] = []
  for (let i = 0; i < 6; i++) during.push((await send(gw.url + '/')).text)
  t.same(during, ['b1', 'b1', 'b1', 'b1', 'b1', 'b1'], 'prepared: only the running pool\'s ready backend serves (b2 drained, b3 not yet in)')
  t.equal(gw.app.pools.get('web'), pool, 'the running pool is still the one in force')
  t.same(pool.snapshot().map((s) => s.draining), [false, true], 'the API drain still holds')
  decide(true)
  await t.rejects(refused, /refused by the test/)
  t.equal(gw.app.pools.get('web'), pool, 'refused: the same pool')
  t.same(pool.snapshot().map((s) => s.draining), [false, true], 'and the drain still holds')
  for (let i = 0; i < 4; i++) t.equal((await send(gw.url + '/')).text, 'b1')
  t.equal(b3!.seen.length, 0, 'the backend only the refused config had got nothing')

  arm()
  const applied = gw.app.reloadConfig(next())
  await arrived
  decide(false)
  await applied
  const after = new Set<string>()
  for (let i = 0; i < 6; i++) after.add((await send(gw.url + '/')).text)
  t.same([...after].sort(), ['b1', 'b2', 'b3'], 'committed: the file\'s backends serve, the drain undone')
})
