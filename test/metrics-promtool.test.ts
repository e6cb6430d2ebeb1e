import t from 'tap'
import { spawnSync } from 'node:child_process'
import { poolYaml, send, startBackend, startGateway } from './helpers/gateway.js'
import { scrape } from './helpers/metrics.js'

const promtool = spawnSync('promtool', ['--version'], { encoding: 'utf8' })
const skip = promtool.error !== undefined ? 'promtool is not installed (Debian package prometheus; .ci/run installs it): not checked' : false

t.test('promtool check metrics: no parse error, no lint problem in the gateway\'s own metrics', { skip }, async (t) => {
  const live = await startBackend(t, 'live')
  const gw = await startGateway(t, poolYaml([live], '', '    circuitBreaker: {}\n    retry: { attempts: 2 }\n    healthCheck: { passive: {} }\n'))
  for (let i = 0; i < 5; i++) await send(gw.url + '/')
  await send(gw.url + '/', { method: 'PATCH' })
  const { text } = await scrape(gw.app)
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' })
  const problems = `${r.stdout}${r.stderr}`.split('\n').filter((l) => l.trim() !== '')
  t.not(r.status, 1, `no parse error (promtool said: ${problems.join('; ') || 'nothing'})`)
  const ours = problems.filter((l) => l.includes('gateway_'))
  t.same(ours, [], 'no lint problem in gateway_* metrics')
  if (problems.length > 0) t.comment(`lint notes on third-party default metrics: ${problems.join('; ')}`)
})
