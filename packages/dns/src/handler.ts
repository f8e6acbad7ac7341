// One DNS message in, at most one out: checks the query, answers from the cluster zone or
// forwards it, applies EDNS0 and UDP truncation, and keeps the zone's answers in a response
// cache that is emptied whenever the informer caches change.
//
// What a client may rely on:
// - A message shorter than a header, or one that is itself a response, gets no answer (so
//   that two servers cannot bounce errors at each other).
// - Anything else that does not decode, has other than one question, or more than one OPT
//   record gets FORMERR; an opcode other than QUERY gets NOTIMP; EDNS versions above 0 get
//   BADVERS; classes other than IN get REFUSED.
// - Over UDP a response is at most 512 bytes, or the EDNS0 size the client offered (up to
//   4096); a larger one is sent with TC set and no records, and the client retries over TCP.
import { AUTHORITATIVE_ANSWER, RECURSION_AVAILABLE, decode, encode } from "dns-packet";
import type { Answer, DecodedPacket, OptAnswer, Packet, Question } from "dns-packet";
import type { ClusterZone, Rcode, ZoneAnswer } from "./records.js";
import type { Forwarder } from "./forward.js";
import type { DnsMetrics } from "./metrics.js";

export type Transport = "udp" | "tcp";

const QR = 0x8000;
const TC = 0x0200;
const RD = 0x0100;
const CD = 0x0010;
const rcodeNumbers: Record<Rcode, number> = {
  NOERROR: 0,
  FORMERR: 1,
  SERVFAIL: 2,
  NXDOMAIN: 3,
  NOTIMP: 4,
  REFUSED: 5,
};
const rcodeNames = ["NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED"];
const rcodeName = (n: number): string => rcodeNames[n] ?? `RCODE${n}`;
/** BADVERS is extended rcode 16: 1 in the OPT record's upper bits, 0 in the header. */
const BADVERS_UPPER = 1;
/** The UDP payload size we offer in our own OPT record. */
const ourUdpSize = 1232;

export interface DnsHandlerOptions {
  zone: ClusterZone;
  forwarder: Forwarder;
  metrics?: DnsMetrics;
  /** True once the informer caches have synced; before that, names in the zone get SERVFAIL. */
  ready?: () => boolean;
  /** Generation of the informer caches; the response cache is emptied when it changes. */
  generation?: () => number;
  /** Most responses kept in the response cache (default 10,000). */
  cacheSize?: number;
}

interface CachedResponse {
  response: Buffer;
  type: string;
  rcode: string;
}

export class DnsHandler {
  /** The zone's encoded responses by the query's bytes after its ID, one map per transport. */
  private readonly cache = {
    udp: new Map<string, CachedResponse>(),
    tcp: new Map<string, CachedResponse>(),
  };
  private cacheGeneration = -1;
  private readonly cacheSize: number;

  constructor(private readonly opts: DnsHandlerOptions) {
    this.cacheSize = opts.cacheSize ?? 10_000;
  }

  /** The response to one message (synchronous unless it is forwarded), or undefined for none. */
  handle(msg: Buffer, transport: Transport): Buffer | undefined | Promise<Buffer | undefined> {
    const started = performance.now();
    if (msg.length < 12 || (msg[2]! & 0x80) !== 0) return undefined; // QR: a response
    const m = this.opts.metrics;
    // The same query bytes (but for the ID) get the same answer while the caches stand still:
    // the same name in the same case (0x20), flags, EDNS0 record and size.
    const generation = this.opts.generation?.() ?? 0;
    if (generation !== this.cacheGeneration) {
      this.cache.udp.clear();
      this.cache.tcp.clear();
      this.cacheGeneration = generation;
    }
    const cache = this.cache[transport];
    const key = msg.toString("latin1", 2);
    const hit = cache.get(key);
    if (hit) {
      // A copy: the cached bytes must not change under a send still queued in the socket.
      const response = Buffer.from(hit.response);
      response[0] = msg[0]!;
      response[1] = msg[1]!;
      m?.request(transport, hit.type);
      m?.cache("response", true);
      m?.response(transport, hit.rcode, (performance.now() - started) / 1000);
      return response;
    }
    m?.cache("response", false);
    const result = this.answer(msg, transport);
    const finish = (r: Built): Buffer => {
      m?.response(transport, r.rcode, (performance.now() - started) / 1000);
      if (r.cacheable && cache.size < this.cacheSize) {
        cache.set(key, { response: r.response, type: r.type, rcode: r.rcode });
      }
      return r.response;
    };
    return result instanceof Promise ? result.then(finish) : finish(result);
  }

