#!/usr/bin/env node
// skiff-lb: the node-local load balancer of a deployed cluster (deploy/, `make deploy`), as
// k3s' agent runs one. Kubelets, proxies, schedulers and controller-managers reach the API at
// 127.0.0.1:6444; this passes each TCP connection (TLS stays end to end) to one of the
// apiservers, round robin over those that accepted a connection lately, so the loss of any one
// machine only costs the connections it held.
//   node lb.mjs --listen 127.0.0.1:6444 --backend 172.30.213.11:6443 --backend ...
import net from "node:net";

const args = process.argv.slice(2);
let listen = "127.0.0.1:6444";
const backends = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === "--listen") listen = args[++i];
  else if (args[i] === "--backend") backends.push(args[++i]);
  else {
    process.stderr.write(`skiff-lb: unknown argument ${args[i]}\n`);
    process.exit(2);
  }
}
if (backends.length === 0) {
  process.stderr.write("skiff-lb: at least one --backend host:port is needed\n");
  process.exit(2);
}
const split = (hp) => {
  const i = hp.lastIndexOf(":");
  return { host: hp.slice(0, i), port: Number(hp.slice(i + 1)) };
};
const state = backends.map((b) => ({ addr: b, ...split(b), healthy: true }));
let next = 0;

// Every 2 s each backend is tried with a plain TCP connect.
function check(b) {
  const s = net.connect({ host: b.host, port: b.port, timeout: 1500 });
  const done = (ok) => {
    s.destroy();
    if (ok !== b.healthy) console.log(`skiff-lb: ${b.addr} ${ok ? "up" : "down"}`);
    b.healthy = ok;
  };
  s.once("connect", () => done(true));
  s.once("timeout", () => done(false));
  s.once("error", () => done(false));
}
setInterval(() => state.forEach(check), 2000).unref();

/** Connects to the healthy backends in turn, then to the others, until one answers. */
function dial(client, order, attempt = 0) {
  if (attempt >= order.length) {
    client.destroy();
    return;
  }
  const b = order[attempt];
  const up = net.connect({ host: b.host, port: b.port, timeout: 3000 });
  up.once("timeout", () => up.destroy(new Error("connect timeout")));
  up.once("error", () => {
    b.healthy = false;
    dial(client, order, attempt + 1);
  });
  up.once("connect", () => {
    up.setTimeout(0);
    up.removeAllListeners("error");
    b.healthy = true;
    client.pipe(up).pipe(client);
    up.on("error", () => client.destroy());
    client.on("error", () => up.destroy());
    client.on("close", () => up.destroy());
    up.on("close", () => client.destroy());
    client.resume();
  });
}

const server = net.createServer({ pauseOnConnect: true }, (client) => {
  const start = next++ % state.length;
  const ring = [...state.slice(start), ...state.slice(0, start)];
  dial(client, [...ring.filter((b) => b.healthy), ...ring.filter((b) => !b.healthy)]);
});
const { host, port } = split(listen);
server.on("error", (err) => {
  process.stderr.write(`skiff-lb: ${err.message}\n`);
  process.exit(1);
});
server.listen(port, host, () => console.log(`skiff-lb: ${listen} → ${backends.join(", ")}`));
for (const sig of ["SIGTERM", "SIGINT"]) process.once(sig, () => process.exit(0));
