/**
 * Runs the gateway: reads and validates the config, builds the app, listens, and shuts down
 * gracefully. `node dist/server.js [--config PATH] [--validate]`.
 *
 * Exit codes: 0 after a clean shutdown (or a valid --validate); 1 for an invalid config, a
 * listener that cannot bind, or a crash. SIGTERM/SIGINT stop accepting and let in-flight requests
 * finish for up to shutdown.timeout; a second signal exits at once.
 */
import { buildApp } from './app.js'
import { ConfigError, loadConfigFile, resolveConfigPath } from './lib/config/load.js'
import type { GatewayConfig } from './lib/config/types.js'
import { loadModules, type LoadedModules } from './lib/config/modules.js'
import { createLogger } from './lib/logger.js'
import { reloadOnSighup, shutdownOnSignals } from './lib/signals.js'
import { WORKER_ENV } from './lib/cluster/messages.js'
import { portOf, runPrimary, runWorker } from './server-cluster.js'
import { openStore, type OpenedStore } from './lib/store/open.js'

const USAGE = `Usage: node dist/server.js [--config PATH] [--validate]
  --config PATH  the YAML config (default: $GATEWAY_CONFIG, else config/gateway.yaml)
  --validate     check the config and exit: 0 valid, 1 invalid
`

async function main (argv: string[]): Promise<void> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(USAGE)
    return
  }
  let path = '(config)'
  let config: GatewayConfig
  let modules: LoadedModules
  try {
    path = resolveConfigPath(argv, process.env, process.cwd())
    config = loadConfigFile(path, process.env)
    modules = await loadModules(config, path)
  } catch (err) {
    process.stderr.write(`${path}: invalid config\n${err instanceof ConfigError ? err.message : String(err)}\n`)
    process.exitCode = 1
    return
  }
  if (argv.includes('--validate')) {
    process.stdout.write(`${path}: ok\n`)
    return
  }

  // What the gateway runs is what its config store resumes (lib/store/open.ts): the file, or the
  // file's last document with the admin API's changes on top.
  let store: OpenedStore
  try {
    store = await openStore(path, process.env)
    if (store.config !== config) modules = await loadModules(store.config, path)
  } catch (err) {
    process.stderr.write(`${path}: ${err instanceof ConfigError ? `invalid config\n${err.message}` : `cannot open the config store: ${String(err)}`}\n`)
    process.exitCode = 1
    return
  }
  config = store.config
  const logger = createLogger(config.log)
  for (const { level, msg, ...rest } of store.notes) logger[level](rest, msg)
  if (config.workers.count > 1) {
    await runPrimary({ config, configPath: path, modules, logger, store })
    return
  }
  const app = await buildApp(config, { logger, configPath: path, modules, store })
  let where = 'client listeners'
  try {
    await app.ready()
    await app.traffic.listen()
    where = `${config.admin.host}:${config.admin.port} (admin)`
    await app.adminServer.listen({ host: config.admin.host, port: config.admin.port })
  } catch (err) {
    const e = err as NodeJS.ErrnoException
    // The client listeners name their address in their error; the admin server does not.
    app.log.fatal({ code: e.code }, where === 'client listeners' ? e.message : `cannot listen on ${where}: ${e.message}`)
    await app.close()
    process.exitCode = 1
    return
  }
  const ports = app.traffic.servers().map(portOf)
  app.fleet?.listening({ address: `${config.listen[0].host}:${ports[0]}`, admin: `${config.admin.host}:${portOf(app.adminServer.server)}` })
  app.log.info({ config: path, pools: Object.keys(config.pools), port: ports[0], ports, adminPort: portOf(app.adminServer.server) }, 'gateway ready')
  reloadOnSighup(app, path)
  shutdownOnSignals(app, { timeoutMs: config.shutdown.timeout, logger })
}

if (process.env[WORKER_ENV] !== undefined) await runWorker()
else await main(process.argv.slice(2))
