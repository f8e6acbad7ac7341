// IPVS generic-netlink messages, byte for byte, and the detection of IPVS in this kernel.
import { test } from "node:test";
import assert from "node:assert/strict";
import { delDest, delService, newDest, newService } from "../src/ipvs/netlink.js";
import { ipvsAvailable, selectProxyMode } from "../src/ipvs/detect.js";
import { kernelHasIpvs } from "./ipvs-kernel.js";

const hex = (s: string): string => s.replace(/\s+/g, "");
const svc = { address: "10.96.0.10", protocol: "TCP" as const, port: 80 };
const h = { familyId: 0x1c, seq: 1 };

// Hand-derived from uapi/linux/ip_vs.h: nlmsghdr, genlmsghdr (cmd, version 1), then
// nested IPVS_CMD_ATTR_SERVICE (1 | NLA_F_NESTED) and IPVS_CMD_ATTR_DEST (2 | NLA_F_NESTED).
const serviceId = `
  06000100 02000000   ${"" /* SVC_ATTR_AF = AF_INET (u16) */}
  06000200 06000000   ${"" /* SVC_ATTR_PROTOCOL = IPPROTO_TCP (u16) */}
  08000300 0a60000a   ${"" /* SVC_ATTR_ADDR = 10.96.0.10 */}
  06000400 00500000   ${"" /* SVC_ATTR_PORT = 80, big-endian */}`;

test("IPVS_CMD_NEW_SERVICE carries the full virtual-server entry", () => {
  const expected = `
    5c000000 1c00 0500 01000000 00000000   ${"" /* len 92, family 0x1c, REQUEST|ACK, seq 1, pid 0 */}
    01010000                               ${"" /* cmd NEW_SERVICE, version 1 */}
    48000180 ${serviceId}
    07000600 72720000                      ${"" /* SCHED_NAME "rr\\0" */}
    0c000700 00000000 ffffffff             ${"" /* FLAGS {flags 0, mask ~0} */}
    08000800 00000000                      ${"" /* TIMEOUT 0 */}
    08000900 ffffffff                      ${"" /* NETMASK /32 */}`;
  assert.equal(newService(h, svc).toString("hex"), hex(expected));
});

test("IPVS_CMD_DEL_SERVICE names the virtual server only", () => {
  const expected = `38000000 1c00 0500 01000000 00000000 03010000 24000180 ${serviceId}`;
  assert.equal(delService(h, svc).toString("hex"), hex(expected));
});

test("IPVS_CMD_NEW_DEST adds a real server with masquerading and weight 1", () => {
  const expected = `
    74000000 1c00 0500 01000000 00000000 05010000   ${"" /* len 16 + 4 + 36 + 60 = 116 */}
    24000180 ${serviceId}
    3c000280
      08000100 0af40102                    ${"" /* DEST_ATTR_ADDR 10.244.1.2 */}
      06000200 1f900000                    ${"" /* DEST_ATTR_PORT 8080 */}
      08000300 00000000                    ${"" /* FWD_METHOD masq */}
      08000400 01000000                    ${"" /* WEIGHT 1 */}
      08000500 00000000 08000600 00000000  ${"" /* U_THRESH, L_THRESH */}
      06000b00 02000000                    ${"" /* ADDR_FAMILY AF_INET */}`;
  assert.equal(
    newDest(h, svc, { address: "10.244.1.2", port: 8080 }).toString("hex"),
    hex(expected),
  );
});

test("IPVS_CMD_DEL_DEST names the service and the real server", () => {
  const expected = `4c000000 1c00 0500 01000000 00000000 07010000 24000180 ${serviceId} 14000280 08000100 0af40102 06000200 1f900000`;
  assert.equal(
    delDest(h, svc, { address: "10.244.1.2", port: 8080 }).toString("hex"),
    hex(expected),
  );
});

test("ipvs mode runs where the kernel has IPVS and falls back to iptables with one log line where not", async () => {
  const hasIpvs = kernelHasIpvs();
  assert.equal(await ipvsAvailable(), hasIpvs);
  const lines: string[] = [];
  const log = {
    info() {},
    error() {},
    warn: (_: object, msg?: string) => void lines.push(msg ?? ""),
  };
  assert.equal(await selectProxyMode("iptables", log), "iptables");
  assert.deepEqual(lines, [], "iptables mode does not look for IPVS");
  if (hasIpvs) {
    assert.equal(await selectProxyMode("ipvs", log), "ipvs");
    assert.deepEqual(lines, []);
  } else {
    assert.equal(await selectProxyMode("ipvs", log), "iptables");
    assert.equal(lines.length, 1);
    assert.match(lines[0]!, /IPVS is not available/);
  }
});
