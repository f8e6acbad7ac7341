// The fields Skiff gained to match Kubernetes 1.31 (volume sources it does not mount, raw
// block devices, Windows options, Job success policies, quota scope selectors, ...): a
// manifest using them is accepted, defaulted as 1.31 defaults it, returned unchanged
// through protobuf, and refused with 1.31's field paths and messages when it is wrong.
import { test } from "node:test";
import assert from "node:assert/strict";
import { applyDefaults } from "../src/defaults.js";
import { validate } from "../src/validation.js";
import { unknownFields } from "../src/prune.js";
import { decodeEnvelope, encodeEnvelope } from "../src/protobuf.js";
import { quotaScopesMatch } from "../src/quota-usage.js";
import { findResource } from "../src/resources.js";
import { info } from "./fixtures.js";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Obj = any;
type Info = ReturnType<typeof info>;

function errorsOf(i: Info, obj: Obj): string[] {
  applyDefaults(i, obj);
  return validate(i, obj).map((e) => `${e.field}: ${e.message}`);
}

const podInfo = info("v1", "Pod");

function pod(): Obj {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "storage", namespace: "default" },
    spec: {
      securityContext: { windowsOptions: { runAsUserName: "ContainerUser" } },
      containers: [
        {
          name: "app",
          image: "busybox:1.36",
          securityContext: { windowsOptions: { gmsaCredentialSpecName: "webapp" } },
          volumeMounts: [{ name: "share", mountPath: "/share" }],
          volumeDevices: [{ name: "raw", devicePath: "/dev/xvda" }],
        },
      ],
      volumes: [
        { name: "share", nfs: { server: "nfs.example.com", path: "/exports/data" } },
        { name: "raw", persistentVolumeClaim: { claimName: "block" } },
        {
          name: "lun",
          iscsi: { targetPortal: "10.0.0.1:3260", iqn: "iqn.2001-04.com.example:storage", lun: 0 },
        },
        { name: "disk", azureDisk: { diskName: "d", diskURI: "/subscriptions/x/d" } },
        { name: "ceph", rbd: { monitors: ["10.0.0.2:6789"], image: "foo" } },
        {
          name: "csi",
          csi: { driver: "inline.storage.example.com", volumeAttributes: { size: "1Gi" } },
        },
        {
          name: "scratch",
          ephemeral: {
            volumeClaimTemplate: {
              spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } },
            },
          },
        },
      ],
    },
  };
}

test("a pod using 1.31's volume sources, block devices and Windows options is accepted and defaulted", () => {
  const p = pod();
  assert.deepEqual(unknownFields(podInfo, p), []);
  assert.deepEqual(errorsOf(podInfo, p), []);
  const volumes = p.spec.volumes;
  assert.equal(volumes[2].iscsi.iscsiInterface, "default");
  assert.deepEqual(volumes[3].azureDisk, {
    diskName: "d",
    diskURI: "/subscriptions/x/d",
    cachingMode: "ReadWrite",
    fsType: "ext4",
    readOnly: false,
    kind: "Shared",
  });
  assert.deepEqual(
    [volumes[4].rbd.pool, volumes[4].rbd.user, volumes[4].rbd.keyring],
    ["rbd", "admin", "/etc/ceph/keyring"],
  );
  assert.equal(volumes[6].ephemeral.volumeClaimTemplate.spec.volumeMode, "Filesystem");
});

test("the new fields survive a protobuf round trip", () => {
  const p = pod();
  applyDefaults(podInfo, p);
  const back = decodeEnvelope(encodeEnvelope(p)).object as Obj;
  assert.deepEqual(back.spec.volumes, p.spec.volumes);
  assert.deepEqual(back.spec.containers[0].volumeDevices, [
    { name: "raw", devicePath: "/dev/xvda" },
  ]);
  assert.deepEqual(back.spec.securityContext.windowsOptions, { runAsUserName: "ContainerUser" });
});