  private answer(msg: Buffer, transport: Transport): Built | Promise<Built> {
    const m = this.opts.metrics;
    let query: DecodedPacket;
    try {
      query = decode(msg);
    } catch {
      m?.request(transport, "malformed");
      return this.headerOnly(msg, "FORMERR");
    }
    const q = query.questions?.[0];
    m?.request(transport, q?.type ?? "none");
    const opcode = (msg.readUInt16BE(2) >> 11) & 0xf;
    if (opcode !== 0) return this.headerOnly(msg, "NOTIMP");
    const opts = (query.additionals ?? []).filter((a): a is OptAnswer => a.type === "OPT");
    if (!q || query.questions!.length !== 1 || opts.length > 1)
      return this.headerOnly(msg, "FORMERR");
    const opt = opts[0];
    if (opt && opt.ednsVersion > 0) return this.badVersion(query, q);
    const udpSize = opt ? Math.min(Math.max(opt.udpPayloadSize, 512), 4096) : 512;
    const limit = transport === "udp" ? udpSize : 65535;
    if (q.class !== "IN") return this.respond(query, q, limit, refused);
    if (q.type === "AXFR" || q.type === "IXFR") return this.respond(query, q, limit, refused);
    const zone = this.opts.zone.answer(q);
    if (zone) {
      if (this.opts.ready && !this.opts.ready()) return this.respond(query, q, limit, servfail);
      return { ...this.respond(query, q, limit, zone), cacheable: true };
    }
    return this.forward(msg, query, q, transport, limit);
  }

  private async forward(
    msg: Buffer,
    query: DecodedPacket,
    q: Question,
    transport: Transport,
    limit: number,
  ): Promise<Built> {
    const m = this.opts.metrics;
    const result = await this.opts.forwarder.forward(msg, q, transport === "tcp");
    if (!result.response) {
      m?.forwardFailed(result.reason);
      return this.respond(query, q, limit, servfail, false);
    }
    m?.cache("forward", result.cached);
    const response = result.response;
    const rcode = rcodeName(response.readUInt16BE(2) & 0xf);
    if (response.length <= limit) return { response, type: q.type, rcode, cacheable: false };
    // Too big for the client's UDP buffer: the same header, truncated (the client asks again
    // over TCP).
    return this.respond(query, q, limit, { ...servfail, rcode: "NOERROR" }, false, response);
  }

  /** An encoded response to a decoded query, truncated to `limit` bytes if need be. */
  private respond(
    query: DecodedPacket,
    q: Question,
    limit: number,
    zone: ZoneAnswer,
    authoritative = true,
    truncated?: Buffer,
  ): Built {
    const flags = truncated
      ? (truncated.readUInt16BE(2) & 0x7fff) | TC
      : (authoritative ? AUTHORITATIVE_ANSWER : 0) |
        RECURSION_AVAILABLE |
        ((query.flags ?? 0) & (RD | CD)) |
        rcodeNumbers[zone.rcode];
    const edns: Answer[] = hasOpt(query) ? [ourOpt(0)] : [];
    const packet: Packet = {
      type: "response",
      id: query.id ?? 0,
      flags,
      questions: [q],
      answers: zone.answers,
      authorities: zone.authorities,
      additionals: [...zone.additionals, ...edns],
    };
    let response = encode(packet);
    if (response.length > limit)
      response = encode({
        ...packet,
        flags: flags | TC,
        answers: [],
        authorities: [],
        additionals: edns,
      });
    return { response, type: q.type, rcode: rcodeName(flags & 0xf), cacheable: false };
  }

  /** FORMERR or NOTIMP: the header of the query (its ID and opcode) with no sections. */
  private headerOnly(msg: Buffer, rcode: Rcode): Built {
    const response = Buffer.alloc(12);
    response.writeUInt16BE(msg.readUInt16BE(0), 0);
    const opcodeAndRd = msg.readUInt16BE(2) & (0x7800 | RD);
    response.writeUInt16BE(QR | opcodeAndRd | rcodeNumbers[rcode], 2);
    return { response, type: "", rcode, cacheable: false };
  }

  private badVersion(query: DecodedPacket, q: Question): Built {
    const response = encode({
      type: "response",
      id: query.id ?? 0,
      flags: ((query.flags ?? 0) & RD) | RECURSION_AVAILABLE,
      questions: [q],
      additionals: [ourOpt(BADVERS_UPPER)],
    });
    return { response, type: q.type, rcode: "BADVERS", cacheable: true };
  }
}

interface Built {
  response: Buffer;
  type: string;
  rcode: string;
  cacheable: boolean;
}

const refused: ZoneAnswer = { rcode: "REFUSED", answers: [], authorities: [], additionals: [] };
const servfail: ZoneAnswer = { rcode: "SERVFAIL", answers: [], authorities: [], additionals: [] };

function hasOpt(p: DecodedPacket): boolean {
  return (p.additionals ?? []).some((a) => a.type === "OPT");
}

function ourOpt(extendedRcode: number): OptAnswer {
  return {
    name: ".",
    type: "OPT",
    udpPayloadSize: ourUdpSize,
    extendedRcode,
    ednsVersion: 0,
    flags: 0,
    flag_do: false,
    options: [],
  };
}
