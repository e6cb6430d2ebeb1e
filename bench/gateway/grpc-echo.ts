/**
 * The gRPC side of `npm run bench -- --mode grpc`: a unary echo service and a client for it,
 * with @grpc/grpc-js (a dev dependency, like autocannon).
 *
 * The service is defined in code with identity (de)serializers: messages are raw bytes, so no
 * .proto file has to ship next to dist/ and no protobuf encoding is measured, only gRPC framing
 * and HTTP/2, which is what the gateway touches. On the wire it is ordinary gRPC (the
 * length-prefixed messages, grpc-status trailers) at ECHO_PATH.
 */
import * as grpc from '@grpc/grpc-js'

export const ECHO_SERVICE = 'bench.v1.Echo'
export const ECHO_PATH = `/${ECHO_SERVICE}/Say`

const same = (b: Buffer): Buffer => b
const echoService: grpc.ServiceDefinition = {
  Say: { path: ECHO_PATH, requestStream: false, responseStream: false, requestSerialize: same, requestDeserialize: same, responseSerialize: same, responseDeserialize: same }
}

export interface GrpcEchoServer { port: number, close: () => Promise<void> }

/** An h2c gRPC server on host, free port, answering Say with the request's bytes. */
export async function startGrpcEcho (host: string): Promise<GrpcEchoServer> {
  const server = new grpc.Server()
  server.addService(echoService, {
    Say: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => { cb(null, call.request) }
  })
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${host}:0`, grpc.ServerCredentials.createInsecure(), (err, p) => { if (err !== null) reject(err); else resolve(p) })
  })
  // forceShutdown: a bench has nothing to drain, and tryShutdown waits for idle clients.
  return { port, close: async () => { server.forceShutdown() } }
}

/**
 * A client with a channel (one HTTP/2 connection) of its own: grpc-js otherwise shares one
 * subchannel between clients with the same target, and N clients would be one connection.
 * `ca` given: TLS to the target, verifying against it (the bench's self-signed certificate).
 */
export function echoClient (target: string, ca?: Buffer): grpc.Client {
  const creds = ca === undefined ? grpc.credentials.createInsecure() : grpc.credentials.createSsl(ca)
  // Over TLS the certificate is checked for localhost, which is also the SNI sent (grpc-js
  // would send the target's IP address, which RFC 6066 forbids and Node warns about).
  const tls = ca === undefined ? {} : { 'grpc.ssl_target_name_override': 'localhost', 'grpc.default_authority': 'localhost' }
  return new grpc.Client(target, creds, { 'grpc.use_local_subchannel_pool': 1, ...tls })
}

/** One unary call; resolves with null on success or the error (a grpc.ServiceError). */
export function callEcho (client: grpc.Client, payload: Buffer): Promise<Error | null> {
  return new Promise((resolve) => {
    client.makeUnaryRequest(ECHO_PATH, same, same, payload, (err) => { resolve(err ?? null) })
  })
}