test("wrong volume sources, block devices and Windows options are refused with their paths", () => {
  const cases: [string, (p: Obj) => void, string[]][] = [
    [
      "nfs without a server, relative path",
      (p) => (p.spec.volumes[0].nfs = { path: "data" }),
      [
        "spec.volumes[0].nfs.server: Required value",
        'spec.volumes[0].nfs.path: Invalid value: "data": must be an absolute path',
      ],
    ],
    [
      "two sources in one volume",
      (p) => (p.spec.volumes[0].csi = { driver: "x" }),
      ["spec.volumes[0].csi: Forbidden: may not specify more than 1 volume type"],
    ],
    [
      "iSCSI lun out of range and a bad IQN",
      (p) => Object.assign(p.spec.volumes[2].iscsi, { lun: 300, iqn: "storage" }),
      [
        'spec.volumes[2].iscsi.iqn: Invalid value: "storage": must be valid format starting with iqn, eui, or naa',
        "spec.volumes[2].iscsi.lun: Invalid value: 300: must be between 0 and 255, inclusive",
      ],
    ],
    [
      "an Azure disk caching mode 1.31 does not know",
      (p) => (p.spec.volumes[3].azureDisk.cachingMode = "Sometimes"),
      [
        'spec.volumes[3].azureDisk.cachingMode: Unsupported value: "Sometimes": supported values: "None", "ReadOnly", "ReadWrite"',
      ],
    ],
    [
      "a block device from a volume that is not a claim",
      (p) => (p.spec.containers[0].volumeDevices[0].name = "share"),
      [
        'spec.containers[0].volumeDevices[0].name: Invalid value: "share": can only use volume source type of PersistentVolumeClaim or Ephemeral for block mode',
      ],
    ],
    [
      "a block device at a mount's path",
      (p) => (p.spec.containers[0].volumeDevices[0].devicePath = "/share"),
      [
        'spec.containers[0].volumeDevices[0].devicePath: Invalid value: "/share": must not already exist as a path in volumeMounts',
      ],
    ],
    [
      "Windows options on a Linux pod",
      (p) => (p.spec.os = { name: "linux" }),
      [
        "spec.securityContext.windowsOptions: Forbidden: windows options cannot be set for a linux pod",
        "spec.containers[0].securityContext.windowsOptions: Forbidden: windows options cannot be set for a linux pod",
      ],
    ],
    [
      "a HostProcess pod off the host network",
      (p) => (p.spec.securityContext.windowsOptions.hostProcess = true),
      [
        "spec.hostNetwork: Invalid value: false: hostNetwork must be true if pod contains any hostProcess containers",
      ],
    ],
    [
      // Used to throw (a 500) before naming the field.
      "a postStart httpGet without a port",
      (p) => (p.spec.containers[0].lifecycle = { postStart: { httpGet: { path: "/" } } }),
      ["spec.containers[0].lifecycle.postStart.httpGet.port: Required value"],
    ],
    [
      // So did a node affinity requirement without its key.
      "a node affinity requirement without a key",
      (p) =>
        (p.spec.affinity = {
          nodeAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: {
              nodeSelectorTerms: [{ matchExpressions: [{ operator: "Exists" }] }],
            },
          },
        }),
      [
        'spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].key: Invalid value: "": name part must be non-empty',
        "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].key: Invalid value: \"\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
      ],
    ],
    [
      "a Localhost seccomp profile without its file, an unknown procMount",
      (p) =>
        (p.spec.containers[0].securityContext = {
          seccompProfile: { type: "Localhost" },
          procMount: "Hidden",
        }),
      [
        "spec.containers[0].securityContext.seccompProfile.localhostProfile: Required value: must be set when seccomp type is Localhost",
        'spec.containers[0].securityContext.procMount: Unsupported value: "Hidden": supported values: "Default", "Unmasked"',
      ],
    ],
    [
      "Bidirectional propagation in an unprivileged container",
      (p) => (p.spec.containers[0].volumeMounts[0].mountPropagation = "Bidirectional"),
      [
        "spec.containers[0].volumeMounts[0].mountPropagation: Forbidden: Bidirectional mount propagation is available only to privileged containers",
      ],
    ],
    [
      "a node field selector on another field",
      (p) =>
        (p.spec.affinity = {
          nodeAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: {
              nodeSelectorTerms: [
                { matchFields: [{ key: "spec.unschedulable", operator: "In", values: ["a"] }] },
              ],
            },
          },
        }),
      [
        'spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchFields[0].key: Unsupported value: "spec.unschedulable": supported values: "metadata.name"',
      ],
    ],
    [
      "an ephemeral volume without a template",
      (p) => (p.spec.volumes[6].ephemeral = {}),
      ["spec.volumes[6].ephemeral.volumeClaimTemplate: Required value"],
    ],
  ];
  for (const [what, change, want] of cases) {
    const p = pod();
    change(p);
    assert.deepEqual(errorsOf(podInfo, p), want, what);
  }
});

