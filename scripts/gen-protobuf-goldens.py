#!/usr/bin/env python3
"""Writes golden Kubernetes protobuf bodies (k8s\\0 + runtime.Unknown + the object) for the
fixture objects of packages/apiserver/test/fixtures/protobuf/kinds.json, encoded without any
of Skiff's code: protoc compiles Kubernetes' own generated.proto files and Google's protobuf
runtime writes the bytes. Only the JSON <-> protobuf conventions of Kubernetes are spelled out
here (Time, Quantity, IntOrString, RawExtension, FieldsV1, Duration, inline embedded structs,
base64 bytes), each read from apimachinery's types, not from packages/api.

Usage (needs protoc and python3-protobuf, Debian's protobuf-compiler and python3-protobuf):
  python3 scripts/gen-protobuf-goldens.py <kubernetes/api checkout> \
    <kubernetes/apimachinery checkout> <kubernetes/apiextensions-apiserver checkout>
All at v0.33.0, as for scripts/gen-protobuf-fields.mjs.
"""
import base64
import json
import os
import re
import subprocess
import sys
import tempfile
from datetime import datetime, timezone

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.descriptor import FieldDescriptor

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, "packages/apiserver/test/fixtures/protobuf")
GROUPS = {
    "": "core", "apps": "apps", "batch": "batch", "coordination.k8s.io": "coordination",
    "discovery.k8s.io": "discovery", "autoscaling": "autoscaling", "storage.k8s.io": "storage",
    "scheduling.k8s.io": "scheduling", "authentication.k8s.io": "authentication",
    "policy": "policy", "rbac.authorization.k8s.io": "rbac",
    "authorization.k8s.io": "authorization", "admissionregistration.k8s.io": "admissionregistration",
    "networking.k8s.io": "networking", "flowcontrol.apiserver.k8s.io": "flowcontrol",
}
META = "k8s.io.apimachinery.pkg.apis.meta.v1"
EXT = "k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1"


def compile_protos(api_dir, machinery_dir, extensions_dir):
    src = tempfile.mkdtemp(prefix="skiff-proto-")
    for prefix, checkout in (("k8s.io/api", api_dir), ("k8s.io/apimachinery", machinery_dir),
                             ("k8s.io/apiextensions-apiserver", extensions_dir)):
        for dirpath, _, files in os.walk(checkout):
            if "generated.proto" in files:
                rel = os.path.relpath(dirpath, checkout)
                os.makedirs(os.path.join(src, prefix, rel), exist_ok=True)
                with open(os.path.join(dirpath, "generated.proto"), "rb") as f:
                    data = f.read()
                with open(os.path.join(src, prefix, rel, "generated.proto"), "wb") as f:
                    f.write(data)
    protos = [f"k8s.io/api/{g}/{v}/generated.proto" for g, v in sorted(
        {(pkg, ver) for pkg in GROUPS.values() for ver in ("v1", "v2")}
    ) if os.path.exists(os.path.join(src, f"k8s.io/api/{g}/{v}/generated.proto"))]
    protos.append("k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1/generated.proto")
    out = os.path.join(src, "set.desc")
    subprocess.run(["protoc", "--include_imports", f"--descriptor_set_out={out}", *protos],
                   cwd=src, check=True, stderr=subprocess.DEVNULL)
    fds = descriptor_pb2.FileDescriptorSet.FromString(open(out, "rb").read())
    pool = descriptor_pool.DescriptorPool()
    for f in fds.file:
        pool.Add(f)
    return pool


def go_types(*checkouts):
    """Facts from types.go: the (struct, embedded type) pairs JSON inlines (`json:",inline"`
    with a protobuf tag), the JSON name of each protobuf field whose names differ
    (`Webhooks` is `webhooks`, `aPIGroup` is `apiGroup`), and the slice types protobuf wraps
    in a message of `items` (ExtraValue: a list in JSON)."""
    found = set()
    names = {}
    lists = set()
    files = [os.path.join(dirpath, name)
             for checkout in checkouts
             for dirpath, _, names_here in os.walk(checkout)
             for name in ("types.go", "types_jsonschema.go") if name in names_here]
    for path in files:
        struct = None
        for line in open(path, encoding="utf-8"):
            m = re.match(r"^type (\w+) struct", line)
            if m:
                struct = m.group(1)
            m = re.match(r'^\t(?:\w+\.)?(\w+) +`json:",inline" protobuf:', line)
            if m and struct:
                found.add((struct, m.group(1)))
            m = re.search(r'`json:"([\w$-]+)[,"].*protobuf:"[^"]*name=(\w+)', line)
            if m and struct and m.group(1) != m.group(2):
                names[(struct, m.group(2))] = m.group(1)
            m = re.match(r"^type (\w+) \[\]\w+$", line)
            if m:
                lists.add(m.group(1))
    return found, names, lists


