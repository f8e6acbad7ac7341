// The service environment variables a container gets, from the Services the kubelet sees.
import assert from "node:assert/strict";
import { test } from "node:test";
import { serviceEnv, type ServiceForEnv } from "../src/service-env.js";

function svc(
  namespace: string,
  name: string,
  clusterIP: string,
  ports: { name?: string; port: number; protocol?: string }[],
): ServiceForEnv {
  return { metadata: { namespace, name }, spec: { clusterIP, ports } };
}

const kubernetes = svc("default", "kubernetes", "10.96.0.1", [
  { name: "https", port: 443, protocol: "TCP" },
]);

const asMap = (vars: { name: string; value: string }[]) =>
  Object.fromEntries(vars.map((v) => [v.name, v.value]));

test("a Service of the pod's namespace gives the simple and the Docker-links variables", () => {
  const web = svc("shop", "web-front", "10.96.4.7", [
    { name: "http", port: 80, protocol: "TCP" },
    { name: "dns-udp", port: 53, protocol: "UDP" },
  ]);
  assert.deepEqual(asMap(serviceEnv([web], "shop")), {
    WEB_FRONT_SERVICE_HOST: "10.96.4.7",
    WEB_FRONT_SERVICE_PORT: "80",
    WEB_FRONT_SERVICE_PORT_HTTP: "80",
    WEB_FRONT_SERVICE_PORT_DNS_UDP: "53",
    WEB_FRONT_PORT: "tcp://10.96.4.7:80",
    WEB_FRONT_PORT_80_TCP: "tcp://10.96.4.7:80",
    WEB_FRONT_PORT_80_TCP_PROTO: "tcp",
    WEB_FRONT_PORT_80_TCP_PORT: "80",
    WEB_FRONT_PORT_80_TCP_ADDR: "10.96.4.7",
    WEB_FRONT_PORT_53_UDP: "udp://10.96.4.7:53",
    WEB_FRONT_PORT_53_UDP_PROTO: "udp",
    WEB_FRONT_PORT_53_UDP_PORT: "53",
    WEB_FRONT_PORT_53_UDP_ADDR: "10.96.4.7",
  });
});

test("the kubernetes Service is always there; other namespaces and headless Services never are", () => {
  const services = [
    kubernetes,
    svc("other", "db", "10.96.9.9", [{ port: 5432 }]),
    svc("shop", "headless", "None", [{ port: 80 }]),
    svc("shop", "pending", "", [{ port: 80 }]),
    svc("shop", "cart", "10.96.3.3", [{ port: 8080 }]),
  ];
  const names = serviceEnv(services, "shop").map((v) => v.name);
  assert.ok(names.includes("KUBERNETES_SERVICE_HOST"));
  assert.ok(names.includes("KUBERNETES_SERVICE_PORT_HTTPS"));
  assert.ok(names.includes("CART_SERVICE_HOST"));
  assert.ok(!names.some((n) => /^(DB|HEADLESS|PENDING)_/.test(n)), String(names));
  // An unnamed port has no _SERVICE_PORT_<NAME> variable.
  assert.equal(names.filter((n) => n.startsWith("CART_SERVICE_PORT")).length, 1);
});

test("with enableServiceLinks false only the kubernetes Service's variables are set", () => {
  const services = [kubernetes, svc("shop", "cart", "10.96.3.3", [{ port: 8080 }])];
  assert.deepEqual(asMap(serviceEnv(services, "shop", false)), {
    KUBERNETES_SERVICE_HOST: "10.96.0.1",
    KUBERNETES_SERVICE_PORT: "443",
    KUBERNETES_SERVICE_PORT_HTTPS: "443",
    KUBERNETES_PORT: "tcp://10.96.0.1:443",
    KUBERNETES_PORT_443_TCP: "tcp://10.96.0.1:443",
    KUBERNETES_PORT_443_TCP_PROTO: "tcp",
    KUBERNETES_PORT_443_TCP_PORT: "443",
    KUBERNETES_PORT_443_TCP_ADDR: "10.96.0.1",
  });
});

test("a Service named kubernetes in the pod's namespace wins over default/kubernetes", () => {
  const own = svc("shop", "kubernetes", "10.96.5.5", [{ port: 6443 }]);
  for (const order of [
    [kubernetes, own],
    [own, kubernetes],
  ]) {
    assert.equal(asMap(serviceEnv(order, "shop")).KUBERNETES_SERVICE_HOST, "10.96.5.5");
  }
});

test("an IPv6 cluster IP is bracketed in the URLs only", () => {
  const v6 = svc("default", "api", "fd00::10", [{ port: 80 }]);
  const env = asMap(serviceEnv([v6], "default"));
  assert.equal(env.API_PORT, "tcp://[fd00::10]:80");
  assert.equal(env.API_PORT_80_TCP_ADDR, "fd00::10");
  assert.equal(env.API_SERVICE_HOST, "fd00::10");
});
