/** A StatsD server for tests: a real UDP socket on 127.0.0.1 port 0. */
import dgram from 'node:dgram'
import type { AddressInfo } from 'node:net'
import { within } from './wait.js'

/** A StatsD server: a real UDP socket collecting every metric line it receives. */
export async function statsdServer (t: { teardown: (fn: () => void) => void }): Promise<{ port: number, lines: string[], waitFor: (pred: (l: string) => boolean) => Promise<string>, close: () => void }> {
  const sock = dgram.createSocket('udp4')
  const lines: string[] = []
  const waiters: Array<() => void> = []
  sock.on('message', (msg) => {
    lines.push(...msg.toString().split('\n').filter((l) => l !== ''))
    for (const w of waiters.splice(0)) w()
  })
  await new Promise<void>((resolve) => sock.bind(0, '127.0.0.1', resolve))
  let open = true
  const close = (): void => { if (open) { open = false; sock.close() } }
  t.teardown(close)
  /** The first line matching `pred`, once it has arrived; fails after WAIT_TIMEOUT_MS (helpers/wait.ts). */
  const waitFor = async (pred: (l: string) => boolean): Promise<string> => {
    const arrival = async (): Promise<string> => {
      for (;;) {
        const hit = lines.find(pred)
        if (hit !== undefined) return hit
        await new Promise<void>((resolve) => waiters.push(resolve))
      }
    }
    return await within(arrival(), { message: `a StatsD line matching ${pred.toString()} arrived`, seen: () => lines.slice(-10) })
  }
  return { port: (sock.address() as AddressInfo).port, lines, waitFor, close }
}
