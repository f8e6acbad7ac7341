#!/usr/bin/env node
// skiff-dns: parses its flags, serves the cluster's DNS, stops on a signal.
import yargs from "yargs";
import { hideBin } from "yargs/helpers";
import { pino } from "pino";
import { DnsServer } from "./server.js";

/** A port flag: an integer 0-65535, else a usage error naming the flag. */
function port(flag: string, v: number): number {
  if (!Number.isInteger(v) || v < 0 || v > 65535)
    throw new Error(`--${flag}: invalid port "${v}" (an integer from 0 to 65535)`);
  return v;
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
  .option("dns-port", { type: "number", default: 53, coerce: (v: number) => port("dns-port", v) })
  .option("health-port", {
    type: "number",
    default: 8080,
    describe: "/health and /ready",
    coerce: (v: number) => port("health-port", v),
  })
  .option("metrics-port", {
    type: "number",
    default: 9153,
    describe: "/metrics",
    coerce: (v: number) => port("metrics-port", v),
  })
  .option("cluster-domain", { type: "string", default: "cluster.local" })
  .option("ttl", {
    type: "number",
    default: 30,
    describe: "TTL of the zone's records, seconds",
    coerce: (v: number) => {
      if (!Number.isInteger(v) || v < 0 || v > 2147483647)
        throw new Error(`--ttl: invalid TTL "${v}" (whole seconds, 0 or more)`);
      return v;
    },
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
