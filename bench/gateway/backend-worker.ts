/**
 * Worker-thread entry of `npm run bench` (started by bench/gateway/backends.ts): three demo
 * backends, a WebSocket echo server and a TCP echo server on free ports of HOST. Posts their
 * ports (BackendPorts) once all listen; on any message from the main thread it closes them all and
 * closes its port, so the worker exits.
 */
import { parentPort } from 'node:worker_threads'
import { startBackend, type RunningBackend } from '../../demo/backend.js'
import type { BackendPorts } from './backends.js'
import { HOST } from './common.js'
import { startEchoServers, type EchoServers } from './streams.js'

const backends: RunningBackend[] = []
for (let i = 1; i <= 3; i++) backends.push(await startBackend({ name: `backend-${i}`, host: HOST }))
const echo: EchoServers = await startEchoServers(HOST)
parentPort!.once('message', () => {
  void Promise.allSettled([...backends.map(b => b.close()), echo.close()]).then(() => parentPort!.close())
})
parentPort!.postMessage({ ports: backends.map(b => b.port), wsPort: echo.wsPort, tcpPort: echo.tcpPort } satisfies BackendPorts)
