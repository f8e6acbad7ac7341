// Ingress and IngressClass on a real etcd + apiserver, driven by the real kubectl: the
// default class, kubectl's tables, and refused paths, backends and hosts with field paths.
import { test } from "node:test";
import assert from "node:assert/strict";
import { useKubectlEnv } from "./kubectl-env.js";

const { kubectl, ok } = useKubectlEnv("ingress");

const ingress = (name: string, extra = "") => `
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: ${name}
spec:${extra}
  tls:
  - hosts: ["*.example.com"]
    secretName: example-tls
  rules:
  - host: shop.example.com
    http:
      paths:
      - path: /cart
        pathType: Prefix
        backend:
          service: {name: cart, port: {number: 8080}}
  - http:
      paths:
      - path: /
        pathType: Exact
        backend:
          service: {name: web, port: {name: http}}
`;

test("an Ingress without a class gets the default IngressClass, and kubectl prints both as Kubernetes does", async () => {
  await ok(
    ["apply", "-f", "-"],
    `
apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata:
  name: nginx
  annotations:
    ingressclass.kubernetes.io/is-default-class: "true"
spec:
  controller: k8s.io/ingress-nginx
  parameters: {apiGroup: k8s.example.com, kind: IngressParameters, name: external-lb}
---
apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata:
  name: other
spec:
  controller: example.com/other
`,
  );
  await ok(["apply", "-f", "-"], ingress("shop"));
  assert.equal(
    await ok(["get", "ing", "shop", "-o", "jsonpath={.spec.ingressClassName}"]),
    "nginx",
  );
  await ok(["apply", "-f", "-"], ingress("plain", "\n  ingressClassName: other"));
  assert.match(
    await ok(["get", "ingress"]),
    /^NAME\s+CLASS\s+HOSTS\s+ADDRESS\s+PORTS\s+AGE\nplain\s+other\s+shop\.example\.com\s+80, 443\s+\S+\nshop\s+nginx\s+shop\.example\.com\s+80, 443\s+\S+\n$/,
  );
  assert.match(
    await ok(["get", "ingressclasses"]),
    /^NAME\s+CONTROLLER\s+PARAMETERS\s+AGE\nnginx\s+k8s\.io\/ingress-nginx\s+IngressParameters\.k8s\.example\.com\/external-lb\s+\S+\nother\s+example\.com\/other\s+<none>\s+\S+\n$/,
  );
});

test("bad paths, backends and hosts are refused with their field paths", async () => {
  const r = await kubectl(
    ["apply", "-f", "-"],
    `
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: bad
spec:
  tls:
  - hosts: ["foo.*.example.com"]
  rules:
  - host: 10.1.2.3
    http:
      paths:
      - path: cart
        pathType: Prefix
        backend:
          service: {name: cart, port: {number: 80, name: http}}
      - path: /a//b
        pathType: Exact
        backend:
          service: {name: cart}
      - path: /x
        backend:
          service: {name: cart, port: {number: 80}}
          resource: {kind: Bucket, name: b}
`,
  );
  assert.notEqual(r.code, 0);
  const err = r.stderr;
  assert.match(
    err,
    /spec\.rules\[0\]\.host: Invalid value: "10\.1\.2\.3": must be a DNS name, not an IP address/,
  );
  assert.match(
    err,
    /spec\.rules\[0\]\.http\.paths\[0\]\.path: Invalid value: "cart": must be an absolute path/,
  );
  assert.match(
    err,
    /spec\.rules\[0\]\.http\.paths\[0\]\.backend\.service\.port: Invalid value: "": cannot set both port name & port number/,
  );
  assert.match(
    err,
    /spec\.rules\[0\]\.http\.paths\[1\]\.path: Invalid value: "\/a\/\/b": must not contain '\/\/'/,
  );
  assert.match(
    err,
    /spec\.rules\[0\]\.http\.paths\[1\]\.backend\.service\.port: Required value: port name or number is required/,
  );
  assert.match(
    err,
    /spec\.rules\[0\]\.http\.paths\[2\]\.pathType: Required value: pathType must be specified/,
  );
  assert.match(
    err,
    /spec\.rules\[0\]\.http\.paths\[2\]\.backend: Invalid value: "": cannot set both resource and service backends/,
  );
  assert.match(
    err,
    /spec\.tls\[0\]\.hosts\[0\]: Invalid value: "foo\.\*\.example\.com": a wildcard DNS-1123 subdomain must start with '\*\.'/,
  );
});
