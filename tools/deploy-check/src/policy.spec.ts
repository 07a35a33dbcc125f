import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { serviceEnvNames } from './env-names.js';
import { durationMs, imageProblems, manifestProblems } from './k8s-policy.js';
import { renderKustomize, unknownFieldProblems, validateObject, type K8sObject } from './manifests.js';
import { repoPath } from './paths.js';

// Each rule is shown to reject a deliberately broken copy of the prod overlay, so a rule that stopped
// working would fail here rather than pass everything.
const prod = renderKustomize(repoPath('k8s/overlays/prod'));

// `any` in the mutators below: they reach into manifests whose shape the spec knows, to break one field.
/* eslint-disable @typescript-eslint/no-explicit-any */

/** A deep copy of the overlay with `change` applied to the object `kind/name`. */
function broken(kind: string, name: string, change: (object: Record<string, any>) => void): K8sObject[] {
  const copy = structuredClone(prod);
  const object = copy.find((o) => o.kind === kind && o.metadata.name === name);
  if (!object) throw new Error(`no ${kind}/${name}`);
  change(object);
  return copy;
}

const container = (o: Record<string, any>) => o.spec.template.spec.containers[0];

/** The overlay with the router's `--flag=value` argument given another value. */
const routerFlag = (flag: string, value: string): K8sObject[] =>
  broken('Deployment', 'vllm-router', (o) => {
    container(o).args = container(o).args.map((a: string) => (a.startsWith(`${flag}=`) ? `${flag}=${value}` : a));
  });

/** The overlay with the routing file (ConfigMap parley-routing) changed. */
function routingFile(change: (file: Record<string, any>) => void): K8sObject[] {
  return broken('ConfigMap', 'parley-routing', (o) => {
    const file = parse(o.data['models.yaml']);
    change(file);
    o.data['models.yaml'] = stringify(file);
  });
}