test("a PersistentVolume on NFS or CSI is accepted; a CSI one needs its handle", () => {
  const pvInfo = info("v1", "PersistentVolume");
  const pv = (source: Obj): Obj => ({
    apiVersion: "v1",
    kind: "PersistentVolume",
    metadata: { name: "pv" },
    spec: { capacity: { storage: "1Gi" }, accessModes: ["ReadWriteMany"], ...source },
  });
  assert.deepEqual(errorsOf(pvInfo, pv({ nfs: { server: "s", path: "/x" } })), []);
  assert.deepEqual(
    errorsOf(
      pvInfo,
      pv({ csi: { driver: "d", nodePublishSecretRef: { name: "s", namespace: "n" } } }),
    ),
    ["spec.csi.volumeHandle: Required value"],
  );
  assert.deepEqual(errorsOf(pvInfo, pv({})), ["spec: Required value: must specify a volume type"]);
  assert.deepEqual(errorsOf(pvInfo, pv({ hostPath: { path: "/d", type: "Folder" } })), [
    'spec.hostPath.type: Unsupported value: "Folder": supported values: "", "BlockDevice", "CharDevice", "Directory", "DirectoryOrCreate", "File", "FileOrCreate", "Socket"',
  ]);
});

test("a Job's successPolicy is checked as 1.31 checks it", () => {
  const jobInfo = info("batch/v1", "Job");
  const job = (spec: Obj): Obj => ({
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { name: "j", namespace: "default" },
    spec: {
      completions: 5,
      completionMode: "Indexed",
      selector: { matchLabels: { job: "j" } },
      template: {
        metadata: { labels: { job: "j" } },
        spec: { restartPolicy: "Never", containers: [{ name: "c", image: "busybox" }] },
      },
      ...spec,
    },
  });
  assert.deepEqual(
    errorsOf(
      jobInfo,
      job({ successPolicy: { rules: [{ succeededIndexes: "0,2-3", succeededCount: 2 }] } }),
    ),
    [],
  );
  assert.deepEqual(
    errorsOf(
      jobInfo,
      job({
        completionMode: "NonIndexed",
        successPolicy: {
          rules: [{}, { succeededIndexes: "3-1" }, { succeededIndexes: "0-1", succeededCount: 3 }],
        },
      }),
    ),
    [
      'spec.completionMode: Invalid value: "NonIndexed": requires indexed completion mode',
      "spec.successPolicy.rules[0]: Required value: at least one of succeededCount or succeededIndexes must be specified",
      'spec.successPolicy.rules[1].succeededIndexes: Invalid value: "3-1": error parsing succeededIndexes: non-increasing order, previous: 3, current: 1',
      "spec.successPolicy.rules[2].succeededCount: Invalid value: 3: must be less than or equal to 2 (the number of indexes in the specified succeededIndexes field)",
    ],
  );
});

test("a Job's podFailurePolicy is checked as 1.31 checks it", () => {
  const jobInfo = info("batch/v1", "Job");
  const job = (rules: Obj[], restartPolicy = "Never"): Obj => ({
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { name: "j", namespace: "default" },
    spec: {
      podFailurePolicy: { rules },
      selector: { matchLabels: { job: "j" } },
      template: {
        metadata: { labels: { job: "j" } },
        spec: { restartPolicy, containers: [{ name: "c", image: "busybox" }] },
      },
    },
  });
  const good = [
    { action: "FailJob", onExitCodes: { operator: "In", values: [1, 2] } },
    { action: "Ignore", onPodConditions: [{ type: "DisruptionTarget" }] },
  ];
  assert.deepEqual(errorsOf(jobInfo, job(good)), []);
  assert.deepEqual(
    errorsOf(
      jobInfo,
      job([{ action: "Retry", onExitCodes: { operator: "Has", values: [3, 0] } }], "OnFailure"),
    ),
    [
      'spec.template.spec.restartPolicy: Invalid value: "OnFailure": only "Never" is supported when podFailurePolicy is specified',
      'spec.podFailurePolicy.rules[0].action: Unsupported value: "Retry": supported values: "Count", "FailIndex", "FailJob", "Ignore"',
      'spec.podFailurePolicy.rules[0].onExitCodes.operator: Unsupported value: "Has": supported values: "In", "NotIn"',
      "spec.podFailurePolicy.rules[0].onExitCodes.values[1]: Invalid value: 0: must be ordered",
    ],
  );
});

