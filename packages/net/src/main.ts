#!/usr/bin/env node
// skiff-net: parses its flags, runs the agent (or --cleanup), stops on a signal.
import { hostname } from "node:os";
import yargs from "yargs";
import { hideBin } from "yargs/helpers";
import { pino } from "pino";
import { durationFlag, isCIDR } from "@skiff/api";
import { NetAgent, cleanupNet, defaultClusterCIDR } from "./agent.js";
import { backends } from "./nodes.js";

function integer(flag: string, min: number, max: number) {
  return (v: unknown): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max)
      throw new Error(`--${flag}: must be an integer from ${min} to ${max}, not "${String(v)}"`);
    return n;
  };
}

const argv = yargs(hideBin(process.argv))
  .scriptName("skiff-net")
  .usage("$0 [flags]: routes pods between nodes (host-gw or vxlan), from the Nodes in the API")
  .option("kubeconfig", {
    type: "string",
    describe: "kubeconfig with the apiserver and credentials",
  })
  .option("node-name", {
    type: "string",
    default: hostname().toLowerCase(),
    describe: "this node's name",
  })
  .option("backend", { choices: backends, default: "vxlan" as const })
  .option("cluster-cidr", {
    type: "string",
    default: defaultClusterCIDR,
    coerce: (v: string) => {
      if (!isCIDR(v) || v.includes(":"))
        throw new Error(`--cluster-cidr: not an IPv4 CIDR: "${v}"`);
      return v;
    },
  })
  .option("iface", {
    type: "string",
    describe: "the uplink (default: the device holding the Node's InternalIP)",
  })
  .option("vxlan-vni", { type: "string", default: "1", coerce: integer("vxlan-vni", 1, 16777215) })
  .option("vxlan-port", {
    type: "string",
    default: "8472",
    coerce: integer("vxlan-port", 1, 65535),
  })
  .option("ip-masq", {
    type: "boolean",
    default: true,
    describe: "masquerade pod → outside traffic",
  })
  .option("network-policy", {
    type: "boolean",
    default: true,
    describe: "enforce NetworkPolicies with iptables (calico's role)",
  })
  .option("resync-period", {
    type: "string",
    default: "30s",
    coerce: (v: string) => durationFlag("resync-period", v),
  })
  .option("cleanup", {
    type: "boolean",
    default: false,
    describe: "remove every link, route, neighbour/FDB entry and rule skiff-net made, and exit",
  })
  .option("log-level", {
    choices: ["trace", "debug", "info", "warn", "error", "fatal"] as const,
    default: "info" as const,
  })
  .strict()
  .fail((msg, err) => {
    // One line: yargs spreads some messages (invalid choices) over several.
    process.stderr.write(`skiff-net: ${(msg ?? err?.message ?? "").replace(/\s*\n\s*/g, " ")}\n`);
    process.exit(2);
  })
  .parseSync();

const log = pino({ name: "skiff-net", level: argv["log-level"] });

async function main(): Promise<void> {
  if (argv.cleanup) {
    await cleanupNet(log);
    process.exit(0);
  }
  const agent = new NetAgent({
    kubeconfig: argv.kubeconfig,
    nodeName: argv["node-name"],
    backend: argv.backend,
    clusterCIDR: argv["cluster-cidr"],
    iface: argv.iface,
    vxlanVNI: argv["vxlan-vni"],
    vxlanPort: argv["vxlan-port"],
    ipMasq: argv["ip-masq"],
    resyncPeriodMs: argv["resync-period"],
    networkPolicy: argv["network-policy"],
    log,
  });
  // As flannel: a signal stops the agent; routes and rules stay so that pod traffic keeps flowing
  // (and, as calico, NetworkPolicies stay enforced while the agent restarts).
  const stop = (signal: string): void => {
    log.info({ signal }, "stopping; leaving routes and rules in place");
    void agent.stop().then(() => process.exit(0));
  };
  process.once("SIGTERM", () => stop("SIGTERM"));
  process.once("SIGINT", () => stop("SIGINT"));
  await agent.start();
  log.info({ node: argv["node-name"] }, "first sync done");
}

main().catch((err: unknown) => {
  log.error({ err: err instanceof Error ? err.message : String(err) }, "skiff-net failed");
  process.exit(1);
});
