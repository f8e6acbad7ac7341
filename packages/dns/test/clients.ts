// Test clients for a DNS server on loopback: Debian's dig, and dns-packet over UDP and TCP;
// and the real skiff-dns program started as a process.
import { execFile, spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { createSocket } from "node:dgram";
import { connect } from "node:net";
import { get } from "node:http";
import { promisify } from "node:util";
import { decode, encode, RECURSION_DESIRED } from "dns-packet";
import type { Answer, DecodedPacket, Packet, RecordType } from "dns-packet";

/** A decoded message: dns-packet also decodes the header's rcode and opcode (its types leave them out). */
export type Response = Omit<DecodedPacket, "answers"> & {
  rcode: string;
  opcode: string;
  answers?: (Answer & { ttl?: number; data?: unknown })[];
};

const run = promisify(execFile);

export interface DigResult {
  status: string;
  flags: string[];
  answers: string[];
  authority: string[];
  additional: string[];
  stdout: string;
}

/** dig @127.0.0.1 -p port name type, parsed into status and sections (no +notcp: TC retries TCP). */
export async function dig(
  port: number,
  name: string,
  type = "A",
  ...extra: string[]
): Promise<DigResult> {
  const { stdout } = await run(
    "dig",
    ["@127.0.0.1", "-p", String(port), "+tries=1", "+time=3", "+nocookie", ...extra, name, type],
    { encoding: "utf8", timeout: 20_000 },
  );
  const section = (title: string): string[] => {
    const m = new RegExp(`;; ${title} SECTION:\\n([\\s\\S]*?)(?:\\n\\n|$)`).exec(stdout);
    return m ? m[1]!.split("\n").map((l) => l.split(/\s+/).join(" ")) : [];
  };
  return {
    status: /status: (\w+)/.exec(stdout)?.[1] ?? "",
    flags: (/;; flags: ([^;]*);/.exec(stdout)?.[1] ?? "").trim().split(" "),
    answers: section("ANSWER"),
    authority: section("AUTHORITY"),
    additional: section("ADDITIONAL").filter((l) => !l.startsWith(";")),
    stdout,
  };
}

/** The data of every answer record of one type: "10.96.0.1", "0 100 80 web...". */
export const data = (r: DigResult, type: string): string[] =>
  r.answers.filter((l) => l.split(" ")[3] === type).map((l) => l.split(" ").slice(4).join(" "));

let nextId = 1;

/** One query over UDP with dns-packet; the decoded response (rejects after `timeoutMs`). */
export function udpQuery(
  port: number,
  packet: Packet | Buffer,
  timeoutMs = 3000,
): Promise<Response> {
  const msg = Buffer.isBuffer(packet) ? packet : encode(packet);
  return new Promise((resolve, reject) => {
    const socket = createSocket("udp4");
    const timer = setTimeout(() => {
      socket.close();
      reject(new Error("no answer over UDP"));
    }, timeoutMs);
    socket.on("message", (m) => {
      clearTimeout(timer);
      socket.close();
      try {
        resolve(decode(m) as Response);
      } catch (err) {
        reject(err as Error);
      }
    });
    socket.send(msg, port, "127.0.0.1");
  });
}

/** One query over TCP (2-byte length prefix). */
export function tcpQuery(port: number, packet: Packet, timeoutMs = 3000): Promise<Response> {
  const msg = encode(packet);
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    let buf = Buffer.alloc(0);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error("no answer over TCP"));
    }, timeoutMs);
    socket.on("error", reject);
    socket.on("connect", () => {
      const len = Buffer.alloc(2);
      len.writeUInt16BE(msg.length);
      socket.write(Buffer.concat([len, msg]));
    });
    socket.on("data", (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        clearTimeout(timer);
        socket.destroy();
        resolve(decode(buf.subarray(2, 2 + buf.readUInt16BE(0))) as Response);
      }
    });
  });
}

/** A query packet; `edns` adds an OPT record offering that UDP size. */
export function question(name: string, type: RecordType = "A", edns?: number): Packet {
  return {
    type: "query",
    id: nextId++ & 0xffff,
    flags: RECURSION_DESIRED,
    questions: [{ name, type, class: "IN" }],
    ...(edns
      ? {
          additionals: [
            {
              name: ".",
              type: "OPT",
              udpPayloadSize: edns,
              extendedRcode: 0,
              ednsVersion: 0,
              flags: 0,
              flag_do: false,
              options: [],
            },
          ],
        }
      : {}),
  } as Packet;
}

export function httpGet(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    get({ host: "127.0.0.1", port, path, agent: false }, (res) => {
      let body = "";
      res.on("data", (d: Buffer) => (body += d.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    }).on("error", reject);
  });
}

const mainScript = new URL("../src/main.ts", import.meta.url).pathname;

/** Starts the real skiff-dns program (from source) and waits until /ready says 200. */
export async function startSkiffDns(args: string[], healthPort: number): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    ["--conditions=source", "--import", "tsx", mainScript, ...args],
    {
      stdio: ["ignore", "ignore", "pipe"],
    },
  );
  let stderr = "";
  child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`skiff-dns exited ${child.exitCode}: ${stderr}`);
    const ready = await httpGet(healthPort, "/ready").catch(() => undefined);
    if (ready?.status === 200) return child;
    if (Date.now() > deadline) throw new Error(`skiff-dns not ready within 30 s: ${stderr}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export function stopProcess(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once("exit", () => resolve());
    child.kill("SIGTERM");
  });
}
