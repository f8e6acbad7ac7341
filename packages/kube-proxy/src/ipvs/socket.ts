// A generic-netlink socket that sends encoded requests and collects their replies: the
// kernel's ACK or error, or every part of a dump up to NLMSG_DONE. The socket itself is the
// npm package `netlink` (a raw AF_NETLINK socket); the bytes are ours (netlink.ts).
import { RawNetlinkSocket } from "netlink";
import type { MessageHeader, NetlinkMessage } from "./netlink.js";
import { NLMSG_DONE, NLMSG_ERROR, errorCode, splitMessages } from "./netlink.js";

const NETLINK_GENERIC = 16;

/** The kernel refused a request; errno is positive (ENOENT = 2, EEXIST = 17, ...). */
export class NetlinkError extends Error {
  constructor(
    readonly errno: number,
    what: string,
  ) {
    super(`${what}: netlink error ${errno}${errnoNames[errno] ? ` (${errnoNames[errno]})` : ""}`);
  }
}

const errnoNames: Record<number, string> = {
  1: "EPERM",
  2: "ENOENT",
  3: "ESRCH",
  17: "EEXIST",
  22: "EINVAL",
  95: "EOPNOTSUPP",
};

/** Builds a request given its header (family id, sequence number). */
export type Request = (h: MessageHeader) => Buffer;

export class NetlinkConnection {
  private readonly socket = new RawNetlinkSocket(NETLINK_GENERIC);
  private seq = Math.floor(Math.random() * 0x7fffffff);
  // One request at a time: replies are matched by sequence number, and a sync is sequential.
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly timeoutMs = 5_000) {
    this.socket.unref(); // an idle socket must not keep the process alive
  }

  /** Sends one request and resolves with its reply messages (none for a plain ACK). */
  request(familyId: number, build: Request, what: string): Promise<NetlinkMessage[]> {
    const run = (): Promise<NetlinkMessage[]> => this.exchange(familyId, build, what);
    const result = this.queue.then(run, run);
    this.queue = result.catch(() => {});
    return result;
  }

  close(): void {
    this.socket.close();
  }

  private exchange(familyId: number, build: Request, what: string): Promise<NetlinkMessage[]> {
    const seq = (this.seq = (this.seq + 1) >>> 0);
    const replies: NetlinkMessage[] = [];
    return new Promise<NetlinkMessage[]>((resolve, reject) => {
      const finish = (err: Error | undefined): void => {
        clearTimeout(timer);
        this.socket.off("message", onMessage);
        this.socket.off("error", onError);
        this.socket.unref();
        if (err) reject(err);
        else resolve(replies);
      };
      const onMessage = (data: Buffer): void => {
        let messages: NetlinkMessage[];
        try {
          messages = splitMessages(data);
        } catch (err) {
          finish(err instanceof Error ? err : new Error(String(err)));
          return;
        }
        for (const m of messages) {
          if (m.seq !== seq) continue; // a late reply to a request that timed out
          if (m.type === NLMSG_ERROR) {
            const code = errorCode(m);
            return finish(code === 0 ? undefined : new NetlinkError(-code, what));
          }
          if (m.type === NLMSG_DONE) return finish(undefined);
          replies.push(m);
        }
      };
      const onError = (err: Error): void => finish(err);
      const timer = setTimeout(
        () => finish(new Error(`${what}: no netlink reply in ${this.timeoutMs} ms`)),
        this.timeoutMs,
      );
      this.socket.on("message", onMessage);
      this.socket.on("error", onError);
      this.socket.ref();
      this.socket.send(build({ familyId, seq }), {}, (err) => {
        if (err) finish(err);
      });
    });
  }
}
