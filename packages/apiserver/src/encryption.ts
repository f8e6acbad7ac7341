// Encryption at rest (kube-apiserver's --encryption-provider-config): an
// apiserver.config.k8s.io/v1 EncryptionConfiguration names, per resource, a list of
// providers. The first provider writes; every provider reads what carries its prefix
// (`k8s:enc:<provider>:v1:<key name>:`), so keys rotate by putting a new one first while
// the old ones still read. `identity` writes plain JSON and reads whatever has no prefix.
//
// Wire formats, as Kubernetes': aescbc = IV(16) + AES-CBC/PKCS#7; aesgcm = nonce(12) +
// AES-GCM ciphertext + tag(16) with the etcd key as additional data; secretbox = nonce(24)
// + NaCl secretbox (XSalsa20-Poly1305).
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { isObject } from "@skiff/api";
import nacl from "tweetnacl";
import { parse as parseYaml } from "yaml";

/** Turns stored bytes into the JSON text of an object and back, per etcd key. */
export interface Transformer {
  toStorage(key: string, data: string): Buffer | string;
  fromStorage(key: string, raw: Buffer): string;
}

interface Provider {
  /** The prefix this provider's writes carry; "" for identity. */
  readonly prefixes: string[];
  encrypt(key: string, plain: Buffer): Buffer;
  decrypt(key: string, prefix: string, sealed: Buffer): Buffer;
}

export class EncryptionConfigError extends Error {}

function keysOf(kind: string, cfg: unknown, where: string, sizes: number[]): Map<string, Buffer> {
  const keys = isObject(cfg) && Array.isArray(cfg.keys) ? cfg.keys : undefined;
  if (!keys?.length) throw new EncryptionConfigError(`${where}.keys: at least one key is needed`);
  const out = new Map<string, Buffer>();
  keys.forEach((k: unknown, i) => {
    const at = `${where}.keys[${i}]`;
    if (!isObject(k) || typeof k.name !== "string" || k.name === "")
      throw new EncryptionConfigError(`${at}.name: a key needs a name`);
    if (k.name.includes(":")) throw new EncryptionConfigError(`${at}.name: may not contain ":"`);
    if (out.has(k.name)) throw new EncryptionConfigError(`${at}.name: "${k.name}" is used twice`);
    const secret = typeof k.secret === "string" ? Buffer.from(k.secret, "base64") : Buffer.alloc(0);
    if (!sizes.includes(secret.length))
      throw new EncryptionConfigError(
        `${at}.secret: ${kind} needs a base64 key of ${sizes.join(", ")} bytes, got ${secret.length}`,
      );
    out.set(k.name, secret);
  });
  return out;
}

/** Helper: a keyed provider whose first key writes and every key reads. */
function keyed(
  kind: string,
  keys: Map<string, Buffer>,
  seal: (secret: Buffer, key: string, plain: Buffer) => Buffer,
  open: (secret: Buffer, key: string, sealed: Buffer) => Buffer,
): Provider {
  const names = [...keys.keys()];
  const prefix = (n: string): string => `k8s:enc:${kind}:v1:${n}:`;
  return {
    prefixes: names.map(prefix),
    encrypt(key, plain) {
      const first = names[0]!;
      return Buffer.concat([Buffer.from(prefix(first)), seal(keys.get(first)!, key, plain)]);
    },
    decrypt(key, p, sealed) {
      const name = names.find((n) => prefix(n) === p)!;
      return open(keys.get(name)!, key, sealed);
    },
  };
}

function aesCbc(keys: Map<string, Buffer>): Provider {
  const algo = (s: Buffer): string => `aes-${s.length * 8}-cbc`;
  return keyed(
    "aescbc",
    keys,
    (secret, _key, plain) => {
      const iv = randomBytes(16);
      const c = createCipheriv(algo(secret), secret, iv);
      return Buffer.concat([iv, c.update(plain), c.final()]);
    },
    (secret, _key, sealed) => {
      if (sealed.length < 32 || sealed.length % 16 !== 0)
        throw new Error("the stored data is not a whole number of AES blocks");
      const d = createDecipheriv(algo(secret), secret, sealed.subarray(0, 16));
      return Buffer.concat([d.update(sealed.subarray(16)), d.final()]);
    },
  );
}

function aesGcm(keys: Map<string, Buffer>): Provider {
  const algo = (s: Buffer): `aes-${128 | 192 | 256}-gcm` =>
    `aes-${(s.length * 8) as 128 | 192 | 256}-gcm`;
  return keyed(
    "aesgcm",
    keys,
    (secret, key, plain) => {
      const nonce = randomBytes(12);
      const c = createCipheriv(algo(secret), secret, nonce);
      c.setAAD(Buffer.from(key));
      const body = Buffer.concat([c.update(plain), c.final()]);
      return Buffer.concat([nonce, body, c.getAuthTag()]);
    },
    (secret, key, sealed) => {
      if (sealed.length < 28) throw new Error("the stored data is too short for AES-GCM");
      const d = createDecipheriv(algo(secret), secret, sealed.subarray(0, 12));
      d.setAAD(Buffer.from(key));
      d.setAuthTag(sealed.subarray(sealed.length - 16));
      return Buffer.concat([d.update(sealed.subarray(12, sealed.length - 16)), d.final()]);
    },
  );
}

