/**
 * Rules every rendered overlay must follow, beyond schema validity. Each rule returns the problems it found
 * (empty when the objects comply), so a spec can show that a bad object is rejected for the right reason.
 */
import { DEFAULT_SESSION_HEADER, Defaults, backupEnvSchema } from '@parley/config';
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IStatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import type { ICronJob } from 'kubernetes-models/batch/v1/CronJob';
import type { IConfigMap } from 'kubernetes-models/v1/ConfigMap';
import type { IPrometheusRuleSpec } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRuleSpec';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IPodSpec } from 'kubernetes-models/v1/PodSpec';
import type { IScaledObjectSpec } from '@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObjectSpec';
import type { IService } from 'kubernetes-models/v1/Service';
import type { IServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import type { IRole } from 'kubernetes-models/rbac.authorization.k8s.io/v1/Role';
import type { IRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding';
import type { IHTTPRoute } from '@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1/HTTPRoute';
import { isParleyService, serviceEnvNames } from './env-names.js';
import { ref, type K8sObject } from './manifests.js';
import { flagValue, hostAndPort, keyVariables, readRouting, type RoutingSummary } from './routing.js';

type Workload = IDeployment | IStatefulSet;

const WORKLOAD_KINDS = new Set(['Deployment', 'StatefulSet']);

function workloads(objects: K8sObject[]): (Workload & K8sObject)[] {
  return objects.filter((o) => WORKLOAD_KINDS.has(o.kind)) as (Workload & K8sObject)[];
}

function podSpec(workload: Workload): IPodSpec {
  return workload.spec?.template.spec ?? { containers: [] };
}

function podLabels(workload: Workload): Record<string, string> {
  return workload.spec?.template.metadata?.labels ?? {};
}

/** A pod template: a workload's, or the one of a CronJob's jobs. */
interface PodTemplate {
  owner: K8sObject;
  spec: IPodSpec;
  /** Runs until stopped (probes apply), unlike a job's pod, which runs to completion. */
  serving: boolean;
}

function cronJobs(objects: K8sObject[]): (ICronJob & K8sObject)[] {
  return objects.filter((o) => o.kind === 'CronJob') as (ICronJob & K8sObject)[];
}

function podTemplates(objects: K8sObject[]): PodTemplate[] {
  return [
    ...workloads(objects).map((owner) => ({ owner, spec: podSpec(owner), serving: true })),
    ...cronJobs(objects).map((owner) => ({
      owner,
      spec: owner.spec?.jobTemplate.spec?.template.spec ?? { containers: [] },
      serving: false,
    })),
  ];
}

function find<T>(objects: K8sObject[], kind: string, name: string): (T & K8sObject) | undefined {
  return objects.find((o) => o.kind === kind && o.metadata.name === name) as (T & K8sObject) | undefined;
}

/** True when every pair of `selector` is among `labels` (an empty selector selects nothing here). */
export function selects(selector: Record<string, string> | undefined, labels: Record<string, string>): boolean {
  const pairs = Object.entries(selector ?? {});
  return pairs.length > 0 && pairs.every(([key, value]) => labels[key] === value);
}

/** An image reference with an explicit tag (or digest) that is not `latest`. */
export function imageProblems(image: string | undefined, where: string): string[] {
  if (!image) return [`${where}: no image`];
  const [name, digest] = image.split('@');
  const lastSegment = name!.slice(name!.lastIndexOf('/') + 1);
  const tag = lastSegment.includes(':') ? lastSegment.slice(lastSegment.indexOf(':') + 1) : undefined;
  if (tag === undefined && !digest) return [`${where}: image ${image} has no tag`];
  if (tag === 'latest') return [`${where}: image ${image} uses the latest tag`];
  return [];
}

/**
 * Requests and limits and the restricted security context on every container of every pod (workloads' and
 * CronJobs'), and probes on those of workloads.
 */
export function containerProblems(objects: K8sObject[]): string[] {
  const problems: string[] = [];
  for (const { owner: workload, spec, serving } of podTemplates(objects)) {
    const pod = spec.securityContext ?? {};
    const all: [IContainer, boolean][] = [
      ...(spec.initContainers ?? []).map((c): [IContainer, boolean] => [c, false]),
      ...spec.containers.map((c): [IContainer, boolean] => [c, true]),
    ];
    for (const [container, main] of all) {
      const where = `${ref(workload)} container ${container.name}`;
      problems.push(...imageProblems(container.image, where));
      if (main && serving && !container.livenessProbe) problems.push(`${where}: no livenessProbe`);
      if (main && serving && !container.readinessProbe) problems.push(`${where}: no readinessProbe`);
      const { requests = {}, limits = {} } = container.resources ?? {};
      for (const resource of ['cpu', 'memory']) {
        if (requests[resource] === undefined) problems.push(`${where}: no ${resource} request`);
        if (limits[resource] === undefined) problems.push(`${where}: no ${resource} limit`);
      }
      const sc = container.securityContext ?? {};
      if (sc.allowPrivilegeEscalation !== false) problems.push(`${where}: allowPrivilegeEscalation is not false`);
      if (sc.readOnlyRootFilesystem !== true) problems.push(`${where}: readOnlyRootFilesystem is not true`);
      if (!sc.capabilities?.drop?.includes('ALL')) problems.push(`${where}: capabilities do not drop ALL`);
      if (sc.privileged === true) problems.push(`${where}: privileged`);
      if ((sc.runAsNonRoot ?? pod.runAsNonRoot) !== true) problems.push(`${where}: runAsNonRoot is not true`);
      if ((sc.runAsUser ?? pod.runAsUser) === 0) problems.push(`${where}: runs as uid 0`);
      if ((sc.seccompProfile ?? pod.seccompProfile)?.type !== 'RuntimeDefault') {
        problems.push(`${where}: seccompProfile is not RuntimeDefault`);
      }
    }
  }
  return problems;
}

/**
 * A non-root container can read the Secret volumes it mounts. Kubelet writes a Secret's files owned by root
 * (uid 0, gid 0) with the item's `mode` or the volume's `defaultMode` (0644 when unset). A pod `fsGroup`
 * makes them group-owned by that group and group-readable, and every container of the pod is in it.
 * Without one, a non-root process reads them only through the bits for others (or for group 0, if it is in it).
 */
export function secretVolumeProblems(objects: K8sObject[]): string[] {
  const problems: string[] = [];
  for (const { owner: workload, spec } of podTemplates(objects)) {
    const pod = spec.securityContext ?? {};
    for (const container of [...(spec.initContainers ?? []), ...spec.containers]) {
      const sc = container.securityContext ?? {};
      const uid = sc.runAsUser ?? pod.runAsUser;
      const nonRoot = uid !== undefined ? uid !== 0 : (sc.runAsNonRoot ?? pod.runAsNonRoot) === true;
      if (!nonRoot || pod.fsGroup !== undefined) continue;
      const inRootGroup = (sc.runAsGroup ?? pod.runAsGroup) === 0 || (pod.supplementalGroups ?? []).includes(0);
      for (const mount of container.volumeMounts ?? []) {
        const volume = spec.volumes?.find((v) => v.name === mount.name);
        const secrets = [
          ...(volume?.secret ? [{ ...volume.secret, name: volume.secret.secretName }] : []),
          ...(volume?.projected?.sources ?? []).flatMap((source) =>
            source.secret ? [{ ...source.secret, defaultMode: volume!.projected!.defaultMode }] : [],
          ),
        ];
        for (const secret of secrets) {
          const defaultMode = secret.defaultMode ?? 0o644;
          const modes = secret.items?.length ? secret.items.map((item) => item.mode ?? defaultMode) : [defaultMode];
          const readable = (mode: number) => (mode & 0o004) !== 0 || ((mode & 0o040) !== 0 && inRootGroup);
          for (const mode of new Set(modes.filter((m) => !readable(m)))) {
            problems.push(
              `${ref(workload)} container ${container.name}: Secret ${secret.name ?? '?'} (volume ${mount.name}) ` +
                `is mode 0${mode.toString(8)} owned by root, unreadable for uid ${uid ?? 'non-root'}: ` +
                `set the pod's fsGroup or a defaultMode readable by others`,
            );
          }
        }
      }
    }
  }
  return problems;
}

/**
 * Images of vLLM production-stack's router (vllm-router). It finds its model servers by watching the pods its
 * --k8s-label-selector selects (through the Kubernetes API), and sends each request to one that serves the
 * requested model; with --routing-logic=session, always the same one for the same --session-key header.
 */
const ROUTER_IMAGES = [
  /^(docker\.io\/)?lmcache\/lmstack-router[:@]/,
  /^ghcr\.io\/vllm-project\/production-stack\/router[:@]/,
];

/**
 * Images whose processes need a user name although they ship no user for the uid they run as here: vLLM's,
 * and the router's, which imports PyTorch through LMCache (PyTorch calls getpass.getuser() at import, which
 * reads LOGNAME or USER, else the password database, and exits with "getpwuid(): uid not found"). Run as
 * non-root, they need HOME and LOGNAME or USER.
 */
const NEEDS_USER_ENV = [/^(docker\.io\/)?vllm\/vllm-openai[:@]/, ...ROUTER_IMAGES];

export function identityProblems(objects: K8sObject[]): string[] {
  const problems: string[] = [];
  for (const workload of workloads(objects)) {
    const spec = podSpec(workload);
    for (const container of spec.containers) {
      if (!NEEDS_USER_ENV.some((image) => image.test(container.image ?? ''))) continue;
      if ((container.securityContext?.runAsUser ?? spec.securityContext?.runAsUser ?? 0) === 0) continue;
      const env = resolvedEnv(objects, container);
      const where = `${ref(workload)} container ${container.name}`;
      if (!env.get('HOME')) problems.push(`${where}: runs as a uid without a passwd entry and sets no HOME`);
      if (!env.get('USER') && !env.get('LOGNAME')) {
        problems.push(`${where}: runs as a uid without a passwd entry and sets neither USER nor LOGNAME`);
      }
    }
  }
  return problems;
}

/**
 * Claims bind on a default storage class: one asking ReadWriteMany must name its class, since the default
 * class of most clusters (block storage) provides only ReadWriteOnce and the claim would stay Pending.
 */
export function storageProblems(objects: K8sObject[]): string[] {
  const claims = [
    ...objects.filter((o) => o.kind === 'PersistentVolumeClaim').map((o) => ({ where: ref(o), spec: o.spec })),
    ...workloads(objects).flatMap((w) =>
      ((w as IStatefulSet).spec?.volumeClaimTemplates ?? []).map((t) => ({
        where: `${ref(w)} volumeClaimTemplate ${t.metadata?.name ?? '?'}`,
        spec: t.spec,
      })),
    ),
  ] as { where: string; spec?: { accessModes?: string[]; storageClassName?: string } }[];
  return claims
    .filter(({ spec }) => spec?.accessModes?.includes('ReadWriteMany') && !spec.storageClassName)
    .map(({ where }) => `${where}: asks ReadWriteMany with no storageClassName (Pending on most default classes)`);
}

/** Every workload is selected by a Service and covered by a PodDisruptionBudget. */
export function coverageProblems(objects: K8sObject[]): string[] {
  const problems: string[] = [];
  const services = objects.filter((o) => o.kind === 'Service') as (IService & K8sObject)[];
  const budgets = objects.filter((o) => o.kind === 'PodDisruptionBudget');
  for (const workload of workloads(objects)) {
    const labels = podLabels(workload);
    if (!services.some((s) => selects(s.spec?.selector, labels))) {
      problems.push(`${ref(workload)}: no Service selects its pods`);
    }
    const pdbSelector = (pdb: K8sObject) =>
      (pdb.spec as { selector?: { matchLabels?: Record<string, string> } } | undefined)?.selector?.matchLabels;
    if (!budgets.some((pdb) => selects(pdbSelector(pdb), labels))) {
      problems.push(`${ref(workload)}: no PodDisruptionBudget covers its pods`);
    }
    if (workload.kind === 'StatefulSet') {
      const name = (workload as IStatefulSet).spec?.serviceName;
      const headless = name ? find<IService>(objects, 'Service', name) : undefined;
      if (headless?.spec?.clusterIP !== 'None')
        problems.push(`${ref(workload)}: serviceName is not a headless Service`);
    }
  }
  return problems;
}

const scalers = (objects: K8sObject[]) =>
  objects.filter((o) => o.kind === 'HorizontalPodAutoscaler' || o.kind === 'ScaledObject');

/** The workload an HPA or a ScaledObject scales, if it is in the manifests. */
function scaleTarget(objects: K8sObject[], scaler: K8sObject): { key: string; workload?: Workload & K8sObject } {
  const target = (scaler.spec as { scaleTargetRef?: { kind?: string; name?: string } } | undefined)?.scaleTargetRef;
  const kind = target?.kind ?? 'Deployment';
  const workload = target?.name ? find<Workload>(objects, kind, target.name) : undefined;
  return { key: `${kind}/${target?.name ?? '?'}`, workload };
}

/**
 * Autoscalers point at workloads that exist, no workload has two (an HPA and a KEDA ScaledObject would
 * fight over its replica count), and a scaled workload leaves `spec.replicas` to its autoscaler: every
 * `kubectl apply` would otherwise reset it, e.g. vLLM to one replica in the middle of a peak.
 */
export function scalingProblems(objects: K8sObject[]): string[] {
  const problems: string[] = [];
  const seen = new Map<string, string>();
  for (const scaler of scalers(objects)) {
    const { key, workload } = scaleTarget(objects, scaler);
    if (!workload) {
      problems.push(`${ref(scaler)}: scale target ${key} does not exist`);
      continue;
    }
    const other = seen.get(key);
    if (other) problems.push(`${ref(scaler)}: ${key} is already scaled by ${other}`);
    seen.set(key, ref(scaler));
    const replicas = workload.spec?.replicas;
    if (replicas !== undefined) {
      problems.push(`${key}: sets spec.replicas (${replicas}), which ${ref(scaler)} owns: each apply would reset it`);
    }
  }
  return problems;
}

/**
 * When its metrics cannot be read, a ScaledObject's fallback keeps at least the replicas it has: the behavior
 * `currentReplicas` or `currentReplicasIfHigher` (KEDA 2.17). The default, `static`, moves the workload to
 * `fallback.replicas` whatever it runs, and `currentReplicasIfLower` caps it there: both can scale a busy
 * workload down while it is blind.
 */
export function fallbackProblems(objects: K8sObject[]): string[] {
  return objects
    .filter((o) => o.kind === 'ScaledObject')
    .flatMap((scaler) => {
      const fallback = (scaler.spec as IScaledObjectSpec).fallback;
      const behavior = fallback?.behavior ?? 'static';
      if (!fallback || behavior === 'currentReplicas' || behavior === 'currentReplicasIfHigher') return [];
      return [
        `${ref(scaler)}: fallback behavior ${behavior} can scale below the current replicas when metrics fail ` +
          `(use currentReplicas or currentReplicasIfHigher)`,
      ];
    });
}

/** Scale-out at 70–80 % of a replica's cap: early enough that it rarely queues, late enough to use it. */
const SCALE_AT = { min: 0.7, max: 0.8 };

interface Cap {
  value?: number;
  /** Where the cap comes from, for messages. */
  of: string;
  problems: string[];
}

/**
 * What a per-replica metric is capped at: inference's streams in flight by its routing targets'
 * maxConcurrency, vLLM's running requests by its --max-num-seqs.
 */
const CAPPED_METRICS: Record<string, (objects: K8sObject[], workload: Workload & K8sObject) => Cap> = {
  parley_active_streams: (objects, workload) => {
    const container = podSpec(workload).containers.find((c) => c.name === 'inference');
    return container ? routingCap(routingOf(objects, workload, container)) : { of: 'no routing', problems: [] };
  },
  'vllm:num_requests_running': (_objects, workload) => {
    const server = podSpec(workload).containers[0]!;
    const value = flagValue([...(server.command ?? []), ...(server.args ?? [])], '--max-num-seqs');
    return value === undefined
      ? { of: '--max-num-seqs', problems: [`${ref(workload)}: no --max-num-seqs for its scaler to be tied to`] }
      : { value: Number(value), of: '--max-num-seqs', problems: [] };
  },
};

/**
 * The streams one inference replica holds before a bulkhead is full: for each model, the first of its split
 * targets to fill (a target of weight w out of W gets w/W of the model's streams), the smallest over the
 * models. Static targets have no cap; a networked one must state its maxConcurrency here.
 */
function routingCap(routing: RoutingSummary): Cap {
  const problems: string[] = [];
  let cap: { value: number; of: string } | undefined;
  for (const model of routing.models) {
    const total = model.split.reduce((sum, s) => sum + s.weight, 0);
    for (const { target: name, weight } of model.split) {
      const target = routing.targets.find((t) => t.name === name);
      if (!target || target.provider === 'static' || weight <= 0) continue;
      if (target.maxConcurrency === undefined) {
        problems.push(`routing target ${name}: no maxConcurrency for the inference scaler to be tied to`);
        continue;
      }
      const value = Math.floor((target.maxConcurrency * total) / weight);
      if (!cap || value < cap.value) cap = { value, of: `routing target ${name} maxConcurrency` };
    }
  }
  return { value: cap?.value, of: cap?.of ?? 'no capped routing target', problems };
}

/**
 * A ScaledObject trigger on a capped per-replica metric scales out at 70–80 % of the cap (the product brief):
 * a threshold equal to the cap scales out only once every replica is full and queueing.
 */
export function thresholdProblems(objects: K8sObject[]): string[] {
  const problems: string[] = [];
  for (const scaler of objects.filter((o) => o.kind === 'ScaledObject')) {
    const { workload } = scaleTarget(objects, scaler);
    if (!workload) continue;
    for (const trigger of (scaler.spec as IScaledObjectSpec).triggers) {
      const query = trigger.metadata.query ?? '';
      const metric = Object.keys(CAPPED_METRICS).find((name) => new RegExp(`(^|[^\\w:])${name}\\b`).test(query));
      if (!metric || (trigger.metricType ?? 'AverageValue') !== 'AverageValue') continue;
      const cap = CAPPED_METRICS[metric]!(objects, workload);
      problems.push(...cap.problems);
      if (cap.value === undefined) continue;
      const threshold = Number(trigger.metadata.threshold);
      const [low, high] = [Math.ceil(cap.value * SCALE_AT.min), Math.floor(cap.value * SCALE_AT.max)];
      if (!(threshold >= low && threshold <= high)) {
        problems.push(
          `${ref(scaler)}: threshold ${trigger.metadata.threshold} on ${metric} is ` +
            `${Math.round((threshold / cap.value) * 100)} % of ${ref(workload)}'s cap ${cap.value} (${cap.of}): ` +
            `scale out at 70–80 % of it (${low}–${high})`,
        );
      }
    }
  }
  return problems;
}

/**
 * Preemption-safe shutdown: a preStop pause and a grace period that covers it plus the service's own drain.
 * Every container of a Deployment; the first of a StatefulSet (the server: NATS, vLLM), whose others are
 * sidecars such as NATS's metrics exporter.
 */
export function shutdownProblems(objects: K8sObject[]): string[] {
  const problems: string[] = [];
  for (const workload of workloads(objects)) {
    const spec = podSpec(workload);
    const grace = spec.terminationGracePeriodSeconds ?? 30;
    for (const container of workload.kind === 'StatefulSet' ? spec.containers.slice(0, 1) : spec.containers) {
      const where = `${ref(workload)} container ${container.name}`;
      const preStop = container.lifecycle?.preStop;
      if (!preStop) {
        problems.push(`${where}: no preStop pause`);
        continue;
      }
      const pause = preStop.sleep?.seconds ?? 0;
      if (!isParleyService(container.name)) {
        if (grace <= pause) problems.push(`${where}: terminationGracePeriodSeconds ${grace} <= preStop ${pause} s`);
        continue;
      }
      const env = resolvedEnv(objects, container);
      // The gateway lets open streams end with their turn; the others drain within PARLEY_SHUTDOWN_GRACE_MS.
      const drainMs =
        container.name === 'gateway'
          ? Number(env.get('PARLEY_TURN_TIMEOUT_MS') ?? Defaults.TURN_TIMEOUT_MS)
          : Number(env.get('PARLEY_SHUTDOWN_GRACE_MS') ?? 10_000);
      if (grace < pause + drainMs / 1000) {
        problems.push(
          `${where}: terminationGracePeriodSeconds ${grace} < preStop ${pause} s + drain ${drainMs / 1000} s`,
        );
      }
    }
  }
  return problems;
}

/** The literal environment of a container: env values and the ConfigMaps of envFrom (later wins, like kubelet). */
function resolvedEnv(objects: K8sObject[], container: IContainer): Map<string, string | undefined> {
  const env = new Map<string, string | undefined>();
  for (const source of container.envFrom ?? []) {
    const name = source.configMapRef?.name;
    const data = name ? find<IConfigMap>(objects, 'ConfigMap', name)?.data : undefined;
    for (const [key, value] of Object.entries(data ?? {})) env.set(`${source.prefix ?? ''}${key}`, value);
  }
  for (const variable of container.env ?? []) env.set(variable.name, variable.value);
  return env;
}

/** The `$(NAME)` references kubelet expands in a value (`$$(NAME)` is an escaped, literal `$(NAME)`). */
function references(value: string | undefined): string[] {
  return [...(value ?? '').matchAll(/(?<!\$)\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g)].map((m) => m[1]!);
}

/**
 * Every `$(NAME)` a container's env values, command and args use names a variable kubelet can expand: for an
 * env value, one defined before it (in envFrom or earlier in env); for command and args, any of the
 * container's. Kubelet leaves any other reference as literal text, e.g. a password `$(REDIS_PASSWORD)`.
 */
export function referenceExpansionProblems(objects: K8sObject[]): string[] {
  const problems: string[] = [];
  for (const { owner, spec } of podTemplates(objects)) {
    for (const container of [...(spec.initContainers ?? []), ...spec.containers]) {
      const where = `${ref(owner)} container ${container.name}`;
      const defined = new Set<string>();
      for (const source of container.envFrom ?? []) {
        const name = source.configMapRef?.name;
        const data = name ? find<IConfigMap>(objects, 'ConfigMap', name)?.data : undefined;
        for (const key of Object.keys(data ?? {})) defined.add(`${source.prefix ?? ''}${key}`);
      }
      for (const variable of container.env ?? []) {
        for (const name of references(variable.value)) {
          if (!defined.has(name)) {
            problems.push(`${where}: ${variable.name} uses $(${name}), which no variable before it defines`);
          }
        }
        defined.add(variable.name);
      }
      for (const part of [...(container.command ?? []), ...(container.args ?? [])]) {
        for (const name of references(part)) {
          if (!defined.has(name)) problems.push(`${where}: its command or args use $(${name}), which is not defined`);
        }
      }
    }
  }
  return problems;
}

/**
 * Variables of a container that only compose others: taken from a Secret and used as `$(NAME)` in the value
 * of a variable the service reads (REDIS_PASSWORD in PARLEY_REDIS_URL). The process sees them too, but
 * reads nothing from them.
 */
function composingVariables(container: IContainer, reads: Set<string>): Set<string> {
  const used = new Set((container.env ?? []).filter((v) => reads.has(v.name)).flatMap((v) => references(v.value)));
  return new Set((container.env ?? []).filter((v) => v.valueFrom?.secretKeyRef && used.has(v.name)).map((v) => v.name));
}

/**
 * The three services get only variables their configuration reads (from the zod schemas), plus, for
 * inference, the key variables its routing file names, and Secret values that only compose one of those.
 * ConfigMaps used by envFrom must exist; Secrets may not be used by envFrom, because their keys cannot be
 * checked here.
 */
export function envProblems(objects: K8sObject[]): string[] {
  const problems: string[] = [];
  for (const workload of workloads(objects)) {
    for (const container of podSpec(workload).containers) {
      if (!isParleyService(container.name)) continue;
      const where = `${ref(workload)} container ${container.name}`;
      const allowed = serviceEnvNames(container.name);
      if (container.name === 'inference') {
        for (const variable of keyVariables(routingOf(objects, workload, container).targets)) allowed.add(variable);
      }
      for (const variable of composingVariables(container, allowed)) allowed.add(variable);
      for (const source of container.envFrom ?? []) {
        if (source.secretRef) problems.push(`${where}: envFrom secretRef ${source.secretRef.name} cannot be checked`);
        const name = source.configMapRef?.name;
        if (name && !find(objects, 'ConfigMap', name)) problems.push(`${where}: envFrom ConfigMap ${name} is missing`);
      }
      for (const name of resolvedEnv(objects, container).keys()) {
        if (!allowed.has(name)) problems.push(`${where}: ${name} is not a variable ${container.name} reads`);
      }
    }
  }
  return problems;
}

/** The routing file inference is pointed at (PARLEY_MODELS_FILE), read from the ConfigMap mounted there. */
function routingOf(objects: K8sObject[], workload: Workload, container: IContainer): RoutingSummary {
  const path = resolvedEnv(objects, container).get('PARLEY_MODELS_FILE');
  if (!path) return { targets: [], models: [], problems: [] };
  const mount = (container.volumeMounts ?? []).find((m) => path.startsWith(`${m.mountPath}/`));
  const volume = podSpec(workload).volumes?.find((v) => v.name === mount?.name);
  const name = volume?.configMap?.name;
  const key = path.slice((mount?.mountPath.length ?? 0) + 1);
  const text = name ? find<IConfigMap>(objects, 'ConfigMap', name)?.data?.[key] : undefined;
  if (text === undefined)
    return { targets: [], models: [], problems: [`PARLEY_MODELS_FILE ${path}: no ConfigMap key mounted there`] };
  return readRouting(text, `ConfigMap/${name} ${key}`);
}

/** The workload behind an in-cluster Service URL such as `http://vllm:8000/v1`. */
function workloadBehind(objects: K8sObject[], url: string): { service?: IService; workload?: Workload & K8sObject } {
  const { host, port } = hostAndPort(url);
  const service = find<IService>(objects, 'Service', host.split('.')[0]!);
  if (!service || !service.spec?.ports?.some((p) => p.port === port)) return {};
  return { service, workload: workloads(objects).find((w) => selects(service.spec?.selector, podLabels(w))) };
}

/**
 * The gateway's PARLEY_REDIS_URL, when it names a host of the cluster, reaches a Redis of the manifests: a
 * Service with that port in front of a workload that listens on it, which requires a password exactly when
 * the URL has one (AUTH to a Redis without a password fails the connection as surely as none to one with).
 */
export function redisProblems(objects: K8sObject[]): string[] {
  const gateway = find<IDeployment>(objects, 'Deployment', 'gateway');
  const container = gateway && podSpec(gateway).containers.find((c) => c.name === 'gateway');
  const value = container && resolvedEnv(objects, container).get('PARLEY_REDIS_URL');
  if (!value) return [];
  const where = `Deployment/gateway: PARLEY_REDIS_URL`;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return [`${where} is not a URL`];
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') return [`${where} is not a redis:// or rediss:// URL`];
  // Another namespace's or an external Redis (a managed one): not in these manifests.
  if (url.hostname.includes('.')) return [];
  const port = Number(url.port || 6379);
  const service = find<IService>(objects, 'Service', url.hostname);
  const servicePort = service?.spec?.ports?.find((p) => p.port === port);
  if (!service || !servicePort) return [`${where} names ${url.hostname}:${port}, which is no Service port here`];
  const server = workloads(objects).find((w) => selects(service.spec?.selector, podLabels(w)));
  const redis =
    server &&
    podSpec(server).containers.find((c) =>
      c.ports?.some((p) => p.name === servicePort.targetPort || p.containerPort === (servicePort.targetPort ?? port)),
    );
  if (!server || !redis)
    return [`${where}: Service/${service.metadata?.name} selects no container listening on its port ${port}`];
  const requires = flagValue([...(redis.command ?? []), ...(redis.args ?? [])], '--requirepass') !== undefined;
  if (requires && !url.password) return [`${where} has no password, and ${ref(server)} requires one`];
  if (!requires && url.password) return [`${where} has a password, and ${ref(server)} requires none`];
  return [];
}

/** The routing file of the inference Deployment, or undefined when there is none. */
function inferenceRouting(objects: K8sObject[]): RoutingSummary | undefined {
  const inference = workloads(objects).find((w) => w.metadata.name === 'inference');
  const container = inference && podSpec(inference).containers.find((c) => c.name === 'inference');
  return inference && container ? routingOf(objects, inference, container) : undefined;
}

/** An OpenAI-compatible routing target whose baseUrl is a Service of this namespace. */
interface InClusterTarget {
  name: string;
  baseUrl: string;
  model: string;
  /** The header inference sends the conversation id in. */
  sessionHeader: string;
  /** The workload behind the URL's Service, if there is one. */
  workload?: Workload & K8sObject;
}

function inClusterTargets(objects: K8sObject[], routing: RoutingSummary): InClusterTarget[] {
  return routing.targets.flatMap((target) => {
    if (target.provider !== 'openai-compatible') return [];
    // Short names are Services of this namespace; anything with a dot is outside the manifests.
    if (hostAndPort(target.baseUrl).host.includes('.')) return [];
    const { name, baseUrl, model } = target;
    const sessionHeader = target.sessionHeader ?? DEFAULT_SESSION_HEADER;
    return [{ name, baseUrl, model, sessionHeader, workload: workloadBehind(objects, baseUrl).workload }];
  });
}

/** A router's settings, from its container's arguments (unset ones take the router's defaults). */
interface RouterConfig {
  workload: Workload & K8sObject;
  /** --k8s-label-selector as label pairs; undefined when it is not a list of `key=value`. */
  selector?: Record<string, string>;
  selectorText: string;
  /** --k8s-port: where it sends requests on each pod it discovers. */
  port: number;
  routingLogic?: string;
  sessionKey?: string;
}

/** The router a workload runs (a container of a ROUTER_IMAGES image), if it runs one. */
function routerOf(workload: Workload & K8sObject): RouterConfig | undefined {
  const container = podSpec(workload).containers.find((c) => ROUTER_IMAGES.some((image) => image.test(c.image ?? '')));
  if (!container) return undefined;
  const args = [...(container.command ?? []), ...(container.args ?? [])];
  const selectorText = flagValue(args, '--k8s-label-selector') ?? '';
  return {
    workload,
    selector: equalitySelector(selectorText),
    selectorText,
    port: Number(flagValue(args, '--k8s-port') ?? 8000),
    routingLogic: flagValue(args, '--routing-logic'),
    sessionKey: flagValue(args, '--session-key'),
  };
}

/** A label selector of `key=value` (or `key==value`) requirements as pairs; undefined for any other form. */
export function equalitySelector(text: string): Record<string, string> | undefined {
  const pairs: Record<string, string> = {};
  for (const requirement of text.split(',').map((r) => r.trim())) {
    if (requirement === '') continue;
    const match = /^([A-Za-z0-9./_-]+)\s*==?\s*([A-Za-z0-9._-]*)$/.exec(requirement);
    if (!match) return undefined;
    pairs[match[1]!] = match[2]!;
  }
  return pairs;
}

/**
 * The model servers a router discovers: the workloads whose pods its --k8s-label-selector selects. Each must
 * listen on --k8s-port, where the router sends them requests.
 */
function routerBackends(
  objects: K8sObject[],
  router: RouterConfig,
): { servers: (Workload & K8sObject)[]; problems: string[] } {
  const where = ref(router.workload);
  if (!router.selector) {
    return {
      servers: [],
      problems: [`${where}: --k8s-label-selector ${router.selectorText} is not a list of key=value this check reads`],
    };
  }
  if (Object.keys(router.selector).length === 0) {
    return { servers: [], problems: [`${where}: no --k8s-label-selector: it would send requests to every pod`] };
  }
  const servers = workloads(objects).filter((w) => w !== router.workload && selects(router.selector, podLabels(w)));
  if (servers.length === 0) {
    return { servers, problems: [`${where}: discovers no model server (no pods labelled ${router.selectorText})`] };
  }
  const problems = servers
    .filter((w) => !podSpec(w).containers.some((c) => c.ports?.some((p) => p.containerPort === router.port)))
    .map((w) => `${where}: discovers ${ref(w)}, which has no container port ${router.port} (--k8s-port)`);
  return { servers, problems };
}

/**
 * The routing file agrees with the model servers: each in-cluster target's Service exists, and the model it
 * asks for is the name the server serves (vLLM's --served-model-name, llm-sim's LLM_SIM_MODEL). Through a
 * router, that holds for every model server the router discovers: it sends a request only to one that serves
 * the requested model. The responder's context window fits each server's --max-model-len.
 */
export function routingProblems(objects: K8sObject[]): string[] {
  const routing = inferenceRouting(objects);
  if (!routing) return ['no inference Deployment'];
  const problems: string[] = [...routing.problems];
  const responder = workloads(objects).find((w) => w.metadata.name === 'responder');
  const responderContainer = responder && podSpec(responder).containers.find((c) => c.name === 'responder');
  const contextWindow = Number(
    (responderContainer && resolvedEnv(objects, responderContainer).get('PARLEY_CONTEXT_WINDOW_TOKENS')) ??
      Defaults.CONTEXT_WINDOW_TOKENS,
  );
  const routers = workloads(objects).flatMap((w) => {
    const router = routerOf(w);
    return router ? [{ router, servers: routerBackends(objects, router).servers }] : [];
  });
  for (const { name, baseUrl, model, workload } of inClusterTargets(objects, routing)) {
    if (!workload) {
      problems.push(`target ${name}: no Service and workload behind ${baseUrl}`);
      continue;
    }
    const router = routerOf(workload);
    const bypassed = router ? undefined : routers.find((r) => r.servers.includes(workload));
    if (bypassed) {
      problems.push(
        `target ${name}: calls ${ref(workload)} directly, bypassing ${ref(bypassed.router.workload)}, which ` +
          `discovers it: conversations would not stay on one replica (and the NetworkPolicies admit only the router)`,
      );
    }
    const backends = router ? routerBackends(objects, router) : { servers: [workload], problems: [] };
    problems.push(...backends.problems);
    const via = router ? ` (behind ${ref(workload)})` : '';
    for (const server of backends.servers) {
      const container = podSpec(server).containers[0]!;
      const args = [...(container.command ?? []), ...(container.args ?? [])];
      const served = flagValue(args, '--served-model-name') ?? resolvedEnv(objects, container).get('LLM_SIM_MODEL');
      if (served !== model) {
        problems.push(`target ${name}: asks for model ${model}, ${ref(server)}${via} serves ${served}`);
      }
      const maxModelLen = flagValue(args, '--max-model-len');
      if (maxModelLen !== undefined && contextWindow > Number(maxModelLen)) {
        problems.push(
          `PARLEY_CONTEXT_WINDOW_TOKENS ${contextWindow} exceeds ${ref(server)} --max-model-len ${maxModelLen}`,
        );
      }
    }
  }
  return [...new Set(problems)];
}

/** The router's routing logics that hash the session key (kvaware does when its KV-cache lookup misses). */
const SESSION_LOGICS = new Set(['session', 'kvaware']);

/**
 * A target that sends its conversation id to a router (its sessionHeader, or the default header) is routed by
 * it: the router hashes exactly that header (--session-key; header names are case-insensitive). Otherwise
 * every turn may land on another replica, which recomputes the history its prefix cache does not hold.
 */
export function sessionProblems(objects: K8sObject[]): string[] {
  const routing = inferenceRouting(objects);
  if (!routing) return [];
  const problems: string[] = [];
  for (const { name, sessionHeader, workload } of inClusterTargets(objects, routing)) {
    const router = workload && routerOf(workload);
    if (!router) continue;
    const where = `target ${name}: sends the conversation id in ${sessionHeader} to ${ref(router.workload)}`;
    if (!SESSION_LOGICS.has(router.routingLogic ?? '')) {
      problems.push(`${where}, whose --routing-logic ${router.routingLogic ?? '(unset)'} ignores it: use session`);
    } else if (router.sessionKey?.toLowerCase() !== sessionHeader.toLowerCase()) {
      problems.push(
        `${where}, whose --session-key is ${router.sessionKey ?? '(unset)'}: a conversation would not stay on ` +
          `the replica that caches it`,
      );
    }
  }
  return problems;
}

/** The verbs a Role may grant here: read-only. */
const READ_VERBS = new Set(['get', 'list', 'watch']);

/**
 * Least privilege for the Kubernetes API. Roles grant only get, list and watch, name what they grant (no
 * wildcards) and never Secrets; bindings bind Roles and ServiceAccounts of the manifests. A pod mounts a
 * service account token only when its account is bound to something, and a router's account may get, list
 * and watch pods (without that it discovers no model server and every request fails).
 */
export function rbacProblems(objects: K8sObject[]): string[] {
  const problems: string[] = [];
  const roles = objects.filter((o) => o.kind === 'Role') as (IRole & K8sObject)[];
  for (const role of roles) {
    (role.rules ?? []).forEach((rule, i) => {
      const where = `${ref(role)} rules[${i}]`;
      if ([rule.apiGroups, rule.resources, rule.verbs].some((list) => list?.includes('*'))) {
        problems.push(`${where}: a wildcard grants more than it names`);
      }
      const writes = rule.verbs.filter((verb) => verb !== '*' && !READ_VERBS.has(verb));
      if (writes.length > 0) problems.push(`${where}: grants ${writes.join(', ')}; only get, list and watch`);
      if (rule.resources?.includes('secrets')) problems.push(`${where}: grants access to Secrets`);
    });
  }
  const bindings = objects.filter((o) => o.kind === 'RoleBinding') as (IRoleBinding & K8sObject)[];
  for (const binding of bindings) {
    const { kind, name } = binding.roleRef;
    if (kind !== 'Role' || !find(objects, 'Role', name)) {
      problems.push(`${ref(binding)}: roleRef ${kind}/${name} is not a Role of the manifests`);
    }
    for (const subject of binding.subjects ?? []) {
      if (subject.kind !== 'ServiceAccount' || !find(objects, 'ServiceAccount', subject.name)) {
        problems.push(
          `${ref(binding)}: subject ${subject.kind}/${subject.name} is not a ServiceAccount of the manifests`,
        );
      }
    }
  }
  const grants = (account: string) =>
    bindings
      .filter((b) => b.subjects?.some((s) => s.kind === 'ServiceAccount' && s.name === account))
      .flatMap((b) => find<IRole>(objects, 'Role', b.roleRef.name)?.rules ?? []);
  for (const workload of workloads(objects)) {
    const spec = podSpec(workload);
    const account = spec.serviceAccountName ?? 'default';
    const serviceAccount = find<IServiceAccount>(objects, 'ServiceAccount', account);
    if (account !== 'default' && !serviceAccount) {
      problems.push(`${ref(workload)}: ServiceAccount ${account} is not in the manifests`);
    }
    const mounted = spec.automountServiceAccountToken ?? serviceAccount?.automountServiceAccountToken ?? true;
    const rules = grants(account);
    if (routerOf(workload)) {
      const may = (verb: string) =>
        rules.some((r) => r.apiGroups?.includes('') && r.resources?.includes('pods') && r.verbs.includes(verb));
      if (!mounted) problems.push(`${ref(workload)}: a router that watches pods, but its pods mount no API token`);
      if (![...READ_VERBS].every(may)) {
        problems.push(
          `${ref(workload)}: a router, but ServiceAccount ${account} may not get, list and watch pods: ` +
            `it would discover no model server`,
        );
      }
    } else if (mounted && rules.length === 0) {
      problems.push(
        `${ref(workload)}: mounts a service account token it has no use for (automountServiceAccountToken: false)`,
      );
    }
  }
  return problems;
}

/** Ingress and HTTPRoute backends and PodMonitor ports point at things that exist. */
export function referenceProblems(objects: K8sObject[]): string[] {
  const problems: string[] = [];
  for (const ingress of objects.filter((o) => o.kind === 'Ingress')) {
    const rules = (
      ingress.spec as {
        rules?: {
          http?: { paths?: { backend: { service?: { name: string; port?: { name?: string; number?: number } } } }[] };
        }[];
      }
    ).rules;
    for (const path of rules?.flatMap((r) => r.http?.paths ?? []) ?? []) {
      const backend = path.backend.service;
      const service = backend && find<IService>(objects, 'Service', backend.name);
      const port = service?.spec?.ports?.find(
        (p) => p.name === backend?.port?.name || p.port === backend?.port?.number,
      );
      if (!port) problems.push(`${ref(ingress)}: backend ${backend?.name ?? '?'} has no such Service port`);
    }
  }
  for (const route of httpRoutes(objects)) {
    (route.spec?.rules ?? []).forEach((rule, i) => {
      for (const backend of rule.backendRefs ?? []) {
        const where = `${ref(route)} rules[${i}]: backend ${backend.kind ?? 'Service'}/${backend.name}`;
        if ((backend.kind ?? 'Service') !== 'Service' || (backend.group ?? '') !== '') {
          problems.push(`${where} is not a Service`);
        } else if (backend.namespace !== undefined) {
          problems.push(`${where} is in another namespace (it would need a ReferenceGrant)`);
        } else {
          const service = find<IService>(objects, 'Service', backend.name);
          if (!service?.spec?.ports?.some((p) => p.port === backend.port)) {
            problems.push(`${where} has no such Service port ${backend.port ?? '(none)'}`);
          }
        }
      }
    });
  }
  for (const monitor of objects.filter((o) => o.kind === 'PodMonitor')) {
    const spec = monitor.spec as {
      selector?: { matchLabels?: Record<string, string> };
      podMetricsEndpoints?: { port?: string }[];
    };
    const matched = workloads(objects).filter((w) => selects(spec.selector?.matchLabels, podLabels(w)));
    if (matched.length === 0) problems.push(`${ref(monitor)}: selects no pods`);
    for (const endpoint of spec.podMetricsEndpoints ?? []) {
      const hasPort = matched.some((w) =>
        podSpec(w).containers.some((c) => c.ports?.some((p) => p.name === endpoint.port)),
      );
      if (!hasPort) problems.push(`${ref(monitor)}: no selected container has a port named ${endpoint.port}`);
    }
  }
  return problems;
}

const httpRoutes = (objects: K8sObject[]) =>
  objects.filter((o) => o.kind === 'HTTPRoute') as (IHTTPRoute & K8sObject)[];

const DURATION_UNITS_MS: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1_000, ms: 1 };

/** A Gateway API duration (GEP-2257: `300s`, `5m`, `1h30m`, `500ms`) in milliseconds; undefined if it is not one. */
export function durationMs(text: string): number | undefined {
  if (!/^([0-9]{1,5}(h|m|s|ms)){1,4}$/.test(text)) return undefined;
  let total = 0;
  for (const [, count, unit] of text.matchAll(/([0-9]{1,5})(ms|h|m|s)/g))
    total += Number(count) * DURATION_UNITS_MS[unit!]!;
  return total;
}

/**
 * The Gateway API edge keeps replies streaming to their end. A rule that sends requests to the gateway bounds
 * them by `timeouts.request` (the whole response) and `timeouts.backendRequest` (one call to the backend): for
 * a reply streamed over SSE, the whole reply. Each must be longer than the turn timeout
 * (PARLEY_TURN_TIMEOUT_MS), or 0s (none); unset, the implementation's default applies (Envoy's route timeout
 * is 15 s). And the gateway's unauthenticated /metrics is not reachable through the route.
 */
export function edgeProblems(objects: K8sObject[]): string[] {
  const gateway = workloads(objects).find((w) => w.metadata.name === 'gateway');
  const container = gateway && podSpec(gateway).containers.find((c) => c.name === 'gateway');
  if (!gateway || !container) return [];
  const turnMs = Number(resolvedEnv(objects, container).get('PARLEY_TURN_TIMEOUT_MS') ?? Defaults.TURN_TIMEOUT_MS);
  const services = new Set(
    (objects.filter((o) => o.kind === 'Service') as (IService & K8sObject)[])
      .filter((s) => selects(s.spec?.selector, podLabels(gateway)))
      .map((s) => s.metadata.name),
  );
  const problems: string[] = [];
  for (const route of httpRoutes(objects)) {
    const rules = route.spec?.rules ?? [];
    let routesRoot = false;
    rules.forEach((rule, i) => {
      if (!rule.backendRefs?.some((b) => (b.kind ?? 'Service') === 'Service' && services.has(b.name))) return;
      const matches = rule.matches ?? [{ path: { type: 'PathPrefix', value: '/' } }];
      if (matches.some((m) => (m.path?.type ?? 'PathPrefix') === 'PathPrefix' && (m.path?.value ?? '/') === '/')) {
        routesRoot = true;
      }
      const where = `${ref(route)} rules[${i}]`;
      const limits: Record<string, number> = {};
      for (const field of ['request', 'backendRequest'] as const) {
        const value = rule.timeouts?.[field];
        if (value === undefined) {
          problems.push(
            `${where}: no timeouts.${field}: the implementation's default (Envoy's is 15 s) may cut a reply ` +
              `streaming for up to the turn timeout, ${turnMs / 1000} s (PARLEY_TURN_TIMEOUT_MS)`,
          );
          continue;
        }
        const ms = durationMs(value);
        if (ms === undefined) {
          problems.push(`${where}: timeouts.${field} ${value} is not a Gateway API duration`);
        } else if (ms !== 0 && ms <= turnMs) {
          problems.push(
            `${where}: timeouts.${field} ${value} is not longer than the turn timeout, ${turnMs / 1000} s ` +
              `(PARLEY_TURN_TIMEOUT_MS): it would cut a reply still streaming (longer, or 0s for none)`,
          );
        } else {
          limits[field] = ms === 0 ? Infinity : ms;
        }
      }
      if (
        limits.request !== undefined &&
        limits.backendRequest !== undefined &&
        limits.backendRequest > limits.request
      ) {
        problems.push(`${where}: timeouts.backendRequest is longer than timeouts.request, which includes it`);
      }
    });
    const closesMetrics = rules.some(
      (rule) =>
        !rule.backendRefs?.length &&
        !rule.filters?.length &&
        rule.matches?.some((m) => m.path?.type === 'PathPrefix' && m.path.value === '/metrics'),
    );
    if (routesRoot && !closesMetrics) {
      problems.push(
        `${ref(route)}: sends /metrics to the gateway, unauthenticated: add a rule for PathPrefix /metrics ` +
          `without backendRefs`,
      );
    }
  }
  return problems;
}

/** Secrets are referenced by name only: none may be rendered with a value. Returns the names referenced. */
export function secretReferences(objects: K8sObject[]): { names: Set<string>; problems: string[] } {
  const names = new Set<string>();
  const problems = objects
    .filter((o) => o.kind === 'Secret' && (o.data !== undefined || o.stringData !== undefined))
    .map((o) => `${ref(o)}: a Secret with a value is in the manifests`);
  for (const { spec } of podTemplates(objects)) {
    for (const volume of spec.volumes ?? []) if (volume.secret?.secretName) names.add(volume.secret.secretName);
    for (const pull of spec.imagePullSecrets ?? []) if (pull.name) names.add(pull.name);
    for (const container of [...spec.containers, ...(spec.initContainers ?? [])]) {
      for (const variable of container.env ?? []) {
        const name = variable.valueFrom?.secretKeyRef?.name;
        if (name) names.add(name);
      }
    }
  }
  for (const ingress of objects.filter((o) => o.kind === 'Ingress')) {
    for (const tls of (ingress.spec as { tls?: { secretName?: string }[] }).tls ?? []) {
      if (tls.secretName) names.add(tls.secretName);
    }
  }
  return { names, problems };
}

/** The NATS exporter's flag that makes it serve the metrics of a prefix (prometheus-nats-exporter). */
const EXPORTER_FLAGS: [RegExp, string][] = [
  [/^jetstream_/, '-jsz'],
  [/^gnatsd_healthz_/, '-healthz'],
  [/^gnatsd_varz_/, '-varz'],
  [/^gnatsd_connz_/, '-connz'],
  [/^gnatsd_routez_/, '-routez'],
];

/**
 * The JetStream alerts agree with the NATS StatefulSet: its exporter serves every NATS metric they read, a
 * count of healthy servers they compare with is its replicas, and, where they compare the servers' stream
 * counts, every server holds every stream (PARLEY_JETSTREAM_REPLICAS equal to the servers).
 */
export function natsAlertProblems(objects: K8sObject[]): string[] {
  const nats = find<IStatefulSet>(objects, 'StatefulSet', 'nats');
  const rules = objects
    .filter((o) => o.kind === 'PrometheusRule')
    .flatMap((o) => (o.spec as IPrometheusRuleSpec).groups?.flatMap((g) => g.rules ?? []) ?? [])
    .filter((rule) => rule.alert && typeof rule.expr === 'string' && /\b(jetstream|gnatsd)_/.test(rule.expr));
  if (rules.length === 0) return [];
  if (!nats) return ['alerts read NATS metrics, but there is no StatefulSet/nats'];
  const servers = nats.spec?.replicas ?? 1;
  const exporter = podSpec(nats).containers.find((c) => c.name === 'exporter');
  const flags = (exporter?.args ?? []).map((arg) => arg.split('=')[0]!);
  const problems: string[] = [];
  for (const rule of rules) {
    const expr = rule.expr as string;
    const where = `alert ${rule.alert}`;
    for (const metric of new Set(expr.match(/\b(jetstream|gnatsd)_[a-z_]+/g))) {
      const flag = EXPORTER_FLAGS.find(([prefix]) => prefix.test(metric))?.[1];
      if (!flag) problems.push(`${where}: ${metric} is from no NATS exporter endpoint this check knows`);
      else if (!flags.includes(flag))
        problems.push(`${where}: ${metric} needs the NATS exporter's ${flag}, not in its args`);
    }
    const healthy = /count\(\s*gnatsd_healthz_status\b[^)]*==\s*0\s*\)\s*<\s*(\d+)/.exec(expr);
    if (healthy && Number(healthy[1]) !== servers) {
      problems.push(`${where}: compares with ${healthy[1]} healthy servers, StatefulSet/nats has ${servers}`);
    }
    if (/\bjetstream_server_total_streams\b/.test(expr)) {
      const gateway = workloads(objects).find((w) => w.metadata.name === 'gateway');
      const container = gateway && podSpec(gateway).containers[0];
      const replicas = Number((container && resolvedEnv(objects, container).get('PARLEY_JETSTREAM_REPLICAS')) ?? 1);
      if (replicas !== servers) {
        problems.push(
          `${where}: assumes every server holds every stream, but PARLEY_JETSTREAM_REPLICAS is ${replicas} ` +
            `on ${servers} NATS servers`,
        );
      }
    }
  }
  return problems;
}

