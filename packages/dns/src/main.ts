#!/usr/bin/env node
// skiff-dns: parses its flags, serves the cluster's DNS, stops on a signal.
import yargs from "yargs";
import { hideBin } from "yargs/helpers";
import { pino } from "pino";
import { DnsServer } from "./server.js";

/** A whole-number flag within [0, max], else a usage error naming the flag and its text. */
function whole(flag: string, max: number, what: string): (v: string) => number {
  return (v) => {
    if (!/^\d+$/.test(String(v)) || Number(v) > max)
      throw new Error(`--${flag}: invalid ${what} "${v}" (a whole number from 0 to ${max})`);
    return Number(v);
  };
}

const argv = yargs(hideBin(process.argv))
  .scriptName("skiff-dns")
  .usage("$0 [flags]: the cluster's DNS (Services and Pods by name), from the API")
  .option("kubeconfig", {
    type: "string",
    describe: "kubeconfig with the apiserver and credentials",
  })
  .option("dns-address", {
    type: "string",
    default: "0.0.0.0",
    describe: "address to serve on (DNS, health, metrics)",
  })
  .option("dns-port", { type: "string", default: "53", coerce: whole("dns-port", 65535, "port") })
  .option("health-port", {
    type: "string",
    default: "8080",
    describe: "/health and /ready",
    coerce: whole("health-port", 65535, "port"),
  })
  .option("metrics-port", {
    type: "string",
    default: "9153",
    describe: "/metrics",
    coerce: whole("metrics-port", 65535, "port"),
  })
  .option("cluster-domain", { type: "string", default: "cluster.local" })
  .option("ttl", {
    type: "string",
    default: "30",
    describe: "TTL of the zone's records, seconds",
    coerce: whole("ttl", 2147483647, "TTL"),
  })
  .option("resolv-conf", {
    type: "string",
    default: "/etc/resolv.conf",
    describe: "nameservers for names outside the cluster domain",
  })
  .option("v", { type: "number", default: 0, describe: "log verbosity (>= 4: debug)" })
  .strict()
  .fail((msg, err) => {
    process.stderr.write(`skiff-dns: ${msg ?? err?.message}\n`);
    process.exit(2);
  })
  .parseSync();

const log = pino({ name: "skiff-dns", level: argv.v >= 4 ? "debug" : "info" });

async function main(): Promise<void> {
  const server = new DnsServer({
    kubeconfig: argv.kubeconfig,
    dnsAddress: argv["dns-address"],
    dnsPort: argv["dns-port"],
    healthPort: argv["health-port"],
    metricsPort: argv["metrics-port"],
    clusterDomain: argv["cluster-domain"],
    ttl: argv.ttl,
    resolvConf: argv["resolv-conf"],
    log,
  });
  const stop = (signal: string): void => {
    log.info({ signal }, "stopping");
    void server.stop().then(() => process.exit(0));
  };
  process.once("SIGTERM", () => stop("SIGTERM"));
  process.once("SIGINT", () => stop("SIGINT"));
  await server.start();
}

main().catch((err: unknown) => {
  log.error({ err: err instanceof Error ? err.message : String(err) }, "skiff-dns failed");
  process.exit(1);
});
