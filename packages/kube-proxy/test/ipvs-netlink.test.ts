// IPVS mode's netlink layer: every request byte for byte, replies decoded from hand-built
// kernel messages, and the socket against this kernel's generic-netlink controller (nlctrl).
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  GENL_ID_CTRL,
  IP_VS_SVC_F_PERSISTENT,
  NLMSG_DONE,
  decodeDest,
  decodeFamily,
  decodeService,
  errorCode,
  getDests,
  getFamily,
  getServices,
  newService,
  setDest,
  setService,
  splitMessages,
} from "../src/ipvs/netlink.js";
import { NetlinkConnection, NetlinkError } from "../src/ipvs/socket.js";
import { resolveFamily } from "../src/ipvs/client.js";

const hex = (s: string): string => s.replace(/\s+/g, "");
const bytes = (s: string): Buffer => Buffer.from(hex(s), "hex");
const svc = { address: "10.96.0.10", protocol: "TCP" as const, port: 80 };
const h = { familyId: 0x1c, seq: 1 };
const serviceId = "06000100 02000000 06000200 06000000 08000300 0a60000a 06000400 00500000";

test("the family lookup asks nlctrl (id 16) for CTRL_CMD_GETFAMILY by name", () => {
  const expected = `
    20000000 1000 0500 01000000 00000000   ${"" /* len 32, GENL_ID_CTRL, REQUEST|ACK */}
    03010000                               ${"" /* CTRL_CMD_GETFAMILY, version 1 */}
    09000200 49505653 00000000             ${"" /* CTRL_ATTR_FAMILY_NAME "IPVS\\0", padded */}`;
  assert.equal(getFamily({ seq: 1 }, "IPVS").toString("hex"), hex(expected));
});

test("listing services is a GET_SERVICE dump with no attributes", () => {
  const expected = "14000000 1c00 0103 01000000 00000000 04010000"; // REQUEST|ROOT|MATCH
  assert.equal(getServices(h).toString("hex"), hex(expected));
});

test("listing real servers is a GET_DEST dump naming the virtual server", () => {
  const expected = `38000000 1c00 0103 01000000 00000000 08010000 24000180 ${serviceId}`;
  assert.equal(getDests(h, svc).toString("hex"), hex(expected));
});

test("ClientIP affinity becomes the persistent flag and its timeout, also on SET_SERVICE", () => {
  const sticky = { ...svc, flags: IP_VS_SVC_F_PERSISTENT, timeout: 10800 };
  const body = `
    48000180 ${serviceId}
    07000600 72720000                      ${"" /* "rr" */}
    0c000700 01000000 ffffffff             ${"" /* IP_VS_SVC_F_PERSISTENT, mask ~0 */}
    08000800 302a0000                      ${"" /* timeout 10800 s */}
    08000900 ffffffff`;
  const header = "5c000000 1c00 0500 01000000 00000000";
  assert.equal(newService(h, sticky).toString("hex"), hex(`${header} 01010000 ${body}`));
  assert.equal(setService(h, sticky).toString("hex"), hex(`${header} 02010000 ${body}`));
});

test("SET_DEST carries the full real-server entry", () => {
  const expected = `
    74000000 1c00 0500 01000000 00000000 06010000
    24000180 ${serviceId}
    3c000280 08000100 0af40102 06000200 1f900000 08000300 00000000 08000400 03000000
             08000500 00000000 08000600 00000000 06000b00 02000000`;
  const dest = { address: "10.244.1.2", port: 8080, weight: 3 };
  assert.equal(setDest(h, svc, dest).toString("hex"), hex(expected));
});

// What the kernel sends for `ipvsadm -Ln`: a TCP service with ClientIP persistence (the
// kernel adds IP_VS_SVC_F_HASHED and statistics), a UDP one, then NLMSG_DONE; addresses
// come as 16-byte union nf_inet_addr.
const serviceDump = `
  74000000 1c00 0200 07000000 39300000 01010000
  60000180 06000100 02000000 06000200 06000000
           14000300 0a60000a 00000000 00000000 00000000
           06000400 00500000 07000600 72720000 0c000700 03000000 ffffffff
           08000800 302a0000 08000900 ffffffff 0c000a80 08000100 05000000
  68000000 1c00 0200 07000000 39300000 01010000
  54000180 06000100 02000000 06000200 11000000
           14000300 0a60000a 00000000 00000000 00000000
           06000400 00350000 07000600 72720000 0c000700 02000000 ffffffff
           08000800 00000000 08000900 ffffffff
  14000000 0300 0200 07000000 39300000 00000000`;

