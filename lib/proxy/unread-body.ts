import { constants, type Http2ServerRequest } from 'node:http2'
import type { IncomingMessage, ServerResponse } from 'node:http'

/**
 * The answer went out before the client's HTTP/2 request body was read to its end (the backend
 * answered without reading it, or the gateway refused the request). HTTP/1.1 needs nothing here:
 * Node reads and drops the rest of the body, or the gateway closes the connection. On HTTP/2 the
 * unread DATA would stay in the connection's flow-control window, so the client soon could not
 * send on any stream of that connection. Once the answer has been written, the stream is closed
 * with RST_STREAM NO_ERROR, which asks the client to stop sending the body without failing the
 * answer (RFC 9113 section 8.1).
 *
 * Contract: called once per request, when its answer has been handed to `res`; does nothing for
 * HTTP/1.1 or a body read to its end.
 */
export function closeUnreadBody (req: IncomingMessage, res: ServerResponse): void {
  if (req.httpVersionMajor !== 2 || req.complete) return
  const stream = (req as unknown as Http2ServerRequest).stream
  const close = (): void => { if (!stream.destroyed && !stream.closed) stream.close(constants.NGHTTP2_NO_ERROR) }
  if (res.writableFinished) close()
  else res.once('finish', close)
}
