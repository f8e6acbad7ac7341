// @skiff/dns: the cluster's DNS (CoreDNS' role), answered from informer caches.
//
//   import { DnsServer } from "@skiff/dns";
//
//   const dns = new DnsServer({ kubeconfig, dnsAddress: "127.0.0.1", dnsPort: 0,
//     healthPort: 0, metricsPort: 0, resolvConf: "/etc/resolv.conf", log });
//   await dns.start();     // serves at once; names in the zone get SERVFAIL until synced
//   dns.ready;             // true once the caches have synced (GET /ready says the same)
//   // dig @127.0.0.1 -p ${dns.dnsPort} kubernetes.default.svc.cluster.local
//   await dns.stop();
//
// The pieces, each usable alone: ClusterZone (question → answer from Stores, pure),
// Forwarder (upstreams of a resolv.conf, with a cache), DnsHandler (wire format, EDNS0,
// truncation, FORMERR), DnsListeners (UDP + TCP).
export * from "./names.js";
export * from "./records.js";
export * from "./forward.js";
export * from "./metrics.js";
export * from "./handler.js";
export * from "./transport.js";
export * from "./slim.js";
export * from "./server.js";
