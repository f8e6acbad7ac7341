// A small cluster of "nodes" made of network namespaces, for skiff-net's kernel tests:
//   <p>-sw        a switch: bridge br0 joining the nodes' uplinks (192.168.77.0/24, .254 is an
//                 "outside" host that has no route to any pod subnet)
//   <p>-n<i>      node i: uplink eth0 192.168.77.<i>, bridge cbr0 10.244.<i>.1/24 (the pod
//                 gateway, as the kubelet's Docker bridge), and 127.0.0.1:<apiserver port>
//                 forwarded to the test's apiserver through a unix socket (no route needed)
//   <p>-p<i>      a pod on node i: eth0 10.244.<i>.2/24, default route via 10.244.<i>.1
// Nothing here touches the host's own network: every address lives inside these namespaces.
import { spawn, execFile, type ChildProcess } from "node:child_process";
import { after, before } from "node:test";
import { existsSync, rmSync } from "node:fs";

export interface SimNode {
  index: number;
  name: string;
  netns: string;
  pod: string;
  ip: string;
  podCIDR: string;
  podIP: string;
}

export interface Topology {
  prefix: string;
  switchNetns: string;
  outsideIP: string;
  nodes: SimNode[];
  /** Runs a command and returns stdout; throws on a non-zero exit. */
  sh(cmd: string, ...args: string[]): Promise<string>;
  /** Starts a process in a namespace; it is killed by destroy(). */
  spawnIn(netns: string, args: string[]): ChildProcess;
  /** One more pod on node i: namespace <prefix>-p<i>-<n>, eth0 10.244.<i>.<n>/24. */
  addPod(node: SimNode, n: number): Promise<string>;
  destroy(): Promise<void>;
}

export function sh(cmd: string, ...args: string[]): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile(cmd, args, (err, stdout, stderr) =>
      err
        ? reject(new Error(`${cmd} ${args.join(" ")}: ${stderr.trim() || err.message}`))
        : resolve(stdout),
    ),
  );
}

const quiet = (cmd: string, ...args: string[]): Promise<void> =>
  sh(cmd, ...args).then(
    () => undefined,
    () => undefined,
  );

/** Forwards TCP connections between a listener and a target, as a script for `node -e`. */
const forwarder = (listen: string, target: string): string => `
  const net = require("net");
  net.createServer((c) => { const u = net.connect(${target}); c.pipe(u).pipe(c);
    c.on("error", () => u.destroy()); u.on("error", () => c.destroy()); }).listen(${listen});`;

