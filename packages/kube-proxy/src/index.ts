// @skiff/kube-proxy: Service rules in the kernel (iptables; IPVS where the kernel has it).
// (IpvsProxier has the same onService*/onEndpointSlice*/start/cleanup calls as IptablesProxier.)
//
//   import { IptablesProxier, SafetyNet, selectProxyMode } from "@skiff/kube-proxy";
//
//   const mode = await selectProxyMode("ipvs", log);       // no IPVS here: one line, "iptables"
//   const safety = new SafetyNet({ clusterCIDR: "10.244.0.0/16" });
//   const proxier = new IptablesProxier({ node: { name: "node-1", addresses: ["192.0.2.2"] },
//     clusterCIDR: "10.244.0.0/16", safety, log });
//   serviceInformer.addEventHandler({ add: (s) => proxier.onServiceAdd(s),
//     update: (o, s) => proxier.onServiceUpdate(o, s), delete: (s) => proxier.onServiceDelete(s) });
//   // ...the same for EndpointSlices, then, once both caches have synced:
//   proxier.start();   // full sync now; partial syncs on change and every 30 s; full hourly
//                      // or when the KUBE-PROXY-CANARY chains vanish (tables flushed)
//   // on shutdown with --cleanup:  await proxier.cleanup();
export * from "./types.js";
export * from "./errors.js";
export * from "./exec.js";
export * from "./runner.js";
export * from "./tracker.js";
export * from "./endpoints.js";
export * from "./safety.js";
export * from "./iptables/chains.js";
export * from "./iptables/rules.js";
export * from "./iptables/conntrack.js";
export * from "./iptables/jumps.js";
export * from "./iptables/proxier.js";
export * from "./ipvs/netlink.js";
export * from "./ipvs/detect.js";
export * from "./ipvs/client.js";
export * from "./ipvs/desired.js";
export * from "./ipvs/proxier.js";
export { boundAddresses } from "./ipvs/device.js";
export * from "./proxy.js";
