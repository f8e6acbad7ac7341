// The node's default InternalIP comes from the interface of the default route, whatever order
// the interfaces are listed in (a VXLAN device or a pod bridge listed first once became the
// node's address after a kubelet restart, and the apiserver lost the kubelet).
import assert from "node:assert/strict";
import { test } from "node:test";
import { defaultRouteInterface } from "../src/node.js";

const header =
  "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT";

test("the default route's interface is found among more specific routes", () => {
  const table = [
    header,
    "skiff.1\t0001F40A\t0001F40A\t0007\t0\t0\t0\t00FFFFFF\t0\t0\t0",
    "br-pods\t0002F40A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0",
    "eth0\t00000000\t01051CAC\t0003\t0\t0\t0\t00000000\t0\t0\t0",
    "eth0\t00051CAC\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0",
  ].join("\n");
  assert.equal(defaultRouteInterface(table), "eth0");
});

test("no default route: no interface", () => {
  assert.equal(
    defaultRouteInterface(
      `${header}\neth0\t00051CAC\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n`,
    ),
    undefined,
  );
  assert.equal(defaultRouteInterface(""), undefined);
});
