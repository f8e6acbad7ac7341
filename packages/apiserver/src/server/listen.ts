// The HTTPS listener: the serving certificate, client certificates asked for (and checked by
// authentication, not by TLS, so that token and anonymous clients still connect), WebSocket
// upgrades handed to the ordinary path, and timeouts that let watches run for long.
import { createServer as createHttpsServer, type Server } from "node:https";
import { ServerResponse, type IncomingMessage } from "node:http";
import { readFileSync } from "node:fs";
import type { AddressInfo, Socket } from "node:net";
import type { ApiServerOptions } from "./options.js";

type ListenOptions = Pick<
  ApiServerOptions,
  "bindAddress" | "securePort" | "tlsCertFile" | "tlsPrivateKeyFile" | "clientCaFile"
>;

/** Listens on the secure port; resolves with the server and the port it got. */
export async function listenHttps(
  o: ListenOptions,
  handle: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<{ server: Server; port: number }> {
  const server = createHttpsServer(
    {
      cert: readFileSync(o.tlsCertFile),
      key: readFileSync(o.tlsPrivateKeyFile),
      ca: o.clientCaFile ? readFileSync(o.clientCaFile) : undefined,
      requestCert: Boolean(o.clientCaFile),
      rejectUnauthorized: false,
      // An idle keep-alive connection is closed after 30 s (it was 60): each open one holds a
      // TLS session and buffers here, and a burst of parallel requests used to leave dozens
      // per client. Long enough for a kubelet's 10 s heartbeats to reuse one; Skiff's client
      // closes its idle sockets first (15 s) and Node's agent reads the Keep-Alive hint.
      keepAliveTimeout: 30_000,
    },
    handle,
  );
  // pods/exec arrives as a WebSocket upgrade: it takes the ordinary path, whose handler
  // (kubelet-proxy.ts) takes the socket over.
  server.on("upgrade", (req: IncomingMessage, socket: Socket) => {
    const res = new ServerResponse(req);
    res.assignSocket(socket);
    handle(req, res);
  });
  server.headersTimeout = 60_000;
  server.requestTimeout = 0; // watches are long-running
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(o.securePort, o.bindAddress, () => resolve());
  });
  return { server, port: (server.address() as AddressInfo).port };
}
