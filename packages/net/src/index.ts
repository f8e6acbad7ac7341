// @skiff/net: skiff-net, the per-node agent that routes pods between nodes (flannel's role),
// with a host-gw and a vxlan backend, and masquerades only pod → outside traffic.
//
//   import { NetAgent, planNetwork, cleanupNet } from "@skiff/net";
//
//   const agent = new NetAgent({ kubeconfig, nodeName: "node-1", backend: "vxlan", log });
//   await agent.start();          // resolves after the first sync (once the Node has a podCIDR)
//   agent.lastSync?.actions;      // what the latest sync changed; [] when all was right
//   await agent.stop();           // the routes stay, so pod traffic keeps flowing
//   await cleanupNet(log);        // --cleanup: removes every link, route, entry and rule
//
//   // The decision alone, for tests: Nodes + what the kernel shows → actions.
//   planNetwork({ backend, clusterCIDR, vni: 1, port: 8472, self, uplink, nodes, observed });
export * from "./cidr.js";
export * from "./nodes.js";
export * from "./plan.js";
export * from "./kernel.js";
export * from "./iptables.js";
export * from "./agent.js";
export * from "./policy.js";
export * from "./netpol-iptables.js";
export * from "./enforcer.js";