describe('policy - rejects', () => {
  it('the overlay as rendered has no problems (the baseline for the cases below)', () => {
    expect(manifestProblems(prod)).toEqual([]);
  });

  it('an untagged image, a latest tag, and accepts a digest', () => {
    expect(imageProblems('nats', 'x')).toEqual(['x: image nats has no tag']);
    expect(imageProblems('registry:5000/nats', 'x')).toEqual(['x: image registry:5000/nats has no tag']);
    expect(imageProblems('nats:latest', 'x')).toEqual(['x: image nats:latest uses the latest tag']);
    expect(imageProblems(`nats@sha256:${'a'.repeat(64)}`, 'x')).toEqual([]);
  });

  it('a container without probes, resources or a hardened security context', () => {
    const objects = broken('Deployment', 'gateway', (o) => {
      const c = container(o);
      delete c.livenessProbe;
      delete c.readinessProbe;
      delete c.resources.limits;
      c.securityContext = {};
      c.image = 'parley/gateway:latest';
    });
    expect(manifestProblems(objects)).toEqual(
      expect.arrayContaining([
        'Deployment/gateway container gateway: no livenessProbe',
        'Deployment/gateway container gateway: no readinessProbe',
        'Deployment/gateway container gateway: no memory limit',
        'Deployment/gateway container gateway: readOnlyRootFilesystem is not true',
        'Deployment/gateway container gateway: capabilities do not drop ALL',
        'Deployment/gateway container gateway: allowPrivilegeEscalation is not false',
        'Deployment/gateway container gateway: image parley/gateway:latest uses the latest tag',
      ]),
    );
  });

  it("a backup CronJob that may overlap, runs another image than the responder's, or gets stray variables", () => {
    const job = (o: Record<string, any>) => o.spec.jobTemplate.spec.template.spec.containers[0];
    const objects = broken('CronJob', 'nats-backup', (o) => {
      o.spec.concurrencyPolicy = 'Allow';
      job(o).image = 'registry.example.com/parley/responder:0.0.9';
      job(o).env = [{ name: 'PARLEY_RETENTION_DAYS', value: '30' }];
      delete job(o).securityContext.readOnlyRootFilesystem;
    });
    expect(manifestProblems(objects)).toEqual([
      'CronJob/nats-backup container backup: readOnlyRootFilesystem is not true',
      'CronJob/nats-backup: concurrencyPolicy is Allow, not Forbid',
      "CronJob/nats-backup container backup: runs responder's code from image " +
        'registry.example.com/parley/responder:0.0.9, Deployment/responder runs registry.example.com/parley/responder:0.1.0',
      'CronJob/nats-backup container backup: PARLEY_RETENTION_DAYS is not a variable the backup command reads',
    ]);
  });

  it('a Secret volume a non-root container cannot read: no fsGroup and a mode closed to others', () => {
    const noFsGroup = broken('Deployment', 'gateway', (o) => delete o.spec.template.spec.securityContext.fsGroup);
    expect(manifestProblems(noFsGroup)).toEqual([
      'Deployment/gateway container gateway: Secret parley-api-keys (volume api-keys) is mode 0440 owned by root, ' +
        "unreadable for uid 1000: set the pod's fsGroup or a defaultMode readable by others",
    ]);
    // Readable by others, or an item's own mode that is: no fsGroup needed.
    const worldReadable = broken('Deployment', 'gateway', (o) => {
      delete o.spec.template.spec.securityContext.fsGroup;
      o.spec.template.spec.volumes.find((v: any) => v.name === 'api-keys').secret.defaultMode = 0o444;
    });
    expect(manifestProblems(worldReadable)).toEqual([]);
    const item = broken('Deployment', 'gateway', (o) => {
      delete o.spec.template.spec.securityContext.fsGroup;
      o.spec.template.spec.volumes.find((v: any) => v.name === 'api-keys').secret.items = [
        { key: 'keys', path: 'keys', mode: 0o400 },
      ];
    });
    expect(manifestProblems(item)).toContainEqual(expect.stringContaining('is mode 0400 owned by root'));
    // A projected volume is the same files.
    const projected = broken('Deployment', 'gateway', (o) => {
      delete o.spec.template.spec.securityContext.fsGroup;
      const volume = o.spec.template.spec.volumes.find((v: any) => v.name === 'api-keys');
      delete volume.secret;
      volume.projected = { defaultMode: 0o440, sources: [{ secret: { name: 'parley-api-keys' } }] };
    });
    expect(manifestProblems(projected)).toContainEqual(
      expect.stringContaining('Secret parley-api-keys (volume api-keys) is mode 0440'),
    );
  });

  it('vLLM or its router as a uid without a passwd entry and without USER, LOGNAME or HOME', () => {
    const objects = broken('StatefulSet', 'vllm', (o) => {
      container(o).env = container(o).env.filter((e: any) => !['USER', 'LOGNAME', 'HOME'].includes(e.name));
    });
    expect(manifestProblems(objects)).toEqual([
      'StatefulSet/vllm container vllm: runs as a uid without a passwd entry and sets no HOME',
      'StatefulSet/vllm container vllm: runs as a uid without a passwd entry and sets neither USER nor LOGNAME',
    ]);
    const router = broken('Deployment', 'vllm-router', (o) => {
      container(o).env = container(o).env.filter((e: any) => !['USER', 'LOGNAME'].includes(e.name));
    });
    expect(manifestProblems(router)).toEqual([
      'Deployment/vllm-router container router: runs as a uid without a passwd entry and sets neither USER nor LOGNAME',
    ]);
    const logname = broken('StatefulSet', 'vllm', (o) => {
      container(o).env = container(o).env.filter((e: any) => e.name !== 'USER');
    });
    expect(manifestProblems(logname)).toEqual([]);
  });

  it('a claim asking ReadWriteMany of the default storage class', () => {
    const objects = broken(
      'StatefulSet',
      'vllm',
      (o) => (o.spec.volumeClaimTemplates[0].spec.accessModes = ['ReadWriteMany']),
    );
    expect(manifestProblems(objects)).toEqual([
      'StatefulSet/vllm volumeClaimTemplate model-cache: asks ReadWriteMany with no storageClassName (Pending on most default classes)',
    ]);
    const named = broken('StatefulSet', 'vllm', (o) => {
      o.spec.volumeClaimTemplates[0].spec.accessModes = ['ReadWriteMany'];
      o.spec.volumeClaimTemplates[0].spec.storageClassName = 'nfs';
    });
    expect(manifestProblems(named)).toEqual([]);
    const claim = [
      ...prod,
      {
        apiVersion: 'v1',
        kind: 'PersistentVolumeClaim',
        metadata: { name: 'shared' },
        spec: { accessModes: ['ReadWriteMany'], resources: { requests: { storage: '1Gi' } } },
      },
    ];
    expect(manifestProblems(claim)).toEqual([
      'PersistentVolumeClaim/shared: asks ReadWriteMany with no storageClassName (Pending on most default classes)',
    ]);
  });

  it('a workload no Service selects and no PodDisruptionBudget covers', () => {
    const objects = broken('Deployment', 'responder', (o) => {
      o.spec.template.metadata.labels = { 'app.kubernetes.io/name': 'orphan' };
    });
    expect(manifestProblems(objects)).toEqual(
      expect.arrayContaining([
        'Deployment/responder: no Service selects its pods',
        'Deployment/responder: no PodDisruptionBudget covers its pods',
      ]),
    );
  });

  it('an autoscaler whose target does not exist, and two autoscalers on one workload', () => {
    const missing = broken('HorizontalPodAutoscaler', 'gateway', (o) => (o.spec.scaleTargetRef.name = 'gone'));
    expect(manifestProblems(missing)).toContain(
      'HorizontalPodAutoscaler/gateway: scale target Deployment/gone does not exist',
    );
    const twice = broken('HorizontalPodAutoscaler', 'gateway', (o) => (o.spec.scaleTargetRef.name = 'inference'));
    // Whichever of the two comes second in the render is the one reported.
    expect(manifestProblems(twice)).toContainEqual(
      expect.stringMatching(
        /Deployment\/inference is already scaled by (ScaledObject\/inference|HorizontalPodAutoscaler\/gateway)$/,
      ),
    );
  });

  it('spec.replicas on a workload an autoscaler owns', () => {
    const objects = broken('Deployment', 'gateway', (o) => (o.spec.replicas = 2));
    expect(manifestProblems(objects)).toEqual([
      'Deployment/gateway: sets spec.replicas (2), which HorizontalPodAutoscaler/gateway owns: each apply would reset it',
    ]);
    const vllm = broken('StatefulSet', 'vllm', (o) => (o.spec.replicas = 1));
    expect(manifestProblems(vllm)).toEqual([
      'StatefulSet/vllm: sets spec.replicas (1), which ScaledObject/vllm owns: each apply would reset it',
    ]);
    // NATS is not autoscaled: its three replicas are the cluster's size.
    expect(prod.find((o) => o.kind === 'StatefulSet' && o.metadata.name === 'nats')?.spec).toMatchObject({
      replicas: 3,
    });
  });

  it('a KEDA fallback that can scale below the current replicas when Prometheus is unreachable', () => {
    const unset = broken('ScaledObject', 'vllm', (o) => delete o.spec.fallback.behavior);
    expect(manifestProblems(unset)).toEqual([
      'ScaledObject/vllm: fallback behavior static can scale below the current replicas when metrics fail ' +
        '(use currentReplicas or currentReplicasIfHigher)',
    ]);
    const lower = broken('ScaledObject', 'inference', (o) => (o.spec.fallback.behavior = 'currentReplicasIfLower'));
    expect(manifestProblems(lower)).toContainEqual(
      expect.stringContaining('ScaledObject/inference: fallback behavior currentReplicasIfLower can scale below'),
    );
    const none = broken('ScaledObject', 'vllm', (o) => delete o.spec.fallback);
    expect(manifestProblems(none)).toEqual([]);
  });

  it('a scaler threshold outside 70–80 % of the cap of what it scales', () => {
    const atCap = broken('ScaledObject', 'inference', (o) => (o.spec.triggers[0].metadata.threshold = '128'));
    expect(manifestProblems(atCap)).toEqual([
      "ScaledObject/inference: threshold 128 on parley_active_streams is 100 % of Deployment/inference's cap 128 " +
        '(routing target vllm maxConcurrency): scale out at 70–80 % of it (90–102)',
    ]);
    const vllm = broken('ScaledObject', 'vllm', (o) => (o.spec.triggers[0].metadata.threshold = '20'));
    expect(manifestProblems(vllm)).toEqual([
      expect.stringMatching(
        /^ScaledObject\/vllm: threshold 20 on vllm:num_requests_running is \d+ % of StatefulSet\/vllm's cap \d+ \(--max-num-seqs\)/,
      ),
    ]);
    const noFlag = broken('StatefulSet', 'vllm', (o) => {
      container(o).args = container(o).args.filter((a: string) => !a.startsWith('--max-num-seqs'));
    });
    expect(manifestProblems(noFlag)).toEqual(['StatefulSet/vllm: no --max-num-seqs for its scaler to be tied to']);
  });

  it('a routing file whose cap the inference threshold cannot be tied to, or whose split changes the cap', () => {
    const uncapped = routingFile((file) => delete file.targets.vllm.maxConcurrency);
    expect(manifestProblems(uncapped)).toEqual([
      'routing target vllm: no maxConcurrency for the inference scaler to be tied to',
    ]);
    // 3 of 4 conversations go to vllm: its 128 streams are full at 170 per replica, and 96 is 56 % of that.
    const split = routingFile((file) => {
      file.targets.other = { ...file.targets.vllm };
      file.models.support.split = [
        { target: 'vllm', weight: 3 },
        { target: 'other', weight: 1 },
      ];
    });
    expect(manifestProblems(split)).toContainEqual(
      "ScaledObject/inference: threshold 96 on parley_active_streams is 56 % of Deployment/inference's cap 170 " +
        '(routing target vllm maxConcurrency): scale out at 70–80 % of it (119–136)',
    );
  });

  it('a variable the service does not read, in env or in a ConfigMap used by envFrom', () => {
    const inEnv = broken('Deployment', 'inference', (o) =>
      container(o).env.push({ name: 'PARLEY_UPSTREAM_URL', value: 'x' }),
    );
    expect(manifestProblems(inEnv)).toContain(
      'Deployment/inference container inference: PARLEY_UPSTREAM_URL is not a variable inference reads',
    );
    const common = prod.find((o) => o.kind === 'ConfigMap' && o.metadata.name.startsWith('parley-common'))!.metadata
      .name;
    const inConfigMap = broken('ConfigMap', common, (o) => (o.data.PARLEY_TURN_TIMEOUT_MS = '1000'));
    // Gateway reads it; responder and inference do not.
    expect(manifestProblems(inConfigMap)).toContain(
      'Deployment/responder container responder: PARLEY_TURN_TIMEOUT_MS is not a variable responder reads',
    );
    expect(manifestProblems(inConfigMap).some((p) => p.startsWith('Deployment/gateway'))).toBe(false);
  });

  it('a $(VAR) reference kubelet would leave as text: defined after its use, or nowhere', () => {
    const env = (o: Record<string, any>) => container(o).env as { name: string }[];
    const late = broken('Deployment', 'gateway', (o) => {
      const password = env(o).findIndex((v) => v.name === 'REDIS_PASSWORD');
      env(o).push(...env(o).splice(password, 1));
    });
    expect(manifestProblems(late)).toContain(
      'Deployment/gateway container gateway: PARLEY_REDIS_URL uses $(REDIS_PASSWORD), which no variable before it defines',
    );
    const undefinedArg = broken('StatefulSet', 'redis', (o) => {
      container(o).env = container(o).env.filter((v: { name: string }) => v.name !== 'REDIS_PASSWORD');
    });
    expect(manifestProblems(undefinedArg)).toContain(
      'StatefulSet/redis container redis: its command or args use $(REDIS_PASSWORD), which is not defined',
    );
    // A variable that only composes another must come from a Secret and be used by one the service reads.
    const plain = broken('Deployment', 'gateway', (o) => {
      const password = env(o).find((v) => v.name === 'REDIS_PASSWORD') as Record<string, unknown>;
      delete password.valueFrom;
      password.value = 'in-the-manifest';
    });
    expect(manifestProblems(plain)).toContain(
      'Deployment/gateway container gateway: REDIS_PASSWORD is not a variable gateway reads',
    );
  });

  it('a PARLEY_REDIS_URL that reaches no Redis of the manifests, or disagrees with it about the password', () => {
    const setUrl = (url: string) =>
      broken('Deployment', 'gateway', (o) => {
        container(o).env.find((v: { name: string }) => v.name === 'PARLEY_REDIS_URL').value = url;
      });
    expect(manifestProblems(setUrl('redis://:$(REDIS_PASSWORD)@rediss:6379'))).toContain(
      'Deployment/gateway: PARLEY_REDIS_URL names rediss:6379, which is no Service port here',
    );
    expect(manifestProblems(setUrl('redis://:$(REDIS_PASSWORD)@redis:6380'))).toContain(
      'Deployment/gateway: PARLEY_REDIS_URL names redis:6380, which is no Service port here',
    );
    expect(manifestProblems(setUrl('redis://redis:6379'))).toContain(
      'Deployment/gateway: PARLEY_REDIS_URL has no password, and StatefulSet/redis requires one',
    );
    expect(manifestProblems(setUrl('http://redis:6379'))).toContain(
      'Deployment/gateway: PARLEY_REDIS_URL is not a redis:// or rediss:// URL',
    );
    // A managed Redis outside the cluster is the operator's to check.
    expect(manifestProblems(setUrl('rediss://:$(REDIS_PASSWORD)@cache.example.com:6380'))).toEqual([]);
    const open = broken('StatefulSet', 'redis', (o) => {
      container(o).args = container(o).args.filter(
        (a: string, i: number, all: string[]) => a !== '--requirepass' && all[i - 1] !== '--requirepass',
      );
    });
    expect(manifestProblems(open)).toContain(
      'Deployment/gateway: PARLEY_REDIS_URL has a password, and StatefulSet/redis requires none',
    );
  });

  it('a grace period too short for the drain, and a missing preStop pause', () => {
    const objects = broken('Deployment', 'gateway', (o) => {
      o.spec.template.spec.terminationGracePeriodSeconds = 30;
    });
    expect(manifestProblems(objects)).toContain(
      'Deployment/gateway container gateway: terminationGracePeriodSeconds 30 < preStop 10 s + drain 120 s',
    );
    const noPause = broken('StatefulSet', 'vllm', (o) => delete container(o).lifecycle);
    expect(manifestProblems(noPause)).toContain('StatefulSet/vllm container vllm: no preStop pause');
  });

  it('a routing target asking for a model vLLM does not serve', () => {
    const objects = broken('StatefulSet', 'vllm', (o) => {
      const c = container(o);
      c.args = c.args.map((a: string) => (a.startsWith('--served-model-name=') ? '--served-model-name=other' : a));
    });
    expect(manifestProblems(objects)).toContain(
      'target vllm: asks for model llama-3.1-8b-instruct, StatefulSet/vllm (behind Deployment/vllm-router) serves other',
    );
  });

  it('a router that discovers no model server, or one on another port, and a target that bypasses it', () => {
    const selector = routerFlag('--k8s-label-selector', 'parley.io/model-server=false');
    expect(manifestProblems(selector)).toEqual([
      'Deployment/vllm-router: discovers no model server (no pods labelled parley.io/model-server=false)',
    ]);
    const everything = routerFlag('--k8s-label-selector', '');
    expect(manifestProblems(everything)).toEqual([
      'Deployment/vllm-router: no --k8s-label-selector: it would send requests to every pod',
    ]);
    const port = routerFlag('--k8s-port', '9000');
    expect(manifestProblems(port)).toEqual([
      'Deployment/vllm-router: discovers StatefulSet/vllm, which has no container port 9000 (--k8s-port)',
    ]);
    const direct = routingFile((file) => (file.targets.vllm.baseUrl = 'http://vllm:8000/v1'));
    expect(manifestProblems(direct)).toEqual([
      'target vllm: calls StatefulSet/vllm directly, bypassing Deployment/vllm-router, which discovers it: ' +
        'conversations would not stay on one replica (and the NetworkPolicies admit only the router)',
    ]);
  });

  it("a target whose session header is not the router's session key, or a router that ignores it", () => {
    const key = routerFlag('--session-key', 'x-session-id');
    expect(manifestProblems(key)).toEqual([
      'target vllm: sends the conversation id in x-parley-conversation-id to Deployment/vllm-router, whose ' +
        '--session-key is x-session-id: a conversation would not stay on the replica that caches it',
    ]);
    const header = routingFile((file) => (file.targets.vllm.sessionHeader = 'x-conversation'));
    expect(manifestProblems(header)).toEqual([
      expect.stringContaining('sends the conversation id in x-conversation to Deployment/vllm-router, whose'),
    ]);
    const roundRobin = routerFlag('--routing-logic', 'roundrobin');
    expect(manifestProblems(roundRobin)).toEqual([
      'target vllm: sends the conversation id in x-parley-conversation-id to Deployment/vllm-router, whose ' +
        '--routing-logic roundrobin ignores it: use session',
    ]);
    // Header names are case-insensitive, and a target without sessionHeader sends the default one.
    const upper = routingFile((file) => (file.targets.vllm.sessionHeader = 'X-Parley-Conversation-Id'));
    expect(manifestProblems(upper)).toEqual([]);
    const unset = routingFile((file) => delete file.targets.vllm.sessionHeader);
    expect(manifestProblems(unset)).toEqual([]);
  });

  it('a Role that grants more than reads, a router that may not watch pods, and a token nobody needs', () => {
    const writes = broken('Role', 'vllm-router', (o) => {
      o.rules = [
        { apiGroups: [''], resources: ['pods', 'secrets'], verbs: ['get', 'list', 'watch', 'patch'] },
        { apiGroups: ['*'], resources: ['services'], verbs: ['get'] },
      ];
    });
    expect(manifestProblems(writes)).toEqual([
      'Role/vllm-router rules[0]: grants patch; only get, list and watch',
      'Role/vllm-router rules[0]: grants access to Secrets',
      'Role/vllm-router rules[1]: a wildcard grants more than it names',
    ]);
    const unbound = prod.filter((o) => o.kind !== 'RoleBinding');
    expect(manifestProblems(unbound)).toEqual([
      'Deployment/vllm-router: a router, but ServiceAccount vllm-router may not get, list and watch pods: ' +
        'it would discover no model server',
    ]);
    const noToken = broken(
      'Deployment',
      'vllm-router',
      (o) => (o.spec.template.spec.automountServiceAccountToken = false),
    );
    expect(manifestProblems(noToken)).toEqual([
      'Deployment/vllm-router: a router that watches pods, but its pods mount no API token',
    ]);
    const gateway = broken('Deployment', 'gateway', (o) => delete o.spec.template.spec.automountServiceAccountToken);
    expect(manifestProblems(gateway)).toEqual([
      'Deployment/gateway: mounts a service account token it has no use for (automountServiceAccountToken: false)',
    ]);
    const binding = broken('RoleBinding', 'vllm-router', (o) => (o.subjects[0].name = 'nobody'));
    expect(manifestProblems(binding)).toEqual(
      expect.arrayContaining([
        'RoleBinding/vllm-router: subject ServiceAccount/nobody is not a ServiceAccount of the manifests',
      ]),
    );
  });

  it('an HTTPRoute timeout not longer than the turn timeout, or unset, and /metrics routed to the gateway', () => {
    const rule = (o: Record<string, any>) => o.spec.rules[0];
    const short = broken('HTTPRoute', 'gateway', (o) => {
      rule(o).timeouts = { request: '2m' };
    });
    expect(manifestProblems(short)).toEqual([
      'HTTPRoute/gateway rules[0]: timeouts.request 2m is not longer than the turn timeout, 120 s ' +
        '(PARLEY_TURN_TIMEOUT_MS): it would cut a reply still streaming (longer, or 0s for none)',
      "HTTPRoute/gateway rules[0]: no timeouts.backendRequest: the implementation's default (Envoy's is 15 s) " +
        'may cut a reply streaming for up to the turn timeout, 120 s (PARLEY_TURN_TIMEOUT_MS)',
    ]);
    // Tied to the gateway's turn timeout: 300 s is too short for turns of 10 minutes.
    const longTurns = broken('Deployment', 'gateway', (o) => {
      container(o).env.push({ name: 'PARLEY_TURN_TIMEOUT_MS', value: '600000' });
      o.spec.template.spec.terminationGracePeriodSeconds = 630;
    });
    expect(manifestProblems(longTurns)).toEqual([
      expect.stringContaining(
        'HTTPRoute/gateway rules[0]: timeouts.request 300s is not longer than the turn timeout, 600 s',
      ),
      expect.stringContaining('HTTPRoute/gateway rules[0]: timeouts.backendRequest 300s is not longer than'),
    ]);
    const disabled = broken(
      'HTTPRoute',
      'gateway',
      (o) => (rule(o).timeouts = { request: '0s', backendRequest: '1h' }),
    );
    expect(manifestProblems(disabled)).toEqual([]);
    const inverted = broken(
      'HTTPRoute',
      'gateway',
      (o) => (rule(o).timeouts = { request: '5m', backendRequest: '10m' }),
    );
    expect(manifestProblems(inverted)).toEqual([
      'HTTPRoute/gateway rules[0]: timeouts.backendRequest is longer than timeouts.request, which includes it',
    ]);
    const metrics = broken('HTTPRoute', 'gateway', (o) => o.spec.rules.pop());
    expect(manifestProblems(metrics)).toEqual([
      'HTTPRoute/gateway: sends /metrics to the gateway, unauthenticated: add a rule for PathPrefix /metrics ' +
        'without backendRefs',
    ]);
    const port = broken('HTTPRoute', 'gateway', (o) => (rule(o).backendRefs[0].port = 3000));
    expect(manifestProblems(port)).toEqual([
      'HTTPRoute/gateway rules[0]: backend Service/gateway has no such Service port 3000',
    ]);
  });

  it('a Gateway API duration as GEP-2257 writes it', () => {
    expect(durationMs('300s')).toBe(300_000);
    expect(durationMs('1h30m')).toBe(5_400_000);
    expect(durationMs('1500ms')).toBe(1_500);
    expect(durationMs('0s')).toBe(0);
    expect(durationMs('5 minutes')).toBeUndefined();
    expect(durationMs('1.5s')).toBeUndefined();
  });

  it('JetStream alerts that disagree with the NATS StatefulSet or read metrics its exporter does not serve', () => {
    const five = broken('StatefulSet', 'nats', (o) => (o.spec.replicas = 5));
    expect(manifestProblems(five)).toEqual([
      'alert ParleyJetStreamServerDown: compares with 3 healthy servers, StatefulSet/nats has 5',
      'alert ParleyJetStreamStreamsDiffer: assumes every server holds every stream, but PARLEY_JETSTREAM_REPLICAS ' +
        'is 3 on 5 NATS servers',
    ]);
    const noJsz = broken('StatefulSet', 'nats', (o) => {
      const exporter = o.spec.template.spec.containers.find((c: any) => c.name === 'exporter');
      exporter.args = exporter.args.filter((a: string) => !a.startsWith('-jsz') && a !== '-healthz');
    });
    expect(manifestProblems(noJsz)).toEqual(
      expect.arrayContaining([
        "alert ParleyJetStreamStorageHigh: jetstream_server_total_message_bytes needs the NATS exporter's -jsz, " +
          'not in its args',
        "alert ParleyJetStreamServerDown: gnatsd_healthz_status needs the NATS exporter's -healthz, not in its args",
      ]),
    );
    const leafz = broken('PrometheusRule', 'parley', (o) => {
      o.spec.groups.find((g: any) => g.name === 'parley-jetstream').rules[5].expr = 'max(gnatsd_leafz_conn) > 1';
    });
    expect(manifestProblems(leafz)).toEqual([
      'alert ParleyJetStreamConsumersHigh: gnatsd_leafz_conn is from no NATS exporter endpoint this check knows',
    ]);
  });

  it('a Secret with a value in the manifests', () => {
    const objects = [
      ...prod,
      { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'hf-token' }, stringData: { token: 'hf_x' } },
    ];
    expect(manifestProblems(objects)).toContain('Secret/hf-token: a Secret with a value is in the manifests');
  });
});

