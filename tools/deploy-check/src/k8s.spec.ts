import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { IPodSpec } from 'kubernetes-models/v1/PodSpec';
import type { IGateway } from '@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1/Gateway';
import type { IHTTPRoute } from '@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1/HTTPRoute';
import { manifestProblems, secretReferences } from './k8s-policy.js';
import { parseManifests, renderKustomize, unknownFieldProblems, validateObject, type K8sObject } from './manifests.js';
import { repoPath } from './paths.js';
import { flagValue } from './routing.js';

const TARGETS = ['k8s/base', 'k8s/overlays/dev', 'k8s/overlays/prod'];
const rendered = new Map<string, K8sObject[]>(TARGETS.map((dir) => [dir, renderKustomize(repoPath(dir))]));

describe.each(TARGETS)('k8s - %s', (dir) => {
  const objects = rendered.get(dir)!;

  it('renders objects of kinds with a schema, each valid against it', () => {
    expect(objects.length).toBeGreaterThan(10);
    const errors = objects.flatMap((object) => {
      try {
        validateObject(object);
        return [];
      } catch (error) {
        return [(error as Error).message];
      }
    });
    expect(errors).toEqual([]);
  });

  it('has no field its schema does not declare', () => {
    expect(unknownFieldProblems(objects)).toEqual([]);
  });

  it('follows every policy rule', () => {
    expect(manifestProblems(objects)).toEqual([]);
  });

  it('has unique kind/name pairs', () => {
    const keys = objects.map((o) => `${o.kind}/${o.metadata.name}`);
    expect(keys.length).toBe(new Set(keys).size);
  });
});

describe('k8s - alerts', () => {
  const groups = (
    rendered.get('k8s/base')!.find((o) => o.kind === 'PrometheusRule') as K8sObject & {
      spec: { groups: { name: string; rules: { alert: string }[] }[] };
    }
  ).spec.groups;

  it("the PrometheusRule carries exactly the alerts of the compose stack, and the JetStream cluster's", () => {
    const compose = parse(readFileSync(repoPath('docker/prometheus/alerts.yml'), 'utf8')) as { groups: unknown };
    expect(groups.filter((g) => g.name !== 'parley-jetstream')).toEqual(compose.groups);
    expect(groups.find((g) => g.name === 'parley-jetstream')?.rules.map((r) => r.alert)).toEqual([
      'ParleyJetStreamStorageHigh',
      'ParleyJetStreamStorageFull',
      'ParleyJetStreamServerDown',
      'ParleyJetStreamQuorumLost',
      'ParleyJetStreamStreamsDiffer',
      'ParleyJetStreamConsumersHigh',
    ]);
  });
});

describe('k8s - dashboard', () => {
  it("ships the compose stack's Grafana dashboard, vLLM's panels included, for Grafana's dashboard sidecar", () => {
    const configMap = rendered
      .get('k8s/base')!
      .find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'parley-dashboard') as
      (K8sObject & { data: Record<string, string> }) | undefined;
    expect(configMap?.metadata.labels).toMatchObject({ grafana_dashboard: '1' });
    const dashboard = readFileSync(repoPath('docker/grafana/dashboards/parley.json'), 'utf8');
    expect(configMap?.data['parley.json']).toBe(dashboard);
    expect(dashboard).toContain('vllm:kv_cache_usage_perc');
  });
});

