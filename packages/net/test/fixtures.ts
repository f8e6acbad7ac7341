// Nodes shared by the plan and kernel tests: "a" is this node, "b" and "c" are remote ones.
import type { NodeNet } from "../src/nodes.js";

export const self = { name: "a", podCIDR: "10.244.1.0/24", publicIP: "192.168.77.1" };
const node = (i: number, name: string): NodeNet => ({
  name,
  podCIDR: `10.244.${i}.0/24`,
  publicIP: `192.168.77.${i}`,
  vtepMAC: `0a:00:00:00:00:0${i}`,
});
export const a = node(1, "a");
export const b = node(2, "b");
export const c = node(3, "c");
