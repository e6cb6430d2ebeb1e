import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'

/**
 * The root logger's level follows `log.level` across reloads ("log" participant). Loggers made
 * with child() before a reload keep the level they were made with (pino). The access-log
 * settings are the proxy's (plugins/proxy.ts).
 */
async function logPlugin (app: FastifyInstance): Promise<void> {
  app.reload.register({
    name: 'log',
    prepare: (next) => next.log.level === app.log.level
      ? undefined
      : { commit: () => { app.log.level = next.log.level }, abort: () => {} }
  })
}

export default fp(logPlugin, { name: 'gateway-log', dependencies: ['gateway-reload'], fastify: '5.x' })