describe('k8s - overlays', () => {
  it('dev runs llm-sim and prod runs vLLM on a GPU', () => {
    const names = (dir: string) =>
      rendered
        .get(dir)!
        .filter((o) => o.kind === 'Deployment')
        .map((o) => o.metadata.name);
    expect(names('k8s/overlays/dev')).toContain('llm-sim');
    expect(names('k8s/overlays/dev')).not.toContain('vllm');
    const vllm = rendered.get('k8s/overlays/prod')!.find((o) => o.kind === 'StatefulSet' && o.metadata.name === 'vllm');
    expect(JSON.stringify(vllm)).toContain('"nvidia.com/gpu":"1"');
  });

  it('prod pulls every image from its private registry with the pull Secret parley-registry', () => {
    type Pod = { spec: IPodSpec };
    const pods = rendered
      .get('k8s/overlays/prod')!
      .flatMap((o) => {
        if (o.kind === 'Deployment' || o.kind === 'StatefulSet')
          return [(o as K8sObject & { spec: { template: Pod } }).spec.template];
        if (o.kind === 'CronJob')
          return [
            (o as K8sObject & { spec: { jobTemplate: { spec: { template: Pod } } } }).spec.jobTemplate.spec.template,
          ];
        return [];
      })
      .map((template) => template.spec);
    const privately = pods.filter((pod) => pod.containers.some((c) => c.image?.startsWith('registry.example.com/')));
    // gateway, responder, inference, and the NATS backup (the responder's image).
    expect(privately).toHaveLength(4);
    for (const pod of privately) expect(pod.imagePullSecrets).toEqual([{ name: 'parley-registry' }]);
  });

  it('vLLM batches no more full-context sequences than the KV cache docs/deploy.md works out holds', () => {
    const vllm = rendered.get('k8s/overlays/prod')!.find((o) => o.kind === 'StatefulSet' && o.metadata.name === 'vllm');
    const args = (vllm as K8sObject & { spec: { template: { spec: IPodSpec } } }).spec.template.spec.containers[0]!
      .args!;
    const flag = (name: string) => Number(flagValue(args, name));
    // docs/deploy.md, "Sizing": Llama 3.1 8B in bf16 on an 80 GB GPU; ~1 GB for activations and CUDA graphs.
    const kvBytesPerToken = 32 * 8 * 128 * 2 * 2;
    const kvCacheBytes = (80 * flag('--gpu-memory-utilization') - 16 - 1) * 1e9;
    expect(flag('--max-model-len')).toBe(8192);
    expect(flag('--max-num-seqs') * flag('--max-model-len') * kvBytesPerToken).toBeLessThanOrEqual(kvCacheBytes);
    expect(readFileSync(repoPath('docs/deploy.md'), 'utf8')).toContain(
      `So \`--max-num-seqs=${flag('--max-num-seqs')}\``,
    );
  });

  it('every Secret the manifests reference is explained in docs/deploy.md', () => {
    const docs = readFileSync(repoPath('docs/deploy.md'), 'utf8');
    const names = new Set(TARGETS.flatMap((dir) => [...secretReferences(rendered.get(dir)!).names]));
    expect([...names].filter((name) => !docs.includes(name))).toEqual([]);
    expect(names.size).toBeGreaterThan(0);
  });
});