export async function buildTopology(
  prefix: string,
  count: number,
  apiPort: number,
): Promise<Topology> {
  const children: ChildProcess[] = [];
  const socket = `/tmp/${prefix}-api.sock`;
  let apiBridge: ChildProcess | undefined;
  const nodes: SimNode[] = Array.from({ length: count }, (_, k) => {
    const i = k + 1;
    return {
      index: i,
      name: `${prefix}-node${i}`,
      netns: `${prefix}-n${i}`,
      pod: `${prefix}-p${i}`,
      ip: `192.168.77.${i}`,
      podCIDR: `10.244.${i}.0/24`,
      podIP: `10.244.${i}.2`,
    };
  });
  const switchNetns = `${prefix}-sw`;
  const all = [switchNetns, ...nodes.flatMap((n) => [n.netns, n.pod])];
  const spawnIn = (netns: string, args: string[]): ChildProcess => {
    const child = spawn("ip", ["netns", "exec", netns, ...args], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    children.push(child);
    return child;
  };
  const destroy = async (): Promise<void> => {
    for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
    rmSync(socket, { force: true });
    // Deleting a namespace deletes its devices, routes and netfilter tables with it.
    for (const ns of all) await quiet("ip", "netns", "del", ns);
  };
  /** `ip -n <ns> <command>`, the command written as one line (no quoting needed here). */
  const ip = (ns: string, command: string) => sh("ip", "-n", ns, ...command.split(" "));
  await destroy(); // leftovers of a run that was killed
  try {
    await sh("ip", "netns", "add", switchNetns);
    await ip(switchNetns, "link add br0 type bridge");
    await ip(switchNetns, "addr add 192.168.77.254/24 dev br0");
    await ip(switchNetns, "link set br0 up");
    await ip(switchNetns, "link set lo up");
    // The apiserver listens on the host's loopback; a unix socket reaches across namespaces.
    apiBridge = spawn(
      process.execPath,
      ["-e", forwarder(JSON.stringify(socket), `${apiPort}, "127.0.0.1"`)],
      {
        stdio: "ignore",
      },
    );
    children.push(apiBridge);
    await eventually("the apiserver socket", async () => existsSync(socket), 10_000);
    for (const n of nodes) {
      const gateway = n.podCIDR.replace(".0/24", ".1");
      await sh("ip", "netns", "add", n.netns);
      await sh("ip", "netns", "add", n.pod);
      await ip(n.netns, "link set lo up");
      await ip(n.netns, `link add eth0 type veth peer name up${n.index} netns ${switchNetns}`);
      await ip(switchNetns, `link set up${n.index} master br0 up`);
      await ip(n.netns, `addr add ${n.ip}/24 dev eth0`);
      await ip(n.netns, "link set eth0 up");
      await ip(n.netns, "link add cbr0 type bridge");
      await ip(n.netns, `addr add ${gateway}/24 dev cbr0`);
      await ip(n.netns, "link set cbr0 up");
      await ip(n.netns, `link add pod0 type veth peer name eth0 netns ${n.pod}`);
      await ip(n.netns, "link set pod0 master cbr0 up");
      await sh("ip", "netns", "exec", n.netns, "sysctl", "-qw", "net.ipv4.ip_forward=1");
      await ip(n.pod, "link set lo up");
      await ip(n.pod, `addr add ${n.podIP}/24 dev eth0`);
      await ip(n.pod, "link set eth0 up");
      await ip(n.pod, `route add default via ${gateway}`);
      spawnIn(n.netns, [
        process.execPath,
        "-e",
        forwarder(`${apiPort}, "127.0.0.1"`, JSON.stringify(socket)),
      ]);
    }
  } catch (e) {
    await destroy();
    throw e;
  }
  const addPod = async (node: SimNode, n: number): Promise<string> => {
    const netns = `${node.pod}-${n}`;
    all.push(netns);
    await quiet("ip", "netns", "del", netns);
    await sh("ip", "netns", "add", netns);
    await ip(node.netns, `link add pod${n} type veth peer name eth0 netns ${netns}`);
    await ip(node.netns, `link set pod${n} master cbr0 up`);
    await ip(netns, "link set lo up");
    await ip(netns, `addr add ${node.podCIDR.replace(".0/24", `.${n}`)}/24 dev eth0`);
    await ip(netns, "link set eth0 up");
    await ip(netns, `route add default via ${node.podCIDR.replace(".0/24", ".1")}`);
    return netns;
  };
  return {
    prefix,
    switchNetns,
    outsideIP: "192.168.77.254",
    nodes,
    sh,
    spawnIn,
    addPod,
    destroy,
  };
}

/** A TCP server in `netns` that answers each connection with the caller's address. */
export function startEchoAddress(topo: Topology, netns: string, port: number): ChildProcess {
  return topo.spawnIn(netns, [
    process.execPath,
    "-e",
    `require("net").createServer((s) => s.end(s.remoteAddress)).listen(${port}, "0.0.0.0")`,
  ]);
}

/** Connects from `netns` to ip:port and returns what the server said ("" on failure). */
export async function whoAmI(
  topo: Topology,
  netns: string,
  ip: string,
  port: number,
): Promise<string> {
  const script = `
    const s = require("net").connect(${port}, ${JSON.stringify(ip)});
    let out = ""; s.setTimeout(2000, () => s.destroy());
    s.on("data", (d) => (out += d)); s.on("close", () => process.stdout.write(out));
    s.on("error", () => {});`;
  try {
    return await sh("ip", "netns", "exec", netns, process.execPath, "-e", script);
  } catch {
    return "";
  }
}

/** Polls `probe` until it returns true (or throws after `timeoutMs`). */
export async function eventually(
  what: string,
  probe: () => Promise<boolean>,
  timeoutMs = 15_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await probe()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** node, running this repository's TypeScript sources. */
export const tsNode = [process.execPath, "--conditions=source", "--import", "tsx"];

/** Runs TypeScript of this repository (a file, or `-e` and a script) with node inside `netns`. */
export function runTs(netns: string, args: string[]): Promise<string> {
  return sh("ip", "netns", "exec", netns, ...tsNode, ...args);
}

/** A namespace of the test file's own, made before its tests and deleted after them. */
export function scratchNetns(netns: string, setUp?: () => Promise<void>): void {
  const del = () => sh("ip", "netns", "del", netns).catch(() => undefined);
  before(async () => {
    await del();
    await sh("ip", "netns", "add", netns);
    await setUp?.();
  });
  after(del);
}
