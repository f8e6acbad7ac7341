// The DNS listeners: one UDP socket and one TCP server on the same address and port, both
// feeding the handler. A slow or hostile client can hold a TCP connection only so long, and
// a handler that throws costs one answer, never the listener.
import { createSocket } from "node:dgram";
import type { Socket as UdpSocket } from "node:dgram";
import type { LookupOneOptions } from "node:dns";
import { lookup } from "node:dns/promises";
import { createServer, isIP, isIPv6 } from "node:net";
import type { Server, Socket } from "node:net";
import type { Logger } from "@skiff/client";
import type { DnsHandler } from "./handler.js";

/** Idle TCP connections are closed after this long (RFC 7766 suggests seconds). */
const tcpIdleMs = 10_000;
const maxTcpConnections = 1000;

/**
 * The UDP socket's resolver for send() and bind(): every answer goes back to the address the
 * query came from, and the socket binds to an address listen() resolved, both IP literals.
 * dgram's default (dns.lookup) gives a literal back a tick later, which costs about a
 * microsecond per answer.
 */
const literal = (
  address: string,
  _family: LookupOneOptions, // (dgram passes 4 or 6)
  callback: (err: NodeJS.ErrnoException | null, address: string, family: number) => void,
): void => callback(null, address, address.includes(":") ? 6 : 4);

export class DnsListeners {
  private udp: UdpSocket | undefined;
  private tcp: Server | undefined;
  private readonly sockets = new Set<Socket>();
  port = 0;

  constructor(
    private readonly handler: DnsHandler,
    private readonly log: Logger,
  ) {}

  /** Listens on address:port for both transports; port 0 picks one free for both. */
  async listen(name: string, port: number): Promise<void> {
    const address = isIP(name) ? name : (await lookup(name)).address;
    for (let attempt = 0; ; attempt++) {
      const udp = await this.listenUdp(address, port);
      const chosen = udp.address().port;
      try {
        this.tcp = await this.listenTcp(address, chosen);
        this.udp = udp;
        this.port = chosen;
        return;
      } catch (err) {
        udp.close();
        // Port 0 chose a UDP port whose TCP twin is taken: choose again.
        if (port !== 0 || attempt >= 10) throw err;
      }
    }
  }

  private listenUdp(address: string, port: number): Promise<UdpSocket> {
    return new Promise((resolve, reject) => {
      const socket = createSocket({
        type: isIPv6(address) ? "udp6" : "udp4",
        recvBufferSize: 4 << 20,
        lookup: literal,
      });
      socket.once("error", reject);
      socket.on("message", (msg, rinfo) => {
        try {
          const out = this.handler.handle(msg, "udp");
          if (out instanceof Promise) {
            out.then(
              (o) => o && socket.send(o, rinfo.port, rinfo.address),
              (err: unknown) => this.failed(err),
            );
          } else if (out) socket.send(out, rinfo.port, rinfo.address);
        } catch (err) {
          this.failed(err);
        }
      });
      socket.bind(port, address, () => {
        socket.off("error", reject);
        socket.on("error", (err) => this.log.warn({ err: err.message }, "UDP socket error"));
        resolve(socket);
      });
    });
  }

  private listenTcp(address: string, port: number): Promise<Server> {
    return new Promise((resolve, reject) => {
      const server = createServer((s) => this.serveTcp(s));
      server.maxConnections = maxTcpConnections;
      server.once("error", reject);
      server.listen(port, address, () => {
        server.off("error", reject);
        resolve(server);
      });
    });
  }

  /** One TCP connection: 2-byte length-prefixed messages, answered as they come (RFC 7766). */
  private serveTcp(socket: Socket): void {
    this.sockets.add(socket);
    socket.setTimeout(tcpIdleMs, () => socket.destroy());
    socket.on("error", () => socket.destroy());
    socket.on("close", () => this.sockets.delete(socket));
    let buf: Buffer = Buffer.alloc(0);
    socket.on("data", (d: Buffer) => {
      buf = buf.length ? Buffer.concat([buf, d]) : d;
      while (buf.length >= 2) {
        const len = buf.readUInt16BE(0);
        if (buf.length < 2 + len) break;
        const msg = buf.subarray(2, 2 + len);
        buf = buf.subarray(2 + len);
        if (len < 12) {
          socket.destroy(); // not even a header: nothing to answer, nothing sane to expect next
          return;
        }
        const reply = (out: Buffer | undefined): void => {
          if (!out || socket.destroyed) return;
          const prefix = Buffer.alloc(2);
          prefix.writeUInt16BE(out.length);
          socket.write(Buffer.concat([prefix, out]));
        };
        try {
          const out = this.handler.handle(msg, "tcp");
          if (out instanceof Promise) out.then(reply, (err: unknown) => this.failed(err));
          else reply(out);
        } catch (err) {
          this.failed(err);
        }
      }
    });
  }

  private failed(err: unknown): void {
    this.log.error(
      { err: err instanceof Error ? err.message : String(err) },
      "answering a query failed",
    );
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await Promise.all([
      new Promise<void>((resolve) => (this.udp ? this.udp.close(() => resolve()) : resolve())),
      new Promise<void>((resolve) => (this.tcp ? this.tcp.close(() => resolve()) : resolve())),
    ]);
    this.udp = undefined;
    this.tcp = undefined;
  }
}
