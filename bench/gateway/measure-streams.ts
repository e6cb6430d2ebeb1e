/**
 * WebSocket echo round trips and TCP echo throughput of `npm run bench`, straight to the echo
 * servers and through the gateway (a warm-up, if any, then a measured run of each), printed as two
 * lines. Returns the summary's `websocket` and `tcp` parts and the count of socket errors through
 * the gateway (non-zero makes the bench exit 1). Throws 'stopped' once cleanup has begun.
 */
import type { BackendGroup } from './backends.js'
import { HOST, out } from './common.js'
import { throwIfStopped } from './load.js'
import type { Options } from './options.js'
import { tcpLoad, wsLoad } from './streams.js'

export interface StreamsSummary { websocket: object, tcp: object, errors: number }

export async function measureStreams (opts: Options, backends: BackendGroup, port: number, tcpPort: number): Promise<StreamsSummary> {
  const wsConnections = Math.min(opts.connections, 32)
  const tcpConnections = 4
  const run = async <R>(what: string, fn: (s: number) => Promise<R>): Promise<R> => {
    throwIfStopped()
    if (opts.warmup > 0) await fn(opts.warmup)
    out(`  ${what}: measuring ${opts.duration} s ...`)
    return await fn(opts.duration)
  }
  const wsDirect = await run('websocket direct', async (s) => await wsLoad(`ws://${HOST}:${backends.wsPort}/ws`, wsConnections, s))
  const wsGateway = await run('websocket gateway', async (s) => await wsLoad(`ws://${HOST}:${port}/ws`, wsConnections, s))
  const tcpDirect = await run('tcp direct', async (s) => await tcpLoad(HOST, backends.tcpPort, tcpConnections, s))
  const tcpGateway = await run('tcp gateway', async (s) => await tcpLoad(HOST, tcpPort, tcpConnections, s))
  out()
  out(`  websocket echo, ${wsConnections} connections, 64 B messages: direct ${wsDirect.messagesPerSecond.toFixed(0)} msg/s, ` +
    `gateway ${wsGateway.messagesPerSecond.toFixed(0)} msg/s (${(wsGateway.messagesPerSecond / wsDirect.messagesPerSecond).toFixed(2)} of direct)`)
  out(`  tcp echo, ${tcpConnections} connections, 64 KiB writes: direct ${tcpDirect.megabytesPerSecond.toFixed(0)} MB/s, ` +
    `gateway ${tcpGateway.megabytesPerSecond.toFixed(0)} MB/s (${(tcpGateway.megabytesPerSecond / tcpDirect.megabytesPerSecond).toFixed(2)} of direct)`)
  const errors = wsGateway.errors + tcpGateway.errors
  if (errors > 0) out(`  warning: ${errors} socket errors through the gateway`)
  return {
    websocket: { connections: wsConnections, direct: Math.round(wsDirect.messagesPerSecond), gateway: Math.round(wsGateway.messagesPerSecond) },
    tcp: { connections: tcpConnections, directMBps: Math.round(tcpDirect.megabytesPerSecond), gatewayMBps: Math.round(tcpGateway.megabytesPerSecond) },
    errors
  }
}
