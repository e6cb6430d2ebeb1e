/**
 * Reading raw HTTP/1.1 bytes as a test sees them off a socket (see rawExchange in gateway.ts),
 * for tests where no client library may parse or repair the gateway's answer.
 */
import type { Test } from 'tap'

/** The first response found in a raw byte stream, and whatever follows it. */
export interface RawReply {
  /** The status code of an `HTTP/1.1 NNN ` status line; 0 when the head has no such line. */
  status: number
  /** Everything before the first blank line (status line and header lines), without that CRLFCRLF. */
  head: string
  /** Content-Length bytes after the head; without a Content-Length, everything after the head. */
  body: string
  /** What follows the body: '' when the stream held exactly one response (or no Content-Length). */
  rest: string
}

/**
 * Splits `text` (decoded byte for byte, e.g. latin1) at the first CRLFCRLF into the first
 * response's head, body (framed by Content-Length only: chunked bodies are not decoded) and rest.
 * Returns undefined when `text` has no complete head.
 */
export function firstReply (text: string): RawReply | undefined {
  const end = text.indexOf('\r\n\r\n')
  if (end === -1) return undefined
  const head = text.slice(0, end)
  const status = /^HTTP\/1\.1 (\d{3}) /.exec(head)
  const cl = /\r\ncontent-length: *(\d+)/i.exec(head)
  const len = cl === null ? text.length - end - 4 : Number(cl[1])
  return { status: status === null ? 0 : Number(status[1]), head, body: text.slice(end + 4, end + 4 + len), rest: text.slice(end + 4 + len) }
}

/**
 * Error bodies never carry internal addresses, errno strings or stack traces: one notOk on `t`
 * for each of '127.0.0.1', 'ECONN', 'Error:' and '    at ' (a stack frame), each named after it.
 */
export function assertNoLeak (t: Test, body: string): void {
  for (const s of ['127.0.0.1', 'ECONN', 'Error:', '    at ']) t.notOk(body.includes(s), `body does not contain ${JSON.stringify(s)}`)
}