describe('k8s - redis', () => {
  type Pod = { spec: IPodSpec; metadata: { labels: Record<string, string> } };
  const base = rendered.get('k8s/base')!;
  const redis = base.find((o) => o.kind === 'StatefulSet' && o.metadata.name === 'redis') as
    | (K8sObject & {
        spec: { replicas: number; template: Pod; volumeClaimTemplates: { metadata: { name: string } }[] };
      })
    | undefined;

  it('runs one pinned Redis 7 with its append-only file on a claim, the image and persistence compose runs', () => {
    expect(redis?.spec.replicas).toBe(1);
    const server = redis!.spec.template.spec.containers[0]!;
    expect(server.image).toMatch(/^redis:7\.\d+\.\d+(-alpine)?$/);
    expect(flagValue(server.args!, '--appendonly')).toBe('yes');
    const data = server.volumeMounts?.find((m) => m.mountPath === flagValue(server.args!, '--dir'));
    expect(redis!.spec.volumeClaimTemplates.map((t) => t.metadata.name)).toEqual([data?.name]);
    const compose = parse(readFileSync(repoPath('docker/docker-compose.yml'), 'utf8')) as {
      services: Record<string, { image: string; command: string[] }>;
    };
    expect(compose.services.redis!.image).toBe(server.image);
    expect(flagValue(compose.services.redis!.command, '--appendonly')).toBe('yes');
    for (const dir of ['k8s/overlays/dev', 'k8s/overlays/prod']) {
      const overlay = rendered
        .get(dir)!
        .find((o) => o.kind === 'StatefulSet' && o.metadata.name === 'redis') as typeof redis;
      expect(overlay!.spec.template.spec.containers[0]!.image).toBe(server.image);
    }
  });

  it('admits only the gateway, which has a password from the Secret parley-redis', () => {
    const policies = base.filter((o) => o.kind === 'NetworkPolicy') as (K8sObject & {
      spec: {
        podSelector: { matchLabels?: Record<string, string> };
        ingress?: { from?: { podSelector?: { matchLabels?: Record<string, string> } }[] }[];
      };
    })[];
    const labels = redis!.spec.template.metadata.labels;
    const admitting = policies.filter(
      (p) => p.spec.ingress && Object.entries(p.spec.podSelector.matchLabels ?? {}).every(([k, v]) => labels[k] === v),
    );
    // The policies for every pod (Prometheus's scrape of other ports) and Redis's own.
    const redisPolicy = admitting.find((p) => p.metadata.name === 'redis');
    const from = redisPolicy!.spec
      .ingress!.flatMap((rule) => rule.from ?? [])
      .map((peer) => peer.podSelector?.matchLabels);
    const admitted = base.filter(
      (o) =>
        (o.kind === 'Deployment' || o.kind === 'StatefulSet') &&
        from.some((selector) =>
          Object.entries(selector ?? {}).every(
            ([k, v]) => (o as K8sObject & { spec: { template: Pod } }).spec.template.metadata.labels[k] === v,
          ),
        ),
    );
    expect(admitted.map((o) => o.metadata.name)).toEqual(['gateway']);
    const gateway = (
      base.find((o) => o.kind === 'Deployment' && o.metadata.name === 'gateway') as K8sObject & {
        spec: { template: Pod };
      }
    ).spec.template.spec.containers[0]!;
    const password = gateway.env!.find((v) => v.name === 'REDIS_PASSWORD');
    expect(password?.valueFrom?.secretKeyRef).toMatchObject({ name: 'parley-redis', key: 'password' });
    expect(password?.valueFrom?.secretKeyRef?.optional).toBeUndefined();
    expect(gateway.env!.find((v) => v.name === 'PARLEY_REDIS_URL')?.value).toBe(
      'redis://:$(REDIS_PASSWORD)@redis:6379',
    );
  });
});

describe('k8s - edge', () => {
  it("docs/deploy.md's Gateway is valid and is the parent that prod's HTTPRoute attaches to", () => {
    const docs = readFileSync(repoPath('docs/deploy.md'), 'utf8');
    const blocks = [...docs.matchAll(/```yaml\n([\s\S]*?)```/g)]
      .map((m) => m[1]!)
      .filter((b) => /^kind: Gateway$/m.test(b));
    expect(blocks).toHaveLength(1);
    const objects = parseManifests(blocks[0]!, 'docs/deploy.md');
    expect(() => objects.forEach(validateObject)).not.toThrow();
    expect(unknownFieldProblems(objects)).toEqual([]);
    const gateway = objects[0] as K8sObject & IGateway;
    const prod = rendered.get('k8s/overlays/prod')!;
    const route = prod.find((o) => o.kind === 'HTTPRoute' && o.metadata.name === 'gateway') as K8sObject & IHTTPRoute;
    const parent = route.spec!.parentRefs![0]!;
    expect(parent).toMatchObject({
      kind: 'Gateway',
      name: gateway.metadata.name,
      namespace: gateway.metadata.namespace,
    });
    const listener = gateway.spec.listeners.find((l) => l.name === parent.sectionName);
    expect(listener).toMatchObject({ protocol: 'HTTPS', allowedRoutes: { namespaces: { from: 'Selector' } } });
    expect(route.spec!.hostnames).toContain(listener!.hostname);
    expect(listener!.allowedRoutes!.namespaces!.selector!.matchLabels).toEqual({
      'kubernetes.io/metadata.name': route.metadata.namespace,
    });
    // The policy admits the proxies from the Gateway's namespace (where they run depends on the implementation).
    const policy = prod.find((o) => o.kind === 'NetworkPolicy' && o.metadata.name === 'gateway-from-gateway-api');
    expect(JSON.stringify(policy)).toContain(`"kubernetes.io/metadata.name":"${gateway.metadata.namespace}"`);
  });
});