function secretbox(keys: Map<string, Buffer>): Provider {
  return keyed(
    "secretbox",
    keys,
    (secret, _key, plain) => {
      const nonce = randomBytes(nacl.secretbox.nonceLength);
      return Buffer.concat([nonce, nacl.secretbox(plain, nonce, secret)]);
    },
    (secret, _key, sealed) => {
      const n = nacl.secretbox.nonceLength;
      const out = nacl.secretbox.open(sealed.subarray(n), sealed.subarray(0, n), secret);
      if (!out) throw new Error("secretbox could not open the stored data");
      return Buffer.from(out);
    },
  );
}

const identity: Provider = {
  prefixes: [""],
  encrypt: (_key, plain) => plain,
  decrypt: (_key, _p, sealed) => sealed,
};

function provider(p: unknown, where: string): Provider {
  if (!isObject(p) || Object.keys(p).length !== 1)
    throw new EncryptionConfigError(`${where}: each provider names exactly one kind`);
  const [kind, cfg] = Object.entries(p)[0]!;
  switch (kind) {
    case "identity":
      return identity;
    case "aescbc":
      return aesCbc(keysOf(kind, cfg, `${where}.aescbc`, [16, 24, 32]));
    case "aesgcm":
      return aesGcm(keysOf(kind, cfg, `${where}.aesgcm`, [16, 24, 32]));
    case "secretbox":
      return secretbox(keysOf(kind, cfg, `${where}.secretbox`, [32]));
    default:
      throw new EncryptionConfigError(
        `${where}.${kind}: unsupported provider (aescbc, aesgcm, secretbox, identity)`,
      );
  }
}

/** The providers of one resource: first writes, all read (longest prefix first). */
class ProviderChain {
  private readonly readers: { prefix: string; p: Provider }[];
  constructor(private readonly providers: Provider[]) {
    this.readers = providers
      .flatMap((p) => p.prefixes.map((prefix) => ({ prefix, p })))
      .sort((a, b) => b.prefix.length - a.prefix.length);
  }
  write(key: string, data: string): Buffer | string {
    const first = this.providers[0]!;
    return first === identity ? data : first.encrypt(key, Buffer.from(data));
  }
  read(key: string, raw: Buffer): string {
    for (const { prefix, p } of this.readers) {
      if (prefix && !raw.subarray(0, prefix.length).equals(Buffer.from(prefix))) continue;
      if (!prefix && raw.subarray(0, 8).toString() === "k8s:enc:") continue;
      try {
        return p.decrypt(key, prefix, raw.subarray(prefix.length)).toString();
      } catch (err) {
        throw new Error(`${key}: cannot decrypt (${(err as Error).message})`, { cause: err });
      }
    }
    throw new Error(`${key}: no provider of the encryption configuration reads it`);
  }
}

/** A resource as the configuration names it: `secrets`, `deployments.apps`, `*.apps`, `*.*`. */
export interface StoredResource {
  resource: string;
  group: string;
}

/**
 * Reads an EncryptionConfiguration file (YAML or JSON) into a transformer; `resourceOf`
 * says which resource an etcd key belongs to. Throws EncryptionConfigError naming the field.
 */
export function loadEncryptionConfig(
  file: string,
  resourceOf: (key: string) => StoredResource | undefined,
): Transformer {
  const doc: unknown = parseYaml(readFileSync(file, "utf8"));
  if (
    !isObject(doc) ||
    doc.kind !== "EncryptionConfiguration" ||
    doc.apiVersion !== "apiserver.config.k8s.io/v1"
  )
    throw new EncryptionConfigError(
      `${file}: want kind EncryptionConfiguration, apiVersion apiserver.config.k8s.io/v1`,
    );
  const rules: { names: string[]; chain: ProviderChain }[] = [];
  const entries = Array.isArray(doc.resources) ? doc.resources : [];
  entries.forEach((r: unknown, i) => {
    const where = `resources[${i}]`;
    if (!isObject(r) || !Array.isArray(r.resources) || r.resources.length === 0)
      throw new EncryptionConfigError(`${where}.resources: name at least one resource`);
    if (!Array.isArray(r.providers) || r.providers.length === 0)
      throw new EncryptionConfigError(`${where}.providers: name at least one provider`);
    const chain = new ProviderChain(
      r.providers.map((p: unknown, j) => provider(p, `${where}.providers[${j}]`)),
    );
    rules.push({ names: r.resources.map(String), chain });
  });
  const chainOf = new Map<string, ProviderChain | null>();
  const find = (key: string): ProviderChain | undefined => {
    const res = resourceOf(key);
    if (!res) return undefined;
    const id = `${res.resource}.${res.group}`;
    let c = chainOf.get(id);
    if (c === undefined) {
      const full = res.group ? `${res.resource}.${res.group}` : res.resource;
      const matches = (n: string): boolean =>
        n === full ||
        n === "*.*" ||
        (n === "*." && res.group === "") ||
        (n.startsWith("*.") && n.slice(2) === res.group);
      c = rules.find((r) => r.names.some(matches))?.chain ?? null;
      chainOf.set(id, c);
    }
    return c ?? undefined;
  };
  return {
    toStorage: (key, data) => find(key)?.write(key, data) ?? data,
    fromStorage: (key, raw) => {
      const chain = find(key);
      if (chain) return chain.read(key, raw);
      return raw.toString();
    },
  };
}