test("a GET_SERVICE dump decodes into virtual servers", () => {
  const messages = splitMessages(bytes(serviceDump));
  assert.deepEqual(
    messages.map((m) => [m.type, m.seq]),
    [
      [0x1c, 7],
      [0x1c, 7],
      [NLMSG_DONE, 7],
    ],
  );
  assert.deepEqual(decodeService(messages[0]!), {
    address: "10.96.0.10",
    protocol: "TCP",
    port: 80,
    scheduler: "rr",
    flags: 3,
    timeout: 10800,
  });
  assert.deepEqual(decodeService(messages[1]!), {
    address: "10.96.0.10",
    protocol: "UDP",
    port: 53,
    scheduler: "rr",
    flags: 2,
    timeout: 0,
  });
});

test("a firewall-mark service (no address) is not decoded, so Skiff never touches it", () => {
  const fwmark = `
    28000000 1c00 0200 07000000 00000000 01010000
    14000180 06000100 02000000 08000500 01000000 00000000`;
  assert.equal(decodeService(splitMessages(bytes(fwmark))[0]!), undefined);
});

test("a GET_DEST dump message decodes into a real server, skipping counters", () => {
  const dest = `
    8c000000 1c00 0200 08000000 39300000 05010000
    78000280 14000100 0af40102 00000000 00000000 00000000
             06000200 1f900000 08000300 00000000 08000400 01000000
             05000d00 00000000 06000e00 00000000 06000f00 00000000
             08000500 00000000 08000600 00000000 08000700 02000000
             08000800 00000000 08000900 00000000 06000b00 02000000`;
  assert.deepEqual(decodeDest(splitMessages(bytes(dest))[0]!), {
    address: "10.244.1.2",
    port: 8080,
    weight: 1,
    forwardMethod: "masq",
  });
});

test("nlctrl's reply gives the family id, and the ACK after it is error code 0", () => {
  const reply = `
    30000000 1000 0000 01000000 39300000 01020000
    09000200 49505653 00000000 06000100 1c000000 08000300 01000000
    24000000 0200 0001 01000000 39300000 00000000
    20000000 1000 0500 01000000 00000000`;
  const [family, ack] = splitMessages(bytes(reply));
  assert.deepEqual(decodeFamily(family!), { id: 0x1c, name: "IPVS" });
  assert.equal(errorCode(ack!), 0);
});

test("a kernel error carries minus the errno", () => {
  const err = "24000000 0200 0000 02000000 00000000 feffffff 20000000 1000 0500 02000000 00000000";
  assert.equal(errorCode(splitMessages(bytes(err))[0]!), -2);
});

test("a truncated datagram is refused instead of misread", () => {
  assert.throws(() => splitMessages(bytes("74000000 1c00 0200 07000000 39300000")), /length/);
});

test("the socket resolves nlctrl's own family on this kernel and reports a missing one", async () => {
  const conn = new NetlinkConnection();
  try {
    assert.equal(await resolveFamily(conn, "nlctrl"), GENL_ID_CTRL);
    assert.equal(await resolveFamily(conn, "no-such-family"), undefined);
    await assert.rejects(
      conn.request(GENL_ID_CTRL, (hdr) => getFamily(hdr, "no-such-family"), "lookup"),
      (e: unknown) => e instanceof NetlinkError && e.errno === 2,
    );
  } finally {
    conn.close();
  }
});

test("the socket collects every part of a dump up to NLMSG_DONE (nlctrl's family list)", async () => {
  const conn = new NetlinkConnection();
  try {
    // CTRL_CMD_GETFAMILY with NLM_F_DUMP: one NEWFAMILY message per registered family.
    const dump = (hdr: { seq: number }): Buffer => {
      const b = bytes("14000000 1000 0103 00000000 00000000 03010000");
      b.writeUInt32LE(hdr.seq, 8);
      return b;
    };
    const replies = await conn.request(GENL_ID_CTRL, dump, "dump families");
    const families = replies.map(decodeFamily);
    assert.ok(families.length > 1, `${families.length} families`);
    assert.deepEqual(
      families.find((f) => f?.name === "nlctrl"),
      { id: GENL_ID_CTRL, name: "nlctrl" },
    );
  } finally {
    conn.close();
  }
});