describe('policy - schemas', () => {
  it('an object of a kind without a schema fails instead of being skipped', () => {
    expect(() => validateObject({ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' } })).toThrow(
      'example.com/v1/Widget w: no schema for this kind',
    );
  });

  it('an object that breaks its schema', () => {
    const bad = structuredClone(prod.find((o) => o.kind === 'Deployment')!) as Record<string, any>;
    bad.spec.template.spec.containers[0].resources.limits.cpu = 'lots';
    expect(() => validateObject(bad as K8sObject)).toThrow(/resources\/limits\/cpu/);
  });

  it('a field no schema declares, at any depth and in a CRD, which the schema validator alone lets through', () => {
    const typo = broken('Deployment', 'gateway', (o) => {
      o.spec.replcas = 3;
      container(o).resources.limitz = { cpu: '1' };
      container(o).ports[0].nam = 'http';
    });
    const gateway = typo.find((o) => o.kind === 'Deployment' && o.metadata.name === 'gateway')!;
    expect(() => validateObject(gateway)).not.toThrow();
    expect(unknownFieldProblems(typo)).toEqual([
      'Deployment/gateway: spec.template.spec.containers[0].ports[0].nam is not a field of ContainerPort',
      'Deployment/gateway: spec.template.spec.containers[0].resources.limitz is not a field of ResourceRequirements',
      'Deployment/gateway: spec.replcas is not a field of DeploymentSpec',
    ]);
    const crd = broken('ScaledObject', 'vllm', (o) => (o.spec.fallback.behaviour = 'currentReplicas'));
    expect(unknownFieldProblems(crd)).toEqual([
      'ScaledObject/vllm: spec.fallback.behaviour is not a field of Fallback',
    ]);
    const route = broken('HTTPRoute', 'gateway', (o) => (o.spec.rules[0].timeouts.requestTimeout = '300s'));
    expect(unknownFieldProblems(route)).toEqual([
      'HTTPRoute/gateway: spec.rules[0].timeouts.requestTimeout is not a field of HTTPRouteTimeouts',
    ]);
    // Maps (labels, resource requests, trigger metadata) take any key.
    const maps = broken('Deployment', 'gateway', (o) => {
      o.metadata.labels.anything = 'x';
      container(o).resources.requests['example.com/widget'] = '1';
    });
    expect(unknownFieldProblems(maps)).toEqual([]);
  });

  it('the allowed variables come from the zod schemas of @parley/config', () => {
    expect(serviceEnvNames('gateway')).toContain('PARLEY_API_KEYS_FILE');
    expect(serviceEnvNames('responder')).toContain('PARLEY_CONTEXT_WINDOW_TOKENS');
    expect(serviceEnvNames('inference')).toContain('PARLEY_MODELS_FILE');
    expect(serviceEnvNames('inference')).not.toContain('PARLEY_API_KEYS');
    // Announced ahead of the gateway's schema (env-names.ts, ANNOUNCED_ENV).
    expect(serviceEnvNames('gateway')).toContain('PARLEY_REDIS_URL');
    expect(serviceEnvNames('responder')).not.toContain('PARLEY_REDIS_URL');
  });
});
