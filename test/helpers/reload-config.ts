/**
 * Configs for app.reloadConfig() in tests, shaped as startGateway (helpers/gateway.ts) shapes
 * its own: the client listeners on 127.0.0.1:0, so a reload does not move them to the config's ports.
 */
import { loadConfigText } from '../../lib/config/load.js'
import type { GatewayConfig } from '../../lib/config/types.js'

export function reloadConfigOf (yaml: string): GatewayConfig {
  return onLoopback(loadConfigText(yaml, { env: {} }))
}

/** Every client listener on 127.0.0.1, port 0 (a free port each); returns the config. */
export function onLoopback (c: GatewayConfig): GatewayConfig {
  for (const l of c.listen) {
    l.port = 0
    l.host = '127.0.0.1'
  }
  return c
}
