// The config files shipped in config/ (the demo's, docker compose's and the fleet profile's) load
// without an issue, with the environment docker-compose.yml gives them, so a change to the
// schema cannot leave one of them broken unnoticed (nothing else starts them: the docker
// files are not run here).
import t from 'tap'
import { readdirSync } from 'node:fs'
import { loadConfigFile } from '../lib/config/load.js'
import { repoPath } from './helpers/paths.js'

const ENV = { GATEWAY_ADMIN_TOKEN: 'a-token', GATEWAY_INSTANCE: 'gateway-a' }
const files = readdirSync(repoPath('config')).filter((f) => f.endsWith('.yaml') && f !== 'prometheus.yml')

t.ok(files.includes('fleet.yaml') && files.includes('docker.yaml') && files.includes('gateway.yaml'), 'the three shipped configs are there')
for (const f of files) {
  t.test(`config/${f} loads`, async (t) => {
    const config = loadConfigFile(repoPath(`config/${f}`), ENV)
    t.ok(Object.keys(config.pools).length > 0)
    if (f === 'fleet.yaml') {
      t.same(config.store.etcd?.endpoints, ['http://etcd:2379'])
      t.equal(config.store.redis?.url, 'redis://redis:6379')
      t.equal(config.store.instance, 'gateway-a')
    }
  })
}