/** Where a CronJob's command runs a file of an app's build: `node dist/apps/<app>/<file>.js`. */
const APP_FILE = /^dist\/apps\/([a-z-]+)\/[\w.-]+\.js$/;

/**
 * CronJobs (the NATS backup): never two runs at once (`concurrencyPolicy: Forbid`); one that runs a file of an
 * app's build runs the very image that app's Deployment runs (a backup made by another release's code could
 * be one the running release cannot restore) and gets only the variables the backup command reads.
 */
export function cronJobProblems(objects: K8sObject[]): string[] {
  const problems: string[] = [];
  const allowed = new Set(Object.keys(backupEnvSchema.shape));
  for (const job of cronJobs(objects)) {
    if (job.spec?.concurrencyPolicy !== 'Forbid') {
      problems.push(`${ref(job)}: concurrencyPolicy is ${job.spec?.concurrencyPolicy ?? 'Allow'}, not Forbid`);
    }
    for (const container of job.spec?.jobTemplate.spec?.template.spec?.containers ?? []) {
      const where = `${ref(job)} container ${container.name}`;
      const app = (container.command ?? []).map((part) => APP_FILE.exec(part)?.[1]).find(Boolean);
      if (!app) continue;
      const deployment = find<IDeployment>(objects, 'Deployment', app);
      const image = deployment && podSpec(deployment).containers.find((c) => c.name === app)?.image;
      if (!image) problems.push(`${where}: runs a file of ${app}'s build, but there is no Deployment ${app}`);
      else if (container.image !== image) {
        problems.push(`${where}: runs ${app}'s code from image ${container.image}, Deployment/${app} runs ${image}`);
      }
      for (const name of resolvedEnv(objects, container).keys()) {
        if (!allowed.has(name)) problems.push(`${where}: ${name} is not a variable the backup command reads`);
      }
    }
  }
  return problems;
}

/** Every rule above, over one rendered overlay. */
export function manifestProblems(objects: K8sObject[]): string[] {
  return [
    ...containerProblems(objects),
    ...secretVolumeProblems(objects),
    ...identityProblems(objects),
    ...storageProblems(objects),
    ...coverageProblems(objects),
    ...scalingProblems(objects),
    ...fallbackProblems(objects),
    ...thresholdProblems(objects),
    ...shutdownProblems(objects),
    ...envProblems(objects),
    ...referenceExpansionProblems(objects),
    ...redisProblems(objects),
    ...referenceProblems(objects),
    ...edgeProblems(objects),
    ...natsAlertProblems(objects),
    ...cronJobProblems(objects),
    ...routingProblems(objects),
    ...sessionProblems(objects),
    ...rbacProblems(objects),
    ...secretReferences(objects).problems,
  ];
}