def parse_time(text):
    m = re.match(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?Z$", text)
    if not m:
        raise ValueError(f"not an RFC 3339 UTC time: {text}")
    seconds = int(datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S")
                  .replace(tzinfo=timezone.utc).timestamp())
    return seconds, int((m.group(2) or "0").ljust(9, "0"))


def go_duration(text):
    units = {"ns": 1, "us": 1000, "ms": 10**6, "s": 10**9, "m": 60 * 10**9, "h": 3600 * 10**9}
    return sum(int(float(n) * units[u]) for n, u in re.findall(r"([\d.]+)(ns|us|ms|s|m|h)", text))


class Encoder:
    def __init__(self, pool, facts):
        self.pool = pool
        self.factory = message_factory.MessageFactory(pool)
        self.inline, self.names, self.lists = facts

    def new(self, name):
        return self.factory.GetPrototype(self.pool.FindMessageTypeByName(name))()

    def fill(self, msg, obj):
        d = msg.DESCRIPTOR
        for f in d.fields:
            if f.message_type and (d.name, f.message_type.name) in self.inline:
                sub = getattr(msg, f.name)
                sub.SetInParent()  # Go writes an embedded struct even when empty
                self.fill(sub, obj)
                continue
            key = self.names.get((d.name, f.name), f.name)
            if key not in obj or obj[key] is None:
                continue
            v = obj[key]
            if f.label == FieldDescriptor.LABEL_REPEATED:
                if f.message_type and f.message_type.GetOptions().map_entry:
                    value_field = f.message_type.fields_by_name["value"]
                    target = getattr(msg, f.name)
                    for k in sorted(v):
                        if value_field.message_type:
                            self.value(target[k], value_field, v[k])
                        else:
                            target[k] = self.scalar(value_field, v[k])
                elif f.message_type:
                    for x in v:
                        self.value(getattr(msg, f.name).add(), f, x)
                else:
                    getattr(msg, f.name).extend(self.scalar(f, x) for x in v)
            elif f.message_type:
                self.value(getattr(msg, f.name), f, v)
            else:
                setattr(msg, f.name, self.scalar(f, v))

    def scalar(self, f, v):
        if f.type == FieldDescriptor.TYPE_BYTES:
            return base64.b64decode(v)
        return v

    def value(self, sub, f, v):
        """Fills the message `sub` (field f's type) from its JSON value v."""
        t = f.message_type.full_name
        sub.SetInParent()
        if t in (f"{META}.Time", f"{META}.MicroTime"):
            sub.seconds, sub.nanos = parse_time(v)
        elif t == "k8s.io.apimachinery.pkg.api.resource.Quantity":
            sub.string = v
        elif t == "k8s.io.apimachinery.pkg.util.intstr.IntOrString":
            if isinstance(v, int):
                sub.type, sub.intVal = 0, v
            else:
                sub.type, sub.strVal = 1, v
        elif t == "k8s.io.apimachinery.pkg.runtime.RawExtension":
            sub.raw = json.dumps(v, separators=(",", ":")).encode()
        elif t == f"{META}.FieldsV1":
            sub.Raw = json.dumps(v, separators=(",", ":")).encode()
        elif t == f"{META}.Duration":
            sub.duration = go_duration(v)
        elif f.message_type.name in self.lists:
            sub.items.extend(v)
        elif t == f"{EXT}.JSON":
            sub.raw = json.dumps(v, separators=(",", ":")).encode()
        elif t == f"{EXT}.JSONSchemaPropsOrArray":
            if isinstance(v, list):
                for x in v:
                    self.fill(sub.jSONSchemas.add(), x)
            else:
                self.fill(sub.schema, v)
        elif t == f"{EXT}.JSONSchemaPropsOrBool":
            # Go's unmarshalling: a schema means allows=true plus the schema.
            sub.allows = v if isinstance(v, bool) else True
            if not isinstance(v, bool):
                sub.schema.SetInParent()
                self.fill(sub.schema, v)
        elif t == f"{EXT}.JSONSchemaPropsOrStringArray":
            if isinstance(v, list):
                sub.property.extend(v)
            else:
                self.fill(sub.schema, v)
        else:
            self.fill(sub, v)

    def envelope(self, obj):
        group, _, version = obj["apiVersion"].rpartition("/")
        kind = obj["kind"]
        meta = kind in ("Status", "DeleteOptions", "WatchEvent")
        if meta:
            msg = self.new(f"{META}.{kind}")
        elif group == "apiextensions.k8s.io":
            msg = self.new(f"{EXT}.{kind}")
        else:
            msg = self.new(f"k8s.io.api.{GROUPS[group]}.{version}.{kind}")
        self.fill(msg, obj)
        unknown = self.new("k8s.io.apimachinery.pkg.runtime.Unknown")
        unknown.typeMeta.apiVersion = obj["apiVersion"]
        unknown.typeMeta.kind = obj["kind"]
        unknown.raw = msg.SerializeToString(deterministic=True)
        unknown.contentEncoding = ""
        unknown.contentType = ""
        return b"k8s\x00" + unknown.SerializeToString(deterministic=True)


def main():
    if len(sys.argv) != 4:
        sys.exit("usage: gen-protobuf-goldens.py <kubernetes/api dir> <kubernetes/apimachinery dir>"
                 " <kubernetes/apiextensions-apiserver dir>")
    checkouts = sys.argv[1:]
    enc = Encoder(compile_protos(*checkouts), go_types(*checkouts))
    kinds = json.load(open(os.path.join(FIXTURES, "kinds.json")))
    os.makedirs(os.path.join(FIXTURES, "kinds"), exist_ok=True)
    for kind, obj in kinds.items():
        with open(os.path.join(FIXTURES, "kinds", f"{kind}.pb"), "wb") as f:
            f.write(enc.envelope(obj))
    print(f"{len(kinds)} goldens written to {os.path.relpath(os.path.join(FIXTURES, 'kinds'), ROOT)}")


if __name__ == "__main__":
    main()
