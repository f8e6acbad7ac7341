// Backends for the kube-proxy tests that send real traffic: a bridge on 10.244.<octet>.0/24
// (gateway .1) and one network namespace per backend at .10, .11, ..., each running a node
// process that answers HTTP on 8080 with its name, echoes TCP on 9000 and answers UDP on
// 5353 with "<name>:<message>".
import { spawn, type ChildProcess } from "node:child_process";
import { request } from "node:http";
import { exec, mustExec } from "../src/exec.js";

export interface Backend {
  name: string;
  netns: string;
  veth: string;
  ip: string;
}

export interface BackendNet {
  bridge: string;
  gateway: string;
  backends: Backend[];
}

/** The names and addresses (nothing is created yet); `prefix` keeps tests apart. */
export function backendNet(prefix: string, octet: number, count: number): BackendNet {
  return {
    bridge: `${prefix}-br0`,
    gateway: `10.244.${octet}.1`,
    backends: Array.from({ length: count }, (_, i) => ({
      name: `be${i}`,
      netns: `${prefix}-be${i}`,
      veth: `${prefix}-h${i}`,
      ip: `10.244.${octet}.${10 + i}`,
    })),
  };
}

const serverScript = (name: string): string => `
  require("http").createServer((q, r) => r.end(${JSON.stringify(name)})).listen(8080);
  require("net").createServer((s) => s.pipe(s)).listen(9000);
  const u = require("dgram").createSocket("udp4");
  u.on("message", (m, from) => u.send(${JSON.stringify(name)} + ":" + m, from.port, from.address));
  u.bind(5353);`;

/** GET http://ip:port/ with no keep-alive: resolves with the body (a backend answers its name). */
export function httpGet(ip: string, port: number, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ host: ip, port, path: "/", agent: false, timeout: timeoutMs }, (res) => {
      let body = "";
      res.on("data", (d: Buffer) => (body += d.toString()));
      res.on("end", () => resolve(body));
    });
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", reject);
    req.end();
  });
}

/** Creates the bridge and the backends, waits until each answers; returns their removal. */
export async function startBackends(net: BackendNet): Promise<() => Promise<void>> {
  const sh = (cmd: string, ...args: string[]): Promise<string> => mustExec(exec, cmd, args);
  const servers: ChildProcess[] = [];
  const stop = async (): Promise<void> => {
    for (const s of servers) s.kill();
    for (const b of net.backends) await exec("ip", ["netns", "del", b.netns]);
    await exec("ip", ["link", "del", net.bridge]);
  };
  try {
    await sh("ip", "link", "add", net.bridge, "type", "bridge");
    await sh("ip", "addr", "add", `${net.gateway}/24`, "dev", net.bridge);
    await sh("ip", "link", "set", net.bridge, "up");
    for (const b of net.backends) {
      await sh("ip", "netns", "add", b.netns);
      await sh(
        "ip",
        "link",
        "add",
        b.veth,
        "type",
        "veth",
        "peer",
        "name",
        "eth0",
        "netns",
        b.netns,
      );
      await sh("ip", "link", "set", b.veth, "master", net.bridge, "up");
      await sh("ip", "-n", b.netns, "addr", "add", `${b.ip}/24`, "dev", "eth0");
      await sh("ip", "-n", b.netns, "link", "set", "eth0", "up");
      await sh("ip", "-n", b.netns, "link", "set", "lo", "up");
      await sh("ip", "-n", b.netns, "route", "add", "default", "via", net.gateway);
      servers.push(
        spawn("ip", ["netns", "exec", b.netns, process.execPath, "-e", serverScript(b.name)], {
          stdio: "ignore",
        }),
      );
    }
    for (const b of net.backends) {
      for (let i = 0; ; i++) {
        try {
          if ((await httpGet(b.ip, 8080, 1000)) === b.name) break;
        } catch (e) {
          if (i > 100) throw e;
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  } catch (e) {
    await stop();
    throw e;
  }
  return stop;
}