test("a CronJob's job template gets the same policy checks, at its own paths", () => {
  const cjInfo = info("batch/v1", "CronJob");
  const cj: Obj = {
    apiVersion: "batch/v1",
    kind: "CronJob",
    metadata: { name: "cj", namespace: "default" },
    spec: {
      schedule: "*/5 * * * *",
      jobTemplate: {
        spec: {
          podFailurePolicy: {
            rules: [{ action: "Retry", onExitCodes: { operator: "In", values: [1] } }],
          },
          successPolicy: { rules: [{ succeededCount: 1 }] },
          template: {
            spec: { restartPolicy: "Never", containers: [{ name: "c", image: "busybox" }] },
          },
        },
      },
    },
  };
  assert.deepEqual(errorsOf(cjInfo, cj), [
    'spec.jobTemplate.spec.completionMode: Invalid value: "NonIndexed": requires indexed completion mode',
    'spec.jobTemplate.spec.podFailurePolicy.rules[0].action: Unsupported value: "Retry": supported values: "Count", "FailIndex", "FailJob", "Ignore"',
  ]);
});

test("a ResourceQuota's scopeSelector is checked as 1.31 checks it", () => {
  const rqInfo = info("v1", "ResourceQuota");
  const rq = (matchExpressions: Obj[]): Obj => ({
    apiVersion: "v1",
    kind: "ResourceQuota",
    metadata: { name: "q", namespace: "default" },
    spec: { hard: { pods: "10" }, scopeSelector: { matchExpressions } },
  });
  assert.deepEqual(
    errorsOf(rqInfo, rq([{ scopeName: "PriorityClass", operator: "In", values: ["high"] }])),
    [],
  );
  assert.deepEqual(
    errorsOf(
      rqInfo,
      rq([
        { scopeName: "PriorityClass", operator: "In" },
        { scopeName: "BestEffort", operator: "Exists", values: ["x"] },
        { scopeName: "Terminating", operator: "In", values: ["x"] },
      ]),
    ),
    [
      "spec.scopeSelector.matchExpressions[0].values: Required value: must be at least one value when `operator` is 'In' or 'NotIn' for scope selector",
      "spec.scopeSelector.matchExpressions[1].values: Invalid value: []string{\"x\"}: must be no value when `operator` is 'Exist' or 'DoesNotExist' for scope selector",
      "spec.scopeSelector.matchExpressions[2].operator: Invalid value: \"In\": must be 'Exist' when scope is any of ResourceQuotaScopeTerminating, ResourceQuotaScopeNotTerminating, ResourceQuotaScopeBestEffort, ResourceQuotaScopeNotBestEffort or ResourceQuotaScopeCrossNamespacePodAffinity",
    ],
  );
});

test("a quota's scopeSelector picks the pods it tracks, alone or with scopes", () => {
  const pods = findResource("", "v1", "pods")!;
  const pod = (spec: Obj): Obj => ({ spec: { containers: [{ name: "c" }], ...spec } });
  const high = pod({ priorityClassName: "high" });
  const low = pod({ priorityClassName: "low", activeDeadlineSeconds: 30 });
  const none = pod({});
  const match = (p: Obj, selector: Obj[], scopes?: string[]) =>
    quotaScopesMatch(pods, p, scopes, { matchExpressions: selector });
  const inHigh = [{ scopeName: "PriorityClass", operator: "In", values: ["high"] }];
  assert.deepEqual(
    [high, low, none].map((p) => match(p, inHigh)),
    [true, false, false],
  );
  const notInHigh = [{ scopeName: "PriorityClass", operator: "NotIn", values: ["high"] }];
  assert.deepEqual(
    [high, low, none].map((p) => match(p, notInHigh)),
    [false, true, true],
  );
  const terminating = [{ scopeName: "Terminating", operator: "Exists" }];
  assert.deepEqual(
    [high, low, none].map((p) => match(p, terminating)),
    [false, true, false],
  );
  const noClass = [{ scopeName: "PriorityClass", operator: "DoesNotExist" }];
  assert.deepEqual(
    [high, low, none].map((p) => match(p, noClass)),
    [false, false, true],
  );
  assert.equal(match(low, inHigh, ["Terminating"]), false);
  // A selector makes the quota a pods-only one, as scopes do.
  assert.equal(
    quotaScopesMatch(findResource("", "v1", "services")!, {}, [], { matchExpressions: noClass }),
    false,
  );
});
