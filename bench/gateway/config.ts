/**
 * The gateway's side of `npm run bench`: free ports for it and the YAML config it runs with.
 *
 * freePorts(n) returns n distinct ports that were free a moment ago (all held open together, then
 * released for the gateway to take). gatewayYaml() is the whole config: round-robin over the HTTP
 * backends, a WebSocket route on /ws and a TCP listener to the echo servers, a fresh admin token,
 * quiet logs unless accessLog, and a drain time (SHUTDOWN_TIMEOUT) shorter than the SIGKILL
 * fallback of stopChild().
 */
import { randomBytes } from 'node:crypto'
import { createServer, type AddressInfo, type Server } from 'node:net'
import type { BackendGroup } from './backends.js'
import { HOST } from './common.js'
import { SHUTDOWN_TIMEOUT } from './gateway.js'

export async function freePorts (n: number): Promise<number[]> {
  const servers: Server[] = []
  for (let i = 0; i < n; i++) {
    const s = createServer()
    await new Promise<void>((resolve, reject) => { s.once('error', reject); s.listen(0, HOST, resolve) })
    servers.push(s)
  }
  const ports = servers.map(s => (s.address() as AddressInfo).port)
  await Promise.all(servers.map(s => new Promise(resolve => s.close(resolve))))
  return ports
}

export function gatewayYaml (port: number, adminPort: number, tcpPort: number, backends: BackendGroup, accessLog: boolean, metrics: boolean): string {
  return [
    '# Written by bench/run.ts for one run; deleted afterwards.',
    `listen: { host: ${HOST}, port: ${port} }`,
    `admin: { host: ${HOST}, port: ${adminPort}, token: "${randomBytes(16).toString('hex')}" }`,
    'pools:',
    '  bench:',
    '    algorithm: round-robin',
    '    backends:',
    ...backends.ports.map(p => `      - url: http://${HOST}:${p}`),
    '  wsbench:',
    `    backends: [{ url: "http://${HOST}:${backends.wsPort}" }]`,
    '  tcpbench:',
    `    backends: [{ url: "tcp://${HOST}:${backends.tcpPort}" }]`,
    'routes:',
    '  - { match: { pathPrefix: /ws }, pool: wsbench, websocket: true }',
    '  - { pool: bench }',
    `tcp: [{ listen: { host: ${HOST}, port: ${tcpPort} }, pool: tcpbench }]`,
    'websocket: { drainTimeout: 1s }',
    accessLog ? 'log: { level: info, access: true }' : 'log: { level: warn, access: false }',
    `metrics: { enabled: ${metrics} }`,
    `shutdown: { timeout: ${SHUTDOWN_TIMEOUT} }`,
    ''
  ].join('\n')
}
