/**
 * The admin API over a real socket: makes the gateway's admin listener listen on port 0
 * (127.0.0.1, once) and returns a JSON request helper against it.
 */
import type { AddressInfo } from 'node:net'
import type { FastifyInstance } from 'fastify'
import { send } from './gateway.js'

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read answer fields freely
export type AdminCall = (method: string, path: string, body?: unknown, auth?: string) => Promise<{ status: number, json: any }>

/** `token`, when given, is sent as the bearer token unless a call passes its own `auth`. */
export async function admin (app: FastifyInstance, token?: string): Promise<AdminCall> {
  if (!app.adminServer.server.listening) await app.adminServer.listen({ port: 0, host: '127.0.0.1' })
  const base = `http://127.0.0.1:${(app.adminServer.server.address() as AddressInfo).port}`
  return async (method, path, body, auth = token) => {
    const headers: Record<string, string> = {}
    if (body !== undefined) headers['content-type'] = 'application/json'
    if (auth !== undefined) headers.authorization = `Bearer ${auth}`
    const r = await send(base + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) })
    return { status: r.status, json: r.text.startsWith('{') ? JSON.parse(r.text) : r.text }
  }
}
