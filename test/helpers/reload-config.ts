/**
 * Configs for app.reloadConfig() in tests, shaped as startGateway (helpers/gateway.ts) shapes
 * its own: the HTTP listener on 127.0.0.1:0, so a reload does not move it to the config's port.
 */
import { loadConfigText } from '../../lib/config/load.js'
import type { GatewayConfig } from '../../lib/config/types.js'

export function reloadConfigOf (yaml: string): GatewayConfig {
  const c = loadConfigText(yaml, { env: {} })
  c.listen.port = 0
  c.listen.host = '127.0.0.1'
  return c
}
