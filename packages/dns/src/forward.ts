// Forwarding of names outside the cluster zone to the nameservers of this server's own
// resolv.conf, with a small cache. When no nameserver answers, the caller answers SERVFAIL:
// a refused port fails at once, a silent one after the per-server timeout.
import { createSocket } from "node:dgram";
import { readFileSync } from "node:fs";
import { isIP } from "node:net";
import { connect } from "node:net";
import { decode } from "dns-packet";
import type { Question } from "dns-packet";

export interface Nameserver {
  host: string;
  port: number;
}

/**
 * The nameservers of a resolv.conf (at most three, as the C library reads it). Besides
 * `nameserver IP` it accepts `IP:port` and `[IPv6]:port`, which tests use for upstreams on
 * loopback. Lines that name no IP address are skipped.
 */
export function parseResolvConf(text: string): { nameservers: Nameserver[]; timeoutMs?: number } {
  const nameservers: Nameserver[] = [];
  let timeoutMs: number | undefined;
  for (const raw of text.split("\n")) {
    const [word, ...args] = raw
      .replace(/[#;].*/, "")
      .trim()
      .split(/\s+/);
    if (word === "nameserver" && args[0] && nameservers.length < 3) {
      const ns = parseNameserver(args[0]);
      if (ns) nameservers.push(ns);
    } else if (word === "options") {
      for (const opt of args) {
        const m = /^timeout:(\d+)$/.exec(opt);
        if (m) timeoutMs = Math.min(Number(m[1]), 30) * 1000;
      }
    }
  }
  return { nameservers, ...(timeoutMs === undefined ? {} : { timeoutMs }) };
}

function parseNameserver(text: string): Nameserver | undefined {
  if (isIP(text)) return { host: text, port: 53 };
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(text) ?? /^([^:]+):(\d+)$/.exec(text);
  const port = Number(m?.[2]);
  if (!m || !isIP(m[1]!) || port < 1 || port > 65535) return undefined;
  return { host: m[1]!, port };
}

export interface ForwarderOptions {
  nameservers: Nameserver[];
  /** How long to wait for each nameserver (default 1 s). */
  timeoutMs?: number;
  /** Most answers kept (default 1000); each for its lowest TTL, at most `maxTtl` seconds. */
  cacheSize?: number;
  maxTtl?: number;
  /** Most queries waiting on upstreams at once (default 200); beyond that: SERVFAIL. */
  maxInFlight?: number;
}

interface Cached {
  response: Buffer;
  expires: number;
}

export type ForwardResult =
  | { response: Buffer; cached: boolean }
  | { response: undefined; reason: "no nameserver" | "busy" | "no answer" };

export class Forwarder {
  readonly nameservers: Nameserver[];
  private readonly timeoutMs: number;
  private readonly cacheSize: number;
  private readonly maxTtl: number;
  private readonly maxInFlight: number;
  private readonly cache = new Map<string, Cached>();
  private inFlight = 0;
  private nextId = Math.floor(Math.random() * 0x10000);

  constructor(opts: ForwarderOptions) {
    this.nameservers = opts.nameservers;
    this.timeoutMs = opts.timeoutMs ?? 1000;
    this.cacheSize = opts.cacheSize ?? 1000;
    this.maxTtl = opts.maxTtl ?? 30;
    this.maxInFlight = opts.maxInFlight ?? 200;
  }

  /** A Forwarder for the nameservers of a resolv.conf file; a missing file names none. */
  static fromResolvConf(path: string, exclude: (ns: Nameserver) => boolean): Forwarder {
    let text = "";
    try {
      text = readFileSync(path, "utf8");
    } catch {
      // no file: no upstream, every outside name gets SERVFAIL
    }
    const conf = parseResolvConf(text);
    return new Forwarder({
      nameservers: conf.nameservers.filter((ns) => !exclude(ns)),
      timeoutMs: Math.min(conf.timeoutMs ?? 1000, 2000),
    });
  }

  /**
   * The upstream's answer to `query` (raw, with the client's ID), asked over the client's
   * transport; each nameserver in turn until one answers.
   */
  async forward(query: Buffer, q: Question, tcp: boolean): Promise<ForwardResult> {
    const key = `${q.name.toLowerCase()}|${q.type}|${q.class}|${tcp ? "t" : "u"}`;
    const hit = this.cache.get(key);
    const id = query.readUInt16BE(0);
    if (hit && hit.expires > Date.now())
      return { response: withId(hit.response, id), cached: true };
    if (hit) this.cache.delete(key);
    if (this.nameservers.length === 0) return { response: undefined, reason: "no nameserver" };
    if (this.inFlight >= this.maxInFlight) return { response: undefined, reason: "busy" };
    this.inFlight++;
    try {
      const ourId = (this.nextId = (this.nextId + 1) & 0xffff);
      const ours = withId(query, ourId);
      for (const ns of this.nameservers) {
        const ask = tcp ? askTcp : askUdp;
        const response = await ask(ns, ours, this.timeoutMs).catch(() => undefined);
        if (!response || response.length < 12 || response.readUInt16BE(0) !== ourId) continue;
        this.remember(key, response);
        return { response: withId(response, id), cached: false };
      }
      return { response: undefined, reason: "no answer" };
    } finally {
      this.inFlight--;
    }
  }

  private remember(key: string, response: Buffer): void {
    let ttl = this.maxTtl;
    try {
      const p = decode(response);
      if ((response.readUInt16BE(2) & 0xf) === 2 || p.flag_tc) return; // SERVFAIL, truncated
      for (const a of [...(p.answers ?? []), ...(p.authorities ?? [])])
        if (a.type !== "OPT") ttl = Math.min(ttl, a.ttl ?? 0);
    } catch {
      return; // the client gets what the upstream said; the cache keeps only what it reads
    }
    if (ttl <= 0) return;
    if (this.cache.size >= this.cacheSize) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(key, { response, expires: Date.now() + ttl * 1000 });
  }
}

function withId(message: Buffer, id: number): Buffer {
  const copy = Buffer.from(message);
  copy.writeUInt16BE(id, 0);
  return copy;
}

function askUdp(ns: Nameserver, query: Buffer, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = createSocket(isIP(ns.host) === 6 ? "udp6" : "udp4");
    const id = query.readUInt16BE(0);
    let finished = false;
    const done = (err: Error | undefined, msg?: Buffer): void => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      socket.close();
      if (err) reject(err);
      else resolve(msg!);
    };
    const timer = setTimeout(() => done(new Error("timeout")), timeoutMs);
    socket.on("error", (err) => done(err)); // ECONNREFUSED: nothing listens there
    socket.on("message", (msg) => {
      if (msg.length >= 2 && msg.readUInt16BE(0) === id) done(undefined, msg);
    });
    socket.connect(ns.port, ns.host, () => socket.send(query));
  });
}

function askTcp(ns: Nameserver, query: Buffer, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: ns.host, port: ns.port });
    let buf = Buffer.alloc(0);
    let finished = false;
    const done = (err: Error | undefined, msg?: Buffer): void => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err);
      else resolve(msg!);
    };
    const timer = setTimeout(() => done(new Error("timeout")), timeoutMs);
    socket.on("error", (err) => done(err));
    socket.on("connect", () => {
      const len = Buffer.alloc(2);
      len.writeUInt16BE(query.length);
      socket.write(Buffer.concat([len, query]));
    });
    socket.on("data", (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0))
        done(undefined, buf.subarray(2, 2 + buf.readUInt16BE(0)));
    });
    socket.on("end", () => done(new Error("closed")));
  });
}
